"""Migration 0010 (back-channel logout) on SQLite and PostgreSQL: existing clients keep working without a
back-channel logout URI, the schema matches the models, and the downgrade undoes it."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from models import Base, Client
from models.db import downgrade, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture

clients_at_0009 = sa.table(
    "oidc_clients",
    sa.column("id"),
    sa.column("client_id"),
    sa.column("name"),
    sa.column("token_endpoint_auth_method"),
    sa.column("redirect_uris", sa.JSON),
    sa.column("post_logout_redirect_uris", sa.JSON),
    sa.column("allowed_scopes", sa.JSON),
    sa.column("entitlements", sa.JSON),
    sa.column("subject_type"),
    sa.column("sector_identifier"),
    sa.column("require_par", sa.Boolean),
    sa.column("default_acr_values", sa.JSON),
    sa.column("contacts", sa.JSON),
    sa.column("registered_by"),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def insert_client_at_0009(engine: sa.Engine, client_id: str, name: str, host: str) -> None:
    """One confidential pairwise client as a 0009 schema stores it (the migrations after it must keep it working)."""
    with engine.begin() as connection:
        connection.execute(
            sa.insert(clients_at_0009).values(
                id=1,
                client_id=client_id,
                name=name,
                token_endpoint_auth_method="client_secret_basic",
                redirect_uris=[f"https://{host}/cb"],
                post_logout_redirect_uris=[],
                allowed_scopes=["openid"],
                entitlements=[],
                subject_type="pairwise",
                sector_identifier=host,
                require_par=False,
                default_acr_values=[],
                contacts=[],
                registered_by="admin:test",
                created_at=datetime(2026, 11, 1, tzinfo=UTC),
            )
        )


def test_upgrade_keeps_existing_clients_without_back_channel_logout(engine):
    upgrade(engine, "0009")
    insert_client_at_0009(engine, "health", "Health portal", "health.bz")

    upgrade(engine)

    with Session(engine) as db:
        client = db.scalars(select(Client)).one()
        assert client.backchannel_logout_uri is None and client.backchannel_logout_session_required is False
    assert "oidc_backchannel_logouts" in inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []

    downgrade(engine, "0009")
    assert "oidc_backchannel_logouts" not in inspect(engine).get_table_names()
    assert "backchannel_logout_uri" not in {c["name"] for c in inspect(engine).get_columns("oidc_clients")}
