"""Merkle tree hashing, inclusion and consistency proofs as RFC 9162 (Certificate Transparency 2.0) defines them.

Pure computation over byte strings: where the tree's hashes live is the caller's business, given here as
``subtree(start, end)``, the hash of leaves ``[start, end)``. The recursion only ever asks for ranges that are
either a complete, aligned subtree (size a power of two, start a multiple of it) or the right edge of the tree,
so a store of complete subtrees answers every request in O(log n) lookups.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
Subtree = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 §2.1.1: SHA-256(0x00 || leaf data); the prefix keeps a leaf from passing for a node."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def empty_root() -> bytes:
    """The hash of the empty tree: SHA-256 of the empty string."""
    return hashlib.sha256(b"").digest()


def split_point(size: int) -> int:
    """The largest power of two smaller than ``size`` (size ≥ 2): where RFC 9162 splits a tree."""
    return 1 << ((size - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of a list of leaf hashes, computed directly (tests and small trees)."""
    if not leaves:
        return empty_root()
    if len(leaves) == 1:
        return leaves[0]
    k = split_point(len(leaves))
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


def list_subtree(leaves: Sequence[bytes]) -> Subtree:
    """``subtree`` over an in-memory list of leaf hashes."""
    return lambda start, end: root_of(leaves[start:end])


class CompactRange:
    """The roots of the complete subtrees covering leaves [0, size): appending is O(1) amortised, and the root
    at any size passed is known without keeping the leaves (how a verifier walks a log once)."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[bytes] = []  # one hash per set bit of size, largest subtree first

    def append(self, leaf: bytes) -> None:
        self._stack.append(leaf)
        self.size += 1
        merges = (self.size & -self.size).bit_length() - 1  # trailing zeros: complete subtrees that now pair up
        for _ in range(merges):
            right = self._stack.pop()
            self._stack.append(node_hash(self._stack.pop(), right))

    def root(self) -> bytes:
        if not self._stack:
            return empty_root()
        result = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            result = node_hash(left, result)
        return result


def root_of_stream(leaves: Iterable[bytes]) -> bytes:
    """MTH of the leaf hashes in ``leaves``, in one pass and O(log n) memory."""
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    return compact.root()


def roots_at(leaves: Iterable[bytes], sizes: Iterable[int]) -> dict[int, bytes]:
    """The tree's root at each of ``sizes``, in one pass over the leaf hashes."""
    wanted = set(sizes)
    found: dict[int, bytes] = {}
    compact = CompactRange()
    if 0 in wanted:
        found[0] = empty_root()
    for leaf in leaves:
        compact.append(leaf)
        if compact.size in wanted:
            found[compact.size] = compact.root()
    return found


def inclusion_proof(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]): the sibling hashes from leaf ``index`` up to the root of ``size`` leaves."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    return _path(index, 0, size, subtree)


def _path(index: int, start: int, end: int, subtree: Subtree) -> list[bytes]:
    size = end - start
    if size == 1:
        return []
    k = split_point(size)
    if index - start < k:
        return _path(index, start, start + k, subtree) + [subtree(start + k, end)]
    return _path(index, start + k, end, subtree) + [subtree(start, start + k)]


def consistency_proof(old_size: int, new_size: int, subtree: Subtree) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(m, D[n]): what proves the tree of ``old_size`` is a prefix of the one of ``new_size``."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from {old_size} to {new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    return _subproof(old_size, 0, new_size, True, subtree)


def _subproof(m: int, start: int, end: int, whole: bool, subtree: Subtree) -> list[bytes]:
    size = end - start
    if m == size:
        return [] if whole else [subtree(start, end)]
    k = split_point(size)
    if m <= k:
        return _subproof(m, start, start + k, whole, subtree) + [subtree(start + k, end)]
    return _subproof(m - k, start + k, end, False, subtree) + [subtree(start, start + k)]


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2: the root that ``proof`` implies for ``leaf`` at ``index``, or None if it cannot fit."""
    if not 0 <= index < size:
        return None
    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    return result if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether ``proof`` shows ``leaf`` at ``index`` in the tree of ``size`` leaves whose root is ``root``."""
    return root_from_inclusion(index, size, leaf, proof) == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: whether ``proof`` shows the tree (old_size, old_root) is a prefix of (new_size, new_root)."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof  # the empty tree is a prefix of every tree
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first_root = second_root = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first_root = node_hash(node, first_root)
            second_root = node_hash(node, second_root)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            second_root = node_hash(second_root, node)
        fn >>= 1
        sn >>= 1
    return sn == 0 and first_root == old_root and second_root == new_root
