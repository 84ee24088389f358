"""Migration 0011 (enrolments.request_digest) on SQLite and PostgreSQL: an enrolment stored before it keeps
its Idempotency-Key, which replays its result as before (no digest to compare), the schema matches the
models, and the downgrade undoes it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from civid.audit import Actor
from civid.errors import IdempotencyKeyReused
from enrollment.idempotency import Replay
from models import Base
from models.db import downgrade, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
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
enrolments = sa.table(
    "enrolments",
    sa.column("id"),
    sa.column("public_id"),
    sa.column("status"),
    sa.column("officer_id"),
    sa.column("idempotency_key"),
    sa.column("given_name"),
    sa.column("family_name"),
    sa.column("date_of_birth", sa.Date),
    sa.column("sex"),
    sa.column("place_of_birth"),
    sa.column("nationality"),
    sa.column("address", sa.JSON),
    sa.column("quality", sa.JSON),
    sa.column("rejection_reasons", sa.JSON),
    sa.column("created_at", WHEN),
)


def test_enrolments_from_before_the_digest_keep_replaying_under_their_key(engine):
    upgrade(engine, "0010")
    with engine.begin() as db:
        db.execute(
            api_keys.insert().values(
                id=1, name="Officer Obama", role="officer", key_hash="a" * 64, prefix="p", created_at=T0
            )
        )
        db.execute(
            enrolments.insert().values(
                id=1,
                public_id="e-1",
                status="rejected",
                officer_id=1,
                idempotency_key="desk3-000123",
                given_name="Barry",
                family_name="Soetoro",
                date_of_birth=date(1961, 8, 4),
                sex="M",
                place_of_birth="Honolulu",
                nationality="USA",
                address={"line1": "1 Main St"},
                quality=[],
                rejection_reasons=[],
                created_at=T0,
            )
        )

    upgrade(engine)

    officer = Actor(1, "Officer Obama", "officer")
    with Session(engine) as db:
        replayed = Replay("desk3-000123", "0" * 64).previous(db, officer)
        assert replayed is not None and replayed.public_id == "e-1" and replayed.request_digest is None
        # Once a digest is stored, the key stands for that request only.
        replayed.request_digest = "1" * 64
        db.flush()
        with pytest.raises(IdempotencyKeyReused):
            Replay("desk3-000123", "0" * 64).previous(db, officer)
        db.rollback()
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []

    downgrade(engine, "0010")
    assert "request_digest" not in {c["name"] for c in inspect(engine).get_columns("enrolments")}
