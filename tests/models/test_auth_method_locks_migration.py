"""Migration 0032 (auth_method_locks) on SQLite and PostgreSQL: the schema is then the models' exactly, one row
per identity and method (a second is refused), and the downgrade removes the table (identities untouched)."""

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
ROW = (
    "INSERT INTO auth_method_locks (identity_id, method, locked, unlocked_until, updated_at, updated_by) "
    "VALUES (1, 'face', :locked, NULL, :t, 'citizen:4058075267')"
)


def test_0032_adds_the_locks_one_per_method_and_downgrades(engine):  # type: ignore[no-untyped-def]
    upgrade(engine, "0033")
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO identities (id, uin, status, created_at) VALUES (1, '4058075267', 'active', :t)"),
            {"t": T0},
        )
    upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    with engine.begin() as connection:
        connection.execute(sa.text(ROW), {"t": T0, "locked": True})
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(sa.text(ROW), {"t": T0, "locked": False})
    downgrade(engine, "0033")
    assert "auth_method_locks" not in inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT uin FROM identities")).scalar_one() == "4058075267"
