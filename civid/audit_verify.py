"""Check the audit log in the database against checkpoints an auditor holds elsewhere.

Whoever controls the database can edit an event and recompute every hash the database holds — the chain, the leaf
hashes, the tree's nodes — and even sign a new checkpoint with a key of their own. They cannot make the result
agree with a checkpoint signed earlier by the audit key: the root of the first ``size`` leaves would have to stay
the same. So the check recomputes every leaf from its event (a pruned event's leaf from its stored hash only),
and compares the roots at each held checkpoint's size. With the witness's leaf mirror (civid/audit_checkpoint.py),
authenticated by those same checkpoints, the first rewritten, reordered or missing leaf is named exactly; with the
checkpoints alone, the range it lies in.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit, audit_tree, merkle
from civid.errors import InvalidInput
from civid.signed_note import Checkpoint, Verifier, parse_checkpoint, parse_note, split_notes
from models import AuditEvent


@dataclass(frozen=True)
class Finding:
    """What is wrong, from which leaf: ``first_leaf`` is exact when it equals ``last_leaf``."""

    problem: str  # altered | missing | reordered-or-rewritten | truncated | nodes
    first_leaf: int
    last_leaf: int
    event_id: int | None  # the event the database holds at first_leaf, when it holds one


@dataclass(frozen=True)
class LogCheck:
    leaves: int  # leaves in the database's log
    pruned: int  # leaves whose event was pruned: checked by their hash only
    checkpoint_size: int | None  # the largest checkpoint checked against
    finding: Finding | None

    @property
    def intact(self) -> bool:
        return self.finding is None


def read_checkpoints(raw: str, verifiers: list[Verifier], origin: str) -> list[Checkpoint]:
    """The checkpoints of a file (one note or a witness's many), each signed by one of ``verifiers``, smallest first."""
    notes = split_notes(raw)
    if not notes:
        raise InvalidInput("the checkpoint file holds no signed note")
    found = []
    for text in notes:
        note = parse_note(text)
        if note.signed_by(verifiers) is None:
            raise InvalidInput("a checkpoint in the file is not signed by the audit key given")
        checkpoint = parse_checkpoint(note.text)
        if checkpoint.origin != origin:
            raise InvalidInput(f"a checkpoint in the file is of log {checkpoint.origin!r}, not {origin!r}")
        found.append(checkpoint)
    return sorted(found, key=lambda c: c.size)


def check_log(session: Session, checkpoints: list[Checkpoint], mirror: bytes | None = None) -> LogCheck:
    """Recompute the log from the database's events and compare it with ``checkpoints`` (and the leaf mirror)."""
    stored = [value for _, value in audit_tree.leaf_hashes(session)]
    leaves, pruned, findings = _recomputed_leaves(session, stored)
    if merkle.root_of_stream(stored) != audit_tree.StoredTree(session).root(len(stored)):
        findings.append(Finding("nodes", 0, len(stored) - 1, None))
    findings += _against_checkpoints(leaves, checkpoints, _authenticated(mirror, checkpoints))
    first = min(findings, key=lambda f: (f.first_leaf, f.last_leaf), default=None)
    if first is not None and first.event_id is None and first.first_leaf == first.last_leaf < len(leaves):
        first = Finding(first.problem, first.first_leaf, first.last_leaf, _event_at(session, first.first_leaf))
    return LogCheck(len(stored), pruned, checkpoints[-1].size if checkpoints else None, first)


def _recomputed_leaves(session: Session, stored: list[bytes]) -> tuple[list[bytes], int, list[Finding]]:
    """Each leaf as the database's events say it is; the stored hash where the event was pruned."""
    leaves = list(stored)
    findings: list[Finding] = []
    kept_from: int | None = None
    present = set()
    query = select(AuditEvent).where(AuditEvent.leaf_index.is_not(None)).order_by(AuditEvent.leaf_index)
    for event in session.scalars(query.execution_options(yield_per=1000)):
        index = event.leaf_index
        assert index is not None
        if index >= len(stored):
            findings.append(Finding("nodes", len(stored), index, event.id))  # an event placed beyond the tree
            continue
        kept_from = index if kept_from is None else kept_from
        present.add(index)
        leaves[index] = merkle.leaf_hash(audit.leaf_data(event))
        if leaves[index] != stored[index]:
            findings.append(Finding("altered", index, index, event.id))
        session.expunge(event)
    missing = next((i for i in range(kept_from or 0, len(stored)) if i not in present), None)
    if missing is not None and kept_from is not None:
        findings.append(Finding("missing", missing, missing, None))
    pruned = kept_from if kept_from is not None else len(stored)
    return leaves, pruned, findings


def _authenticated(mirror: bytes | None, checkpoints: list[Checkpoint]) -> list[bytes]:
    """The mirror's leaves up to the largest checkpoint whose root they reproduce (unproven leaves are no evidence)."""
    if not mirror:
        return []
    leaves = [mirror[i : i + 32] for i in range(0, len(mirror) - len(mirror) % 32, 32)]
    roots = merkle.roots_at(leaves, (c.size for c in checkpoints))
    proven = [c.size for c in checkpoints if roots.get(c.size) == c.root]
    return leaves[: max(proven, default=0)]


def _against_checkpoints(leaves: list[bytes], checkpoints: list[Checkpoint], mirror: list[bytes]) -> list[Finding]:
    findings = []
    exact = next((i for i, (held, ours) in enumerate(zip(mirror, leaves, strict=False)) if held != ours), None)
    if exact is not None:  # the mirror names the leaf; the roots could only name a range holding it
        findings.append(Finding("reordered-or-rewritten", exact, exact, None))
    roots = merkle.roots_at(leaves, (c.size for c in checkpoints))
    good = 0
    for checkpoint in checkpoints:
        if checkpoint.size > len(leaves):
            findings.append(Finding("truncated", len(leaves), checkpoint.size - 1, None))
            break
        if roots[checkpoint.size] != checkpoint.root and exact is None:
            findings.append(Finding("reordered-or-rewritten", good, checkpoint.size - 1, None))
            break
        good = checkpoint.size
    return findings


def _event_at(session: Session, leaf: int) -> int | None:
    return session.scalar(select(AuditEvent.id).where(AuditEvent.leaf_index == leaf))
