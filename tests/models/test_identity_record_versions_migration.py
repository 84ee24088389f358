"""Migration 0033 (identity_record_versions) on SQLite and PostgreSQL: the schema is then the models' exactly,
a second pending version of one identity is refused by the partial unique index (a pending and an applied one
are not), and the downgrade removes the table (identities untouched)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from models import Base
from models.db import downgrade, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
INSERT = sa.text(
    "INSERT INTO identity_record_versions (identity_id, version, status, fields, given_name, family_name, "
    "date_of_birth, sex, address, created_by_name, created_at) VALUES "
    "(1, :v, :s, '[]', 'Ana', 'Pérez', '1990-04-21', 'F', '{}', 'officer', :t)"
)


def test_0033_adds_the_record_versions_and_downgrades(engine):  # type: ignore[no-untyped-def]
    upgrade(engine, "0030")
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO identities (id, uin, status, created_at) VALUES (1, '4058075267', 'active', :t)"),
            {"t": T0},
        )
    upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    with engine.begin() as connection:
        connection.execute(INSERT, {"v": 1, "s": "applied", "t": T0})
        connection.execute(INSERT, {"v": 2, "s": "pending", "t": T0})
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(INSERT, {"v": 3, "s": "pending", "t": T0})
    downgrade(engine, "0030")
    assert "identity_record_versions" not in inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT uin FROM identities")).scalar_one() == "4058075267"
