"""The audit log's Merkle tree as the database stores it: the hash of every complete subtree (``AuditTreeNode``).

Appending n leaves adds fewer than 2n nodes in all; a root, an inclusion or a consistency proof for any tree size
is assembled from O(log n) of them (civid/merkle.py says why those suffice).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from civid import merkle
from models import AuditTreeNode


def tree_size(session: Session) -> int:
    """How many leaves the log holds (the sequencer's lock makes this stable for the one who holds it)."""
    last = session.scalar(select(func.max(AuditTreeNode.position)).where(AuditTreeNode.level == 0))
    return 0 if last is None else last + 1


def append_leaves(session: Session, size: int, leaves: list[bytes]) -> None:
    """Add ``leaves`` after the first ``size`` and every complete subtree they close (caller holds the lock)."""
    new_size = size + len(leaves)
    level_nodes = {size + i: leaf for i, leaf in enumerate(leaves)}
    rows = [AuditTreeNode(level=0, position=p, hash=h) for p, h in level_nodes.items()]
    level = 0
    while (new_size >> (level + 1)) > (size >> (level + 1)):
        # The nodes of level+1 completed by this append: positions from size>>(level+1) up to new_size>>(level+1).
        first, last = size >> (level + 1), new_size >> (level + 1)
        children = {**_stored(session, level, 2 * first, 2 * last), **level_nodes}
        level_nodes = {p: merkle.node_hash(children[2 * p], children[2 * p + 1]) for p in range(first, last)}
        level += 1
        rows += [AuditTreeNode(level=level, position=p, hash=h) for p, h in level_nodes.items()]
    session.add_all(rows)
    session.flush()


def _stored(session: Session, level: int, start: int, end: int) -> dict[int, bytes]:
    query = select(AuditTreeNode.position, AuditTreeNode.hash).where(
        AuditTreeNode.level == level, AuditTreeNode.position >= start, AuditTreeNode.position < end
    )
    return {position: bytes(value) for position, value in session.execute(query)}


def leaf_hashes(session: Session, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """(leaf index, leaf hash) from ``start`` in order, streamed."""
    query = (
        select(AuditTreeNode.position, AuditTreeNode.hash)
        .where(AuditTreeNode.level == 0, AuditTreeNode.position >= start)
        .order_by(AuditTreeNode.position)
        .execution_options(yield_per=2000)
    )
    for position, value in session.execute(query):
        yield position, bytes(value)


class StoredTree:
    """Roots and proofs over the stored nodes, for any tree size up to the log's."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._cache: dict[tuple[int, int], bytes] = {}

    def node(self, level: int, position: int) -> bytes:
        key = (level, position)
        if key not in self._cache:
            value = self.session.scalar(
                select(AuditTreeNode.hash).where(tuple_(AuditTreeNode.level, AuditTreeNode.position) == key)
            )
            if value is None:
                raise LookupError(f"the audit tree has no node {key}: the log is shorter than asked")
            self._cache[key] = bytes(value)
        return self._cache[key]

    def subtree(self, start: int, end: int) -> bytes:
        """The hash of leaves [start, end): one stored node when complete and aligned, else split as RFC 9162 does."""
        size = end - start
        if size & (size - 1) == 0 and start % size == 0:
            return self.node(size.bit_length() - 1, start // size)
        k = merkle.split_point(size)
        return merkle.node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self, size: int) -> bytes:
        return merkle.empty_root() if size == 0 else self.subtree(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return merkle.inclusion_proof(index, size, self.subtree)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return merkle.consistency_proof(old_size, new_size, self.subtree)
