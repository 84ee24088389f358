"""Migration 0015 (first-party clients) on SQLite and PostgreSQL: the console's existing registration becomes
first-party, every other client stays third-party, the schema matches the models, and the downgrade undoes it."""

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
from tests.models.test_backchannel_logout_migration import clients_at_0009


def test_upgrade_makes_only_the_console_first_party(engine):
    upgrade(engine, "0010")
    with engine.begin() as connection:
        for row_id, client_id, registered_by in ((1, "health", "admin:test"), (2, "console", "civid:console")):
            connection.execute(
                sa.insert(clients_at_0009).values(
                    id=row_id,
                    client_id=client_id,
                    name=client_id,
                    token_endpoint_auth_method="client_secret_basic",
                    redirect_uris=["https://health.bz/cb"],
                    post_logout_redirect_uris=[],
                    allowed_scopes=["openid"],
                    entitlements=[],
                    subject_type="pairwise",
                    sector_identifier="health.bz",
                    require_par=False,
                    default_acr_values=[],
                    contacts=[],
                    registered_by=registered_by,
                    created_at=datetime(2026, 11, 1, tzinfo=UTC),
                )
            )

    upgrade(engine)  # to the head: the schema compared below is today's models

    with Session(engine) as db:
        assert {c.client_id: c.first_party for c in db.scalars(select(Client))} == {"health": False, "console": True}
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []

    downgrade(engine, "0010")
    assert "first_party" not in {c["name"] for c in inspect(engine).get_columns("oidc_clients")}
