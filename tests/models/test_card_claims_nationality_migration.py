"""Migration 0049: existing card slots come to state nationality (a correction of it then revokes the card);
wallet slots are left as they are; down again."""

from __future__ import annotations

import json

import sqlalchemy as sa

from credentials.cards import CLAIMS
from models.db import downgrade, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture

OLD_CARD = ["date_of_birth", "face", "family_name", "given_name", "middle_names", "sex"]
WALLET = ["family_name", "given_name"]


def _claims(engine) -> dict[int, list[str]]:  # type: ignore[no-untyped-def]
    with engine.connect() as db:
        rows = db.execute(sa.text("SELECT list_index, claims FROM credential_statuses ORDER BY list_index")).all()
    return {index: claims if isinstance(claims, list) else json.loads(claims) for index, claims in rows}


def test_0049_adds_nationality_to_every_card_slot_and_downgrades(engine):  # type: ignore[no-untyped-def]
    upgrade(engine, "0047")
    t = "2026-01-01 00:00:00"
    with engine.begin() as db:
        db.execute(
            sa.text("INSERT INTO identities (uin, status, created_at) VALUES ('4058075267', 'active', :t)"), {"t": t}
        )
        for index, kind, claims in ((1, "card", OLD_CARD), (2, "card", OLD_CARD), (3, "wallet", WALLET)):
            db.execute(
                sa.text(
                    "INSERT INTO credential_statuses (identity_id, kind, list_number, list_index, claims, issued_at,"
                    " expires_at) VALUES (1, :kind, 1, :i, :claims, :t, :t)"
                ),
                {"i": index, "kind": kind, "claims": json.dumps(claims), "t": t},
            )
    upgrade(engine)
    after = _claims(engine)
    assert after[1] == after[2] == sorted(CLAIMS)  # what a card issued today lists
    assert after[3] == WALLET
    downgrade(engine, "0047")
    assert _claims(engine) == {1: OLD_CARD, 2: OLD_CARD, 3: WALLET}
