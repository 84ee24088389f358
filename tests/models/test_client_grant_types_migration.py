"""Migration 0013 on SQLite and PostgreSQL: clients registered before it keep both grants and PKCE required
(today's behaviour),
the schema matches the models, and the downgrade undoes it."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from models import Base, Client
from models.db import downgrade, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture
from tests.models.test_backchannel_logout_migration import insert_client_at_0009


def test_upgrade_keeps_existing_clients_on_both_grants_and_pkce(engine):
    upgrade(engine, "0010")
    insert_client_at_0009(engine, "health", "Health portal", "health.bz")

    upgrade(engine)

    with Session(engine) as db:
        client = db.scalars(select(Client)).one()
        assert client.grant_types == ["authorization_code", "refresh_token"]
        assert client.require_pkce is True and client.sector_identifier_uri is None
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []

    downgrade(engine, "0010")
    columns = {c["name"] for c in inspect(engine).get_columns("oidc_clients")}
    assert not columns & {"grant_types", "require_pkce", "sector_identifier_uri"}
    assert not next(c for c in inspect(engine).get_columns("authorization_codes") if c["name"] == "code_challenge")[
        "nullable"
    ]
