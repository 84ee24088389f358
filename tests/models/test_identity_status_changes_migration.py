"""Migration 0027 (identity_status_changes) on SQLite and PostgreSQL: the schema is then the models' exactly,
an identity's transitions are stored, and the downgrade removes the table (identities untouched)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from models import Base
from models.db import downgrade, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_0027_adds_the_status_history_and_downgrades(engine):  # type: ignore[no-untyped-def]
    upgrade(engine, "0023")
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO identities (id, uin, status, created_at) VALUES (1, '4058075267', 'active', :t)"),
            {"t": T0},
        )
    upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO identity_status_changes (identity_id, transition, from_status, to_status, reason, "
                "evidence_reference, actor_name, actor_role, created_at) VALUES "
                "(1, 'suspended', 'active', 'suspended', 'court_order', 'HC-1', 'adj', 'adjudicator', :t)"
            ),
            {"t": T0},
        )
    downgrade(engine, "0023")
    assert "identity_status_changes" not in inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT uin FROM identities")).scalar_one() == "4058075267"
