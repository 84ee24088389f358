"""The audit trail as a transparency log, as one process holds it: key, sequencer, checkpoints, proofs, retention.

The pieces live in their own modules (merkle, signed_note, audit_key, audit_tree, audit_sequencer,
audit_checkpoint, audit_verify, audit_retention); this is what the API, the console and the command line call.
docs/audit-log.md describes the design and what each party keeps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from civid import audit, audit_checkpoint, audit_retention, audit_tree, audit_verify, merkle
from civid.audit_key import AuditKeys
from civid.audit_sequencer import Sequencer
from civid.errors import InvalidInput, NotFound
from civid.pkcs11_token import Token
from civid.settings import Settings
from civid.signed_note import Checkpoint, parse_checkpoint, parse_note
from models import AuditCheckpoint, AuditEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InclusionProof:
    """RFC 9162 §2.1.3: event ``event_id`` is leaf ``leaf_index`` of the tree of ``tree_size`` with root ``root``."""

    event_id: int
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    path: list[bytes]
    root: bytes
    checkpoint: str | None  # the signed note of that tree size, when the log signed one

    def holds(self) -> bool:
        return merkle.verify_inclusion(self.leaf_index, self.tree_size, self.leaf_hash, self.path, self.root)


@dataclass(frozen=True)
class ConsistencyProof:
    """RFC 9162 §2.1.4: the tree of ``old_size`` leaves is a prefix of the tree of ``new_size``."""

    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    path: list[bytes]


class AuditLog:
    """One process's view of the log: ``checkpoint()``, ``inclusion()``, ``consistency()``, ``prune()``."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], token: Token | None = None) -> None:
        self.settings = settings
        self.sessions = sessions
        self.keys = AuditKeys.load_or_create(
            settings.resolved_audit_key_file, settings.resolved_audit_log_origin, token
        )
        self.witness_file: Path = settings.resolved_audit_checkpoint_file
        self.sequencer = Sequencer(
            sessions,
            settings.audit_sequence_interval_s,
            settings.audit_checkpoint_interval_s,
            self.publish,
            self.prune if settings.audit_retention_days else None,
        )
        self.sequencer.install()

    def publish(self) -> AuditCheckpoint:
        """Sign a checkpoint if the log grew since the last one (the sequencer's clock calls this)."""
        return audit_checkpoint.publish(self.sessions, self.keys, self.witness_file)

    def checkpoint(self) -> AuditCheckpoint:
        """Sequence what is committed, sign a checkpoint of it if it is new, and return the newest one."""
        newest = self.sequencer.checkpoint()
        assert isinstance(newest, AuditCheckpoint)
        return newest

    def inclusion(self, event_id: int, tree_size: int | None = None) -> InclusionProof:
        """The proof that an event is in the log: against ``tree_size``, or the newest checkpoint when None."""
        newest = None
        if tree_size is None:
            newest = self.checkpoint()
        else:
            self.sequencer.now()  # an event just written gets its leaf first
        with self.sessions() as session:
            event = session.get(AuditEvent, event_id)
            if event is None or event.leaf_index is None:
                raise NotFound(f"no audit event {event_id} in the log (never written, or pruned by retention)")
            size = tree_size if tree_size is not None else newest.tree_size if newest else 0
            self._check_size(session, size, "tree_size")
            if event.leaf_index >= size:
                raise InvalidInput(f"event {event_id} is leaf {event.leaf_index}, not in a tree of {size} leaves")
            tree = audit_tree.StoredTree(session)
            signed = session.get(AuditCheckpoint, size)
            return InclusionProof(
                event_id,
                event.leaf_index,
                size,
                merkle.leaf_hash(audit.leaf_data(event)),
                tree.inclusion_proof(event.leaf_index, size),
                tree.root(size),
                signed.note if signed else None,
            )

    def consistency(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        """The proof that the log of ``old_size`` leaves is a prefix of the one of ``new_size`` (default: newest)."""
        newest = self.checkpoint() if new_size is None else None
        with self.sessions() as session:
            size = new_size if new_size is not None else newest.tree_size if newest else 0
            self._check_size(session, size, "to")
            if not 0 <= old_size <= size:
                raise InvalidInput(f"from must be between 0 and to ({size}), not {old_size}")
            tree = audit_tree.StoredTree(session)
            return ConsistencyProof(
                old_size, size, tree.root(old_size), tree.root(size), tree.consistency_proof(old_size, size)
            )

    def _check_size(self, session: Session, size: int, name: str) -> None:
        held = audit_tree.tree_size(session)
        if not 0 <= size <= held:
            raise InvalidInput(f"{name} must be between 0 and the log's size ({held}), not {size}")

    def check_note(self, note: str) -> Checkpoint:
        """The checkpoint in ``note`` when one of the audit keys signed it for this log, else InvalidInput."""
        parsed = parse_note(note)
        if parsed.signed_by(self.keys.verifiers) is None:
            raise InvalidInput("the checkpoint is not signed by this log's audit key")
        checkpoint = parse_checkpoint(parsed.text)
        if checkpoint.origin != self.keys.name:
            raise InvalidInput(f"the checkpoint is of log {checkpoint.origin!r}, not {self.keys.name!r}")
        return checkpoint

    def check(self, checkpoints: list[Checkpoint], mirror: bytes | None = None) -> audit_verify.LogCheck:
        """Sequence, then compare the database's log with checkpoints held elsewhere (civid/audit_verify.py)."""
        self.sequencer.now()
        with self.sessions() as session:
            return audit_verify.check_log(session, checkpoints, mirror)

    def latest_checkpoint(self) -> AuditCheckpoint | None:
        with self.sessions() as session:
            return audit_checkpoint.latest(session)

    def prune(self) -> int:
        """Delete event bodies older than the retention period (their leaf hashes stay); return how many."""
        days = self.settings.audit_retention_days
        if not days:
            return 0
        self.sequencer.now()
        with self.sessions.begin() as session:
            removed = audit_retention.prune(session, days)
        if removed:
            log.info("pruned %d audit event bodies older than %d days", removed, days)
        return removed

    def stop(self) -> None:
        self.sequencer.stop()
