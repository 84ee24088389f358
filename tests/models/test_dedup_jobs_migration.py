"""Migration 0018 adds the dedup queue: after it the schema is exactly the models' (on SQLite and PostgreSQL), and
downgrading to 0017 removes the table and nothing else."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from models import Base
from models.db import downgrade, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture


def test_0018_creates_the_dedup_queue_as_the_models_describe_it_and_downgrades(engine):  # type: ignore[no-untyped-def]
    upgrade(engine, "0017")
    before = set(inspect(engine).get_table_names())
    assert "dedup_jobs" not in before
    upgrade(engine)
    assert "dedup_jobs" in inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    downgrade(engine, "0017")
    assert set(inspect(engine).get_table_names()) == before
