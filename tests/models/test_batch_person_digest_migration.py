"""Migration 0014 (the person digest of batch records) on SQLite and PostgreSQL: records from before keep NULL
(their re-exports are judged by deduplication), the schema matches the models, and the downgrade undoes it."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from models import Base
from models.db import downgrade, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture


def test_the_person_digest_column_comes_and_goes_with_its_migration(engine):
    upgrade(engine, "0010")
    assert "person_sha256" not in {c["name"] for c in inspect(engine).get_columns("batch_records")}
    upgrade(engine, "0014")
    column = {c["name"]: c for c in inspect(engine).get_columns("batch_records")}["person_sha256"]
    assert column["nullable"]
    assert "ix_batch_records_person_sha256" in {i["name"] for i in inspect(engine).get_indexes("batch_records")}
    with engine.connect() as connection:
        assert [
            d
            for d in compare_metadata(MigrationContext.configure(connection), Base.metadata)
            if "batch_records" in repr(d)
        ] == []
    downgrade(engine, "0010")
    assert "person_sha256" not in {c["name"] for c in inspect(engine).get_columns("batch_records")}
