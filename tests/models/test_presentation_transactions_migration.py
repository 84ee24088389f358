"""Migration 0047: the presentation transactions table matches the model; down again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from models import Base
from models.db import downgrade, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture


def test_0047_creates_presentation_transactions_and_downgrades(engine):  # type: ignore[no-untyped-def]
    upgrade(engine, "0045")
    assert "presentation_transactions" not in inspect(engine).get_table_names()
    upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    assert {"uid", "state", "nonce", "dcql_query", "result"} <= {
        c["name"] for c in inspect(engine).get_columns("presentation_transactions")
    }
    downgrade(engine, "0045")
    assert "presentation_transactions" not in inspect(engine).get_table_names()
