"""Migration 0008 (case_decisions) on SQLite and PostgreSQL: cases decided before it get their history
back — the whole of it from the audit chain where the chain tells it, else the decision on the case row."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from enrollment.decision_history import decisions_of
from models import CaseDecision, DedupCase
from models.db import downgrade, upgrade
from tests.conftest import seeded_fixtures
from tests.enrollment.test_adjudication import change, decide, open_a_case
from tests.models.audit_before_log import record_before_log
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture

seed, settings, keys, opened = seeded_fixtures(open_a_case, "opened")

# The tables as they stand at revision 0007, only the columns the rows below need.
WHEN = sa.DateTime(timezone=True)
api_keys = sa.table(
    "api_keys",
    sa.column("id"),
    sa.column("name"),
    sa.column("role"),
    sa.column("key_hash"),
    sa.column("prefix"),
    sa.column("created_at", WHEN),
)
identities = sa.table(
    "identities", sa.column("id"), sa.column("uin"), sa.column("status"), sa.column("created_at", WHEN)
)
enrolments = sa.table(
    "enrolments",
    sa.column("id"),
    sa.column("public_id"),
    sa.column("status"),
    sa.column("officer_id"),
    sa.column("given_name"),
    sa.column("family_name"),
    sa.column("date_of_birth", sa.Date),
    sa.column("sex"),
    sa.column("place_of_birth"),
    sa.column("nationality"),
    sa.column("address", sa.JSON),
    sa.column("quality", sa.JSON),
    sa.column("rejection_reasons", sa.JSON),
    sa.column("identity_id"),
    sa.column("created_at", WHEN),
)
cases = sa.table(
    "dedup_cases",
    sa.column("id"),
    sa.column("public_id"),
    sa.column("enrolment_id"),
    sa.column("status"),
    sa.column("decision"),
    sa.column("duplicate_of_id"),
    sa.column("comment"),
    sa.column("decided_by_id"),
    sa.column("created_at", WHEN),
    sa.column("decided_at", WHEN),
)

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
FIRST_AT = T0 + timedelta(hours=1, microseconds=123456)
CHANGED_AT, OTHER_AT = T0 + timedelta(days=2), T0 + timedelta(hours=3)


def _cases_decided_at_0007(engine: Engine) -> None:
    """A schema at 0007 holding: case-1 decided 'not duplicate' then changed to 'duplicate' (both in the audit
    chain, as civid wrote them), case-2 decided with no decision event left, case-3 still open."""
    upgrade(engine, "0007")
    person = {
        "given_name": "Barry",
        "family_name": "Soetoro",
        "date_of_birth": date(1961, 8, 4),
        "sex": "M",
        "place_of_birth": "Honolulu",
        "nationality": "USA",
        "address": {"line1": "1 Main St"},
        "quality": [],
        "rejection_reasons": [],
        "created_at": T0,
    }
    with engine.begin() as db:
        db.execute(
            api_keys.insert(),
            [
                {
                    "id": 1,
                    "name": "Officer Obama",
                    "role": "officer",
                    "key_hash": "a" * 64,
                    "prefix": "p",
                    "created_at": T0,
                },
                {
                    "id": 2,
                    "name": "Adjudicator Biden",
                    "role": "adjudicator",
                    "key_hash": "b" * 64,
                    "prefix": "p",
                    "created_at": T0,
                },
                {
                    "id": 3,
                    "name": "Adjudicator Harris",
                    "role": "adjudicator",
                    "key_hash": "c" * 64,
                    "prefix": "p",
                    "created_at": T0,
                },
            ],
        )
        db.execute(
            identities.insert(),
            [
                {"id": 1, "uin": "1000000001", "status": "active", "created_at": T0},
                {"id": 2, "uin": "1000000002", "status": "merged", "created_at": FIRST_AT},  # withdrawn by the change
                {"id": 3, "uin": "1000000003", "status": "active", "created_at": OTHER_AT},
            ],
        )
        db.execute(
            enrolments.insert(),
            [
                {**person, "id": 1, "public_id": "e-1", "status": "issued", "officer_id": 1, "identity_id": 1},
                {**person, "id": 2, "public_id": "e-2", "status": "duplicate", "officer_id": 1, "identity_id": 1},
                {**person, "id": 3, "public_id": "e-3", "status": "issued", "officer_id": 1, "identity_id": 3},
                {
                    **person,
                    "id": 4,
                    "public_id": "e-4",
                    "status": "pending_adjudication",
                    "officer_id": 1,
                    "identity_id": None,
                },
            ],
        )
        db.execute(
            cases.insert(),
            [
                {
                    "id": 1,
                    "public_id": "case-1",
                    "enrolment_id": 2,
                    "status": "decided",
                    "decision": "duplicate",
                    "duplicate_of_id": 1,
                    "comment": "Same ears after all.",
                    "decided_by_id": 3,
                    "created_at": T0,
                    "decided_at": CHANGED_AT,
                },
                {
                    "id": 2,
                    "public_id": "case-2",
                    "enrolment_id": 3,
                    "status": "decided",
                    "decision": "not_duplicate",
                    "duplicate_of_id": None,
                    "comment": "Different people.",
                    "decided_by_id": 2,
                    "created_at": T0,
                    "decided_at": OTHER_AT,
                },
                {
                    "id": 3,
                    "public_id": "case-3",
                    "enrolment_id": 4,
                    "status": "open",
                    "decision": None,
                    "duplicate_of_id": None,
                    "comment": None,
                    "decided_by_id": None,
                    "created_at": T0,
                    "decided_at": None,
                },
            ],
        )
    with Session(engine) as db:  # the events exactly as adjudication.decide and decision_change.change wrote them
        record_before_log(
            db,
            Actor(2, "Adjudicator Biden", "adjudicator"),
            "case.decided",
            "case",
            "case-1",
            decision="not_duplicate",
            enrolment="e-2",
            uin="1000000002",
            comment_length=15,
        )
        record_before_log(
            db,
            Actor(3, "Adjudicator Harris", "adjudicator"),
            "case.decision_changed",
            "case",
            "case-1",
            decision="duplicate",
            enrolment="e-2",
            uin="1000000001",
            comment_length=20,
            superseded={
                "decision": "not_duplicate",
                "decided_by": "Adjudicator Biden",
                "decided_at": FIRST_AT.isoformat(),
                "comment": "Different ears.",
                "uin": "1000000002",
            },
        )
        db.commit()


def _history(engine: Engine, case_id: int) -> list[tuple]:
    with Session(engine) as db:
        rows = db.scalars(
            select(CaseDecision).where(CaseDecision.case_id == case_id).order_by(CaseDecision.sequence)
        ).all()
        by_id = {row.id: row.sequence for row in rows}
        return [
            (
                r.sequence,
                r.outcome,
                r.uin,
                r.duplicate_of_id,
                r.comment,
                r.decided_by_id,
                r.decided_by_name,
                r.decided_at,
                by_id.get(r.replaces_id),
            )
            for r in rows
        ]


def test_upgrade_backfills_the_history_of_cases_decided_before_it(engine):
    _cases_decided_at_0007(engine)
    assert "case_decisions" not in inspect(engine).get_table_names()

    upgrade(engine)

    # The whole story from the audit chain: the first decision from what the change kept of it.
    assert _history(engine, 1) == [
        (1, "not_duplicate", "1000000002", None, "Different ears.", 2, "Adjudicator Biden", FIRST_AT, None),
        (2, "duplicate", "1000000001", 1, "Same ears after all.", 3, "Adjudicator Harris", CHANGED_AT, 1),
    ]
    # No decision event to read: the decision on the case row, alone.
    assert _history(engine, 2) == [
        (1, "not_duplicate", "1000000003", None, "Different people.", 2, "Adjudicator Biden", OTHER_AT, None)
    ]
    assert _history(engine, 3) == []
    with Session(engine) as db:
        assert audit.verify_chain(db) == (2, None)  # read, never rewritten
    upgrade(engine)  # at head already: nothing added twice
    with Session(engine) as db:
        assert db.scalar(select(func.count()).select_from(CaseDecision)) == 3


def test_the_backfill_rebuilds_what_decide_and_change_recorded(services, client, keys, opened):
    """Downgrade a database whose history civid wrote live, upgrade again: the same rows come back."""
    first, second = opened
    assert decide(client, keys, second["case_id"], "not_duplicate", "Different ears.").status_code == 200
    assert (
        change(
            client, keys, second["case_id"], "duplicate", "Same ears after all.", duplicate_of=first["uin"]
        ).status_code
        == 200
    )
    with services.sessions() as db:
        case = db.scalars(select(DedupCase).where(DedupCase.public_id == second["case_id"])).one()
        live = _history(services.engine, case.id)
        assert [row.sequence for row in decisions_of(db, case)] == [1, 2]

    downgrade(services.engine, "0007")
    assert "case_decisions" not in inspect(services.engine).get_table_names()
    upgrade(services.engine)

    assert _history(services.engine, case.id) == live
