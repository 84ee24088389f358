"""Retention of the audit trail: event bodies (who, whom, what) are deleted once older than the retention period.

Personal data is kept no longer than necessary, but the log is not shortened: each pruned event's leaf hash stays
in the tree, so checkpoints, consistency proofs and ``civid audit verify --checkpoint`` still cover it (by hash
only: its content can no longer be shown nor re-checked). Only a prefix of the log is pruned, oldest leaves
first, and never the newest leaf (the chain's next link starts from its hash): a missing event after a kept one
is then always tampering, never retention.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from civid import audit
from models import AuditEvent, utcnow
from models.db import affected_rows


def prune(session: Session, retention_days: int, now: datetime | None = None) -> int:
    """Delete the sequenced events older than ``retention_days`` that precede every younger one; return how many.

    The caller sequences first (an unsequenced event is never pruned) and commits; the pruning is itself audited."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    newest = session.scalar(select(func.max(AuditEvent.leaf_index)))
    if newest is None:
        return 0
    # The first leaf that must stay: the oldest young event, or an unsequenced one, or the newest leaf.
    young = session.scalar(
        select(func.min(AuditEvent.leaf_index)).where(
            AuditEvent.leaf_index.is_not(None), AuditEvent.occurred_at >= audit.as_utc(cutoff)
        )
    )
    keep_from = min(newest, young if young is not None else newest)
    removed = affected_rows(
        session,
        delete(AuditEvent).where(AuditEvent.leaf_index < keep_from, AuditEvent.occurred_at < audit.as_utc(cutoff)),
    )
    if removed:
        audit.record(
            session,
            audit.SYSTEM,
            "audit.pruned",
            "audit",
            "retention",
            events=removed,
            before_leaf=keep_from,
            retention_days=retention_days,
        )
    return removed
