"""The audit trail: events, the Merkle tree over them (a transparency log), and the checkpoints it signed.

An event is written by the request it records, without a leaf index; the sequencer (civid/audit_sequencer.py)
later gives committed events their place in the log — ``leaf_index``, the tree's new nodes, and the old hash
chain's ``prev_hash``/``hash`` — in one short critical section.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    # Whom the event is about and which relying party took part, for auditors' queries by person and by
    # client; derived from the event when it is written, covered by its hash.
    person: Mapped[str | None] = mapped_column(String(16), index=True)
    client_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # Never biometric data or full document numbers: identifiers, outcomes, scores, reasons.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Set by the sequencer (None until then): the event's place in the log and its link in the hash chain.
    leaf_index: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)


class AuditTreeNode(Base):
    """The hash of one complete subtree: ``2**level`` leaves from ``position * 2**level`` (level 0: the leaf hashes).

    Every proof is assembled from these in O(log n) lookups. Rows are only ever added; pruning an event's body
    (civid/audit_retention.py) leaves its leaf hash here, so the tree and its proofs stay whole."""

    __tablename__ = "audit_tree_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditCheckpoint(Base):
    """A signed checkpoint the log published (C2SP tlog-checkpoint in a signed note), one per tree size."""

    __tablename__ = "audit_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
