"""Migration 0045: the wallet issuance tables match the models, and the downgrade removes them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from models import Base
from models.db import downgrade, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture

TABLES = {"wallet_offers", "wallet_nonces", "wallet_credentials"}


def test_0045_creates_the_wallet_tables_and_downgrades(engine):  # type: ignore[no-untyped-def]
    upgrade(engine, "0043")
    assert not TABLES & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    downgrade(engine, "0043")
    assert not TABLES & set(inspect(engine).get_table_names())
