"""Two wallets redeeming one pre-authorized code at the same moment, on PostgreSQL: exactly one gets an access
token, the other ``invalid_grant`` (the conditional update of the offer decides)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from civid.uin import verhoeff_check_digit
from credentials.pre_authorized_code import GRANT_TYPE, redeem, tx_code_hash
from idp.errors import InvalidGrant
from idp.server_secrets import sha256_hex
from models import Identity, WalletOffer, utcnow
from server.services import build_services
from tests.conftest import make_settings
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture

pytestmark = pytest.mark.postgres
RACERS = 4
TX_CODE = "314159"


def test_concurrent_redemptions_of_one_code_give_exactly_one_token(tmp_path, postgres_schema_url):
    services = build_services(make_settings(tmp_path, database_url=postgres_schema_url), open_gallery=False)
    try:
        for round_number in range(3):
            code = f"code-{round_number}-" + "x" * 40
            with services.sessions.begin() as db:
                digits = f"40580752{round_number}"
                identity = Identity(uin=digits + verhoeff_check_digit(digits), status="active")
                db.add(identity)
                db.flush()
                now = utcnow()
                db.add(
                    WalletOffer(
                        identity_id=identity.id,
                        code_hash=sha256_hex(code),
                        tx_code_hash=tx_code_hash(code, TX_CODE),
                        failed_attempts=0,
                        created_by="test officer",
                        created_at=now,
                        expires_at=now + timedelta(minutes=10),
                    )
                )
            barrier = threading.Barrier(RACERS)
            tokens: list[str] = []
            refused: list[str] = []

            def race(
                code: str = code,
                barrier: threading.Barrier = barrier,
                tokens: list[str] = tokens,
                refused: list[str] = refused,
            ) -> None:
                barrier.wait()
                with services.sessions() as db:
                    form = {"grant_type": GRANT_TYPE, "pre-authorized_code": code, "tx_code": TX_CODE}
                    try:
                        tokens.append(redeem(db, services, None, form)["access_token"])
                        db.commit()
                    except InvalidGrant as exc:
                        refused.append(exc.description)

            threads = [threading.Thread(target=race) for _ in range(RACERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert len(tokens) == 1 and len(refused) == RACERS - 1, (tokens, refused)
            assert all("already been used" in reason for reason in refused)
    finally:
        services.close()
