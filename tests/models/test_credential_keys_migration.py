"""Migration 0041: every signing key stored before is an OpenID key; the schema matches the models; down again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from models import Base
from models.db import downgrade, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture


def test_0041_makes_existing_keys_openid_keys_and_downgrades(engine):  # type: ignore[no-untyped-def]
    upgrade(engine, "0039")
    with engine.begin() as db:
        db.execute(
            sa.text(
                "INSERT INTO signing_keys (kid, alg, public_jwk, private_key_id, private_nonce, private_ciphertext,"
                " published_at, activates_at) VALUES ('es256-old', 'ES256', '{}', 'k', :n, :c, :t, :t)"
            ),
            {"n": b"\0" * 12, "c": b"sealed", "t": "2026-01-01 00:00:00"},
        )
    upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        assert connection.execute(sa.text("SELECT purpose FROM signing_keys")).scalar_one() == "oidc"
    downgrade(engine, "0039")
    assert "purpose" not in {c["name"] for c in inspect(engine).get_columns("signing_keys")}
