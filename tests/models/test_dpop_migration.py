"""Migration 0022 (DPoP, RFC 9449) on SQLite and PostgreSQL: clients registered before it are not required to use
DPoP, the schema matches the models, and the downgrade removes the columns and the proofs' table."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from models import Base, Client
from models.db import downgrade, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture
from tests.models.test_backchannel_logout_migration import insert_client_at_0009


def test_upgrade_leaves_existing_clients_without_dpop_and_downgrade_undoes_it(engine):
    upgrade(engine, "0010")
    insert_client_at_0009(engine, "bank", "Bank", "bank.bz")

    upgrade(engine)

    with Session(engine) as db:
        assert db.scalars(select(Client.require_dpop)).one() is False
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []

    downgrade(engine, "0020")
    assert "require_dpop" not in {c["name"] for c in inspect(engine).get_columns("oidc_clients")}
    for table in ("authorization_codes", "refresh_tokens"):
        assert "dpop_jkt" not in {c["name"] for c in inspect(engine).get_columns(table)}
    assert "oidc_dpop_proofs" not in inspect(engine).get_table_names()
