"""Migration 0023 (dedup_cases.own_identity_id) on SQLite and PostgreSQL: cases decided before it learn the
applicant's own identity — the one an issued applicant holds, or the one a decision withdrew (named by the case's
``identity.withdrawn`` event) — so a later change back to "not duplicate" restores it; the schema is then the
models' exactly, and the downgrade removes the column."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from models import Base
from models.db import downgrade, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture
from tests.models.test_case_decisions_migration import api_keys, cases, enrolments, identities

WHEN = sa.DateTime(timezone=True)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
audit_events = sa.table(
    "audit_events",
    sa.column("occurred_at", WHEN),
    sa.column("actor_name"),
    sa.column("actor_role"),
    sa.column("action"),
    sa.column("subject_type"),
    sa.column("subject_id"),
    sa.column("detail", sa.JSON),
    sa.column("prev_hash"),
    sa.column("hash"),
)
keyed_cases = sa.table(
    cases.name, *[sa.column(c.name, c.type) for c in cases.columns], sa.column("key"), sa.column("kind")
)


def _at_0020(engine: Engine) -> None:
    """Three decided cases: 10's applicant issued (not duplicate in force), 20's UIN withdrawn by its case, 30 an
    applicant decided duplicate at once (it never held a UIN of its own)."""
    upgrade(engine, "0020")
    person = {
        "given_name": "Barry",
        "family_name": "Soetoro",
        "date_of_birth": date(1961, 8, 4),
        "sex": "M",
        "place_of_birth": "Honolulu",
        "nationality": "USA",
        "address": {"line1": "1 Main Street"},
        "quality": [],
        "rejection_reasons": [],
        "created_at": T0,
    }
    with engine.begin() as connection:
        connection.execute(
            api_keys.insert().values(id=1, name="officer", role="officer", key_hash="x" * 64, prefix="p", created_at=T0)
        )
        connection.execute(
            identities.insert(),
            [
                {"id": 1, "uin": "100000001", "status": "active", "created_at": T0},  # the candidate everyone matched
                {"id": 2, "uin": "100000002", "status": "active", "created_at": T0},  # case 10's, issued
                {"id": 3, "uin": "100000003", "status": "merged", "created_at": T0},  # case 20's, withdrawn
            ],
        )
        connection.execute(
            enrolments.insert(),
            [
                {**person, "id": 1, "public_id": "e1", "status": "issued", "officer_id": 1, "identity_id": 1},
                {**person, "id": 10, "public_id": "e10", "status": "issued", "officer_id": 1, "identity_id": 2},
                {**person, "id": 20, "public_id": "e20", "status": "duplicate", "officer_id": 1, "identity_id": 1},
                {**person, "id": 30, "public_id": "e30", "status": "duplicate", "officer_id": 1, "identity_id": 1},
            ],
        )
        decided = {"status": "decided", "comment": "checked", "created_at": T0, "kind": "enrolment"}
        connection.execute(
            keyed_cases.insert(),
            [
                {
                    **decided,
                    "id": 1,
                    "public_id": "c10",
                    "key": "enrolment:10",
                    "enrolment_id": 10,
                    "decision": "not_duplicate",
                },
                {
                    **decided,
                    "id": 2,
                    "public_id": "c20",
                    "key": "pair:1:20",
                    "kind": "register_pair",
                    "enrolment_id": 20,
                    "decision": "duplicate",
                    "duplicate_of_id": 1,
                },
                {
                    **decided,
                    "id": 3,
                    "public_id": "c30",
                    "key": "enrolment:30",
                    "enrolment_id": 30,
                    "decision": "duplicate",
                    "duplicate_of_id": 1,
                },
            ],
        )
        connection.execute(
            audit_events.insert().values(
                occurred_at=T0,
                actor_name="adjudicator",
                actor_role="adjudicator",
                action="identity.withdrawn",
                subject_type="identity",
                subject_id="100000003",
                detail={"case": "c20", "enrolment": "e20"},
                prev_hash="0" * 64,
                hash="1" * 64,
            )
        )


def test_0023_remembers_each_applicants_own_identity_and_downgrades(engine):  # type: ignore[no-untyped-def]
    _at_0020(engine)
    upgrade(engine)
    with engine.connect() as connection:
        own = dict(connection.execute(sa.text("SELECT public_id, own_identity_id FROM dedup_cases")).all())
        assert own == {"c10": 2, "c20": 3, "c30": None}
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    downgrade(engine, "0020")
    assert "own_identity_id" not in {c["name"] for c in inspect(engine).get_columns("dedup_cases")}
