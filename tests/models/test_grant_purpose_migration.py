"""Migration 0016 (grant purpose) on SQLite and PostgreSQL: an existing grant gets the purpose its client's
consents all name, and none (no stated purpose) where they name several or consent was given without one; an
old release's consent uid becomes a one-element list; the schema matches the models; the downgrade undoes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from models import Base, DataRelease, Grant
from models.db import downgrade, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture

WHEN = sa.DateTime(timezone=True)
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
identities = sa.table(
    "identities", sa.column("id"), sa.column("uin"), sa.column("status"), sa.column("created_at", WHEN)
)
consents = sa.table(
    "consents",
    sa.column("id"),
    sa.column("uid"),
    sa.column("identity_id"),
    sa.column("client_id"),
    sa.column("scopes", sa.JSON),
    sa.column("claims", sa.JSON),
    sa.column("purpose"),
    sa.column("granted_at", WHEN),
    sa.column("expires_at", WHEN),
    sa.column("revoked_at", WHEN),
)
grants = sa.table(
    "oidc_grants",
    sa.column("id"),
    sa.column("uid"),
    sa.column("client_id"),
    sa.column("identity_id"),
    sa.column("scope"),
    sa.column("auth_time", WHEN),
    sa.column("acr"),
    sa.column("amr", sa.JSON),
    sa.column("created_at", WHEN),
    sa.column("expires_at", WHEN),
)
releases_at_0015 = sa.table(
    "data_releases",
    sa.column("id"),
    sa.column("identity_id"),
    sa.column("client_id"),
    sa.column("channel"),
    sa.column("claims", sa.JSON),
    sa.column("verified", sa.Boolean),
    sa.column("consent_uid"),
    sa.column("released_at", WHEN),
)
P1, P2 = "Opening your savings account", "Checking your age"


def test_old_grants_get_the_one_purpose_their_consents_name_else_none(engine):
    upgrade(engine, "0015")
    consent = {
        "identity_id": 1,
        "scopes": ["openid"],
        "claims": ["verified_claims:given_name"],
        "granted_at": T0,
        "expires_at": T0 + timedelta(days=365),
        "revoked_at": None,
    }
    with engine.begin() as db:
        db.execute(identities.insert(), [{"id": 1, "uin": "1000000001", "status": "active", "created_at": T0}])
        db.execute(
            consents.insert(),
            [
                {**consent, "id": 1, "uid": "bank-1", "client_id": "bank", "purpose": P1},
                {**consent, "id": 2, "uid": "bank-2", "client_id": "bank", "purpose": P1, "revoked_at": T0},
                {**consent, "id": 3, "uid": "shop-1", "client_id": "shop", "purpose": P1},
                {**consent, "id": 4, "uid": "shop-2", "client_id": "shop", "purpose": P2},
                {**consent, "id": 5, "uid": "mixed-1", "client_id": "mixed", "purpose": P1},
                {**consent, "id": 6, "uid": "mixed-2", "client_id": "mixed", "purpose": None},
                {**consent, "id": 7, "uid": "health-1", "client_id": "health", "purpose": None},
            ],
        )
        db.execute(
            grants.insert(),
            [
                {
                    "id": n,
                    "uid": f"g-{client}",
                    "client_id": client,
                    "identity_id": 1,
                    "scope": "openid",
                    "auth_time": T0,
                    "acr": "urn:civid:acr:face",
                    "amr": ["face"],
                    "created_at": T0,
                    "expires_at": T0 + timedelta(days=30),
                }
                for n, client in enumerate(("bank", "shop", "mixed", "health", "gone"), start=1)
            ],
        )
        db.execute(
            releases_at_0015.insert(),
            [
                {
                    "id": 1,
                    "identity_id": 1,
                    "client_id": "bank",
                    "channel": "userinfo",
                    "claims": ["verified_claims:given_name"],
                    "verified": True,
                    "consent_uid": "bank-1",
                    "released_at": T0,
                },
                {
                    "id": 2,
                    "identity_id": 1,
                    "client_id": "health",
                    "channel": "userinfo",
                    "claims": ["given_name"],
                    "verified": False,
                    "consent_uid": None,
                    "released_at": T0,
                },
            ],
        )

    upgrade(engine, "0016")

    with Session(engine) as db:
        assert {g.client_id: g.purpose for g in db.scalars(select(Grant))} == {
            "bank": P1,
            "shop": None,
            "mixed": None,
            "health": None,
            "gone": None,
        }
        assert {r.id: r.consent_uids for r in db.scalars(select(DataRelease))} == {1: ["bank-1"], 2: None}
    upgrade(engine)  # to the head: the schema compared below is today's models
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []

    downgrade(engine, "0015")
    assert "purpose" not in {c["name"] for c in inspect(engine).get_columns("oidc_grants")}
    with engine.connect() as connection:
        assert dict(connection.execute(sa.text("SELECT id, consent_uid FROM data_releases")).all()) == {
            1: "bank-1",
            2: None,
        }
