"""Audit events as civid wrote them before the log (migration 0021): chained at write time, into the table as it
stood then. Migration tests that seed an older schema write their events with this, not ``civid.audit.record``,
whose model now has the log's columns."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from civid.actor import Actor
from models import utcnow

GENESIS = "0" * 64
events = sa.table(
    "audit_events",
    *(sa.column(name) for name in ("id", "actor_id", "actor_name", "actor_role", "action", "subject_type")),
    *(sa.column(name) for name in ("subject_id", "person", "client_id", "prev_hash", "hash")),
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("detail", sa.JSON),
)


def record_before_log(
    db: Session, actor: Actor, action: str, subject_type: str, subject_id: str, **detail: Any
) -> None:
    """civid.audit.record before 0021: the next link of the chain, hashed as civid.audit.event_hash does."""
    previous = db.scalar(sa.select(events.c.hash).order_by(events.c.id.desc()).limit(1)) or GENESIS
    person = str(subject_id) if subject_type == "identity" else detail.get("uin")
    client_id = str(subject_id) if subject_type == "client" else detail.get("client_id")
    row = {
        "occurred_at": utcnow(),
        "actor_id": actor.id,
        "actor_name": actor.name,
        "actor_role": actor.role,
        "action": action,
        "subject_type": subject_type,
        "subject_id": str(subject_id),
        "person": str(person)[:16] if person else None,
        "client_id": str(client_id)[:64] if client_id else None,
        "detail": json.loads(json.dumps(detail, default=str)),
    }
    content = {
        "occurred_at": row["occurred_at"].isoformat(),
        "actor": [row["actor_id"], row["actor_name"], row["actor_role"]],
        "action": action,
        "subject": [subject_type, row["subject_id"]],
        "detail": row["detail"],
    }
    for name in ("person", "client_id"):
        if row[name] is not None:
            content[name] = row[name]
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    db.execute(
        events.insert().values(
            **row, prev_hash=previous, hash=hashlib.sha256((previous + canonical).encode()).hexdigest()
        )
    )
