"""Migration 0043: the ID cards' table matches the models, keeps one active card per identity, and goes down."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from models import Base
from models.db import downgrade, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture

CARD = (
    "INSERT INTO id_cards (number, identity_id, identifier_kind, status_id, state, issued_at, expires_at, issued_by,"
    " sealed_key_id, sealed_nonce, sealed_ciphertext) VALUES (:number, 1, 'uin', :status, :state, :t, :t, 'o', 'k',"
    " :n, :c)"
)


def test_0043_makes_id_cards_with_one_active_card_per_identity_and_downgrades(engine):  # type: ignore[no-untyped-def]
    upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    t = "2026-01-01 00:00:00"
    with engine.begin() as db:
        person = "INSERT INTO identities (uin, status, created_at) VALUES ('4058075267', 'active', :t)"
        db.execute(sa.text(person), {"t": t})
        for slot in (1, 2, 3):
            db.execute(
                sa.text(
                    "INSERT INTO credential_statuses (identity_id, kind, list_number, list_index, claims, issued_at,"
                    " expires_at) VALUES (1, 'card', 1, :i, '[]', :t, :t)"
                ),
                {"i": slot, "t": t},
            )
        values = {"t": t, "n": b"\0" * 12, "c": b"sealed"}
        db.execute(sa.text(CARD), {**values, "number": "123456789A", "status": 1, "state": "lost"})
        db.execute(sa.text(CARD), {**values, "number": "123456780B", "status": 2, "state": "active"})
    with pytest.raises(IntegrityError), engine.begin() as db:
        db.execute(sa.text(CARD), {**values, "number": "123456781C", "status": 3, "state": "active"})
    downgrade(engine, "0041")
    assert "id_cards" not in inspect(engine).get_table_names()
