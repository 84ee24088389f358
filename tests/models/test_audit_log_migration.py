"""Migration 0021 on SQLite and PostgreSQL: the events of the old hash chain become the log's first leaves in id
order, their chain hashes kept and still verifying, the tree's nodes stored; a checkpoint and proofs then work,
new events continue both the chain and the tree; downgrade takes the tree away and leaves a chain the older code
verifies by id."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Engine, inspect, select

from civid import audit, audit_tree, merkle
from civid.audit import GENESIS, SYSTEM
from civid.audit_sequencer import sequence
from civid.audit_verify import check_log
from models import AuditEvent
from models.db import downgrade, make_session_factory, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture

WHEN = sa.DateTime(timezone=True)
events_0020 = sa.table(
    "audit_events",
    *(sa.column(name) for name in ("id", "actor_id", "actor_name", "actor_role", "action", "subject_type")),
    *(sa.column(name) for name in ("subject_id", "person", "client_id", "prev_hash", "hash")),
    sa.column("occurred_at", WHEN),
    sa.column("detail", sa.JSON),
)


def old_chain_hash(previous: str, row: dict) -> str:
    """civid.audit.event_hash as it was before the log (the chain the events were written with)."""
    content = {
        "occurred_at": row["occurred_at"].isoformat(),
        "actor": [row["actor_id"], row["actor_name"], row["actor_role"]],
        "action": row["action"],
        "subject": [row["subject_type"], row["subject_id"]],
        "detail": row["detail"],
    }
    for name in ("person", "client_id"):
        if row[name] is not None:
            content[name] = row[name]
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((previous + canonical).encode()).hexdigest()


def write_old_chain(engine: Engine, count: int) -> list[dict]:
    """``count`` chained events as the code before 0021 wrote them."""
    start = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    rows, previous = [], GENESIS
    for i in range(count):
        row = {
            "occurred_at": start + timedelta(minutes=i, microseconds=17 * i),
            "actor_id": i % 3 or None,
            "actor_name": f"officer {i % 3}",
            "actor_role": "officer",
            "action": "enrolment.issued" if i % 2 else "identity.verified",
            "subject_type": "identity",
            "subject_id": str(1000 + i),
            "person": f"{4000000000 + i}" if i % 2 else None,
            "client_id": "belize-bank" if i % 4 == 1 else None,
            "detail": {"photos": i, "reason": "ñandú"},
        }
        row["prev_hash"], row["hash"] = previous, old_chain_hash(previous, row)
        previous = row["hash"]
        rows.append(row)
    with engine.begin() as connection:  # one at a time, so ids follow the chain's order on every database
        for row in rows:
            connection.execute(events_0020.insert(), row)
    return rows


def test_upgrade_puts_the_old_chain_into_the_tree_and_downgrade_takes_it_out(engine: Engine):
    upgrade(engine, "0020")
    rows = write_old_chain(engine, 13)
    upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions() as session:
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        assert [e.leaf_index for e in events] == list(range(13))
        assert [(e.prev_hash, e.hash) for e in events] == [(r["prev_hash"], r["hash"]) for r in rows]  # kept as-is
        assert audit.verify_chain(session) == (13, None)
        assert audit_tree.tree_size(session) == 13
        expected = merkle.root_of([merkle.leaf_hash(audit.leaf_data(e)) for e in events])
        assert audit_tree.StoredTree(session).root(13) == expected  # the frozen leaf format is the code's
        assert check_log(session, []).finding is None
    with sessions.begin() as session:  # the log goes on from there
        audit.record(session, SYSTEM, "test.after_upgrade", "test", "1")
    sequence(sessions)
    with sessions() as session:
        assert audit.verify_chain(session) == (14, None)
        assert check_log(session, []).finding is None
        tree = audit_tree.StoredTree(session)
        path = tree.inclusion_proof(3, 14)
        assert merkle.verify_inclusion(3, 14, merkle.leaf_hash(audit.leaf_data(events[3])), path, tree.root(14))
    engine.dispose()
    downgrade(engine, "0020")
    tables = inspect(engine).get_table_names()
    assert "audit_tree_nodes" not in tables and "audit_checkpoints" not in tables
    assert "leaf_index" not in {c["name"] for c in inspect(engine).get_columns("audit_events")}
    with engine.connect() as connection:
        chain = [dict(r._mapping) for r in connection.execute(sa.select(events_0020).order_by(events_0020.c.id))]
    previous = GENESIS
    for row in chain:  # the older code's walk: by id
        row["occurred_at"] = (
            row["occurred_at"].replace(tzinfo=UTC)
            if row["occurred_at"].tzinfo is None
            else row["occurred_at"].astimezone(UTC)
        )
        assert row["prev_hash"] == previous and row["hash"] == old_chain_hash(previous, row)
        previous = row["hash"]
    assert len(chain) == 14
