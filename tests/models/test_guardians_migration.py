"""Migration 0039 (guardianships; enrolments' guardian and deferred fingers) on SQLite and PostgreSQL: an
enrolment stored before it reads as an adult's (no guardian, fingers not deferred), the schema is then the models'
exactly, a guardian is linked to a child once (a second link of the pair is refused), and the downgrade removes
it all, the enrolment untouched."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from models import Base
from models.db import downgrade, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture
from tests.models.test_request_digest_migration import api_keys, enrolments

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
LINK = (
    "INSERT INTO guardianships (guardian_identity_id, child_identity_id, relationship, enrolment_id, created_at, "
    "created_by) VALUES (1, 2, 'parent', 1, :t, 'test officer')"
)


def test_0039_adds_guardianships_and_an_enrolment_s_guardian_and_downgrades(engine):  # type: ignore[no-untyped-def]
    upgrade(engine, "0037")
    with engine.begin() as db:
        db.execute(
            api_keys.insert().values(id=1, name="Officer", role="officer", key_hash="a" * 64, prefix="p", created_at=T0)
        )
        for identity_id, uin in ((1, "4058075267"), (2, "4058075268")):
            db.execute(
                sa.text("INSERT INTO identities (id, uin, status, created_at) VALUES (:id, :uin, 'active', :t)"),
                {"id": identity_id, "uin": uin, "t": T0},
            )
        db.execute(
            enrolments.insert().values(
                id=1,
                public_id="e-1",
                status="issued",
                officer_id=1,
                given_name="Mike",
                family_name="Collins",
                date_of_birth=date(2023, 5, 1),
                sex="M",
                place_of_birth="Belize City",
                nationality="BLZ",
                address={"line1": "1 Main St"},
                quality=[],
                rejection_reasons=[],
                created_at=T0,
            )
        )
    upgrade(engine)  # to the head: the schema then matches the models
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        row = connection.execute(
            sa.text("SELECT guardian_identity_id, guardian_relationship, fingers_deferred FROM enrolments")
        ).one()
    assert tuple(row) == (None, None, False)
    with engine.begin() as db:
        db.execute(sa.text(LINK), {"t": T0})
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as db:
        db.execute(sa.text(LINK), {"t": T0})
    downgrade(engine, "0037")
    assert "guardianships" not in inspect(engine).get_table_names()
    assert "fingers_deferred" not in {c["name"] for c in inspect(engine).get_columns("enrolments")}
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT public_id FROM enrolments")).scalar_one() == "e-1"
