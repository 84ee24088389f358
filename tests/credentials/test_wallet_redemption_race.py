"""Wallets racing on one pre-authorized code, on PostgreSQL: of concurrent redemptions exactly one gets an access
token, the others ``invalid_grant`` (the conditional update of the offer decides); of a burst of parallel guesses at
the transaction code no more than the allowed attempts are ever compared."""

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


def _offer(services, code: str, digits: str) -> int:  # type: ignore[no-untyped-def]
    with services.sessions.begin() as db:
        identity = Identity(uin=digits + verhoeff_check_digit(digits), status="active")
        db.add(identity)
        db.flush()
        now = utcnow()
        offer = WalletOffer(
            identity_id=identity.id,
            code_hash=sha256_hex(code),
            tx_code_hash=tx_code_hash(code, TX_CODE),
            failed_attempts=0,
            created_by="test officer",
            created_at=now,
            expires_at=now + timedelta(minutes=10),
        )
        db.add(offer)
        db.flush()
        return offer.id


def test_concurrent_redemptions_of_one_code_give_exactly_one_token(tmp_path, postgres_schema_url):
    services = build_services(make_settings(tmp_path, database_url=postgres_schema_url), open_gallery=False)
    try:
        for round_number in range(3):
            code = f"code-{round_number}-" + "x" * 40
            offer_id = _offer(services, code, f"40580752{round_number}")
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
            with services.sessions() as db:
                assert db.get(WalletOffer, offer_id).failed_attempts == 0  # right codes count no failure
    finally:
        services.close()


def test_a_burst_of_parallel_guesses_gets_no_more_comparisons_than_the_attempts_allowed(tmp_path, postgres_schema_url):
    services = build_services(make_settings(tmp_path, database_url=postgres_schema_url), open_gallery=False)
    allowed = services.settings.wallet_tx_code_max_attempts
    guessers = allowed * 3
    code = "burst-" + "y" * 40
    offer_id = _offer(services, code, "405807529")
    barrier = threading.Barrier(guessers)
    answers: list[str] = []

    def guess(n: int) -> None:
        barrier.wait()
        with services.sessions() as db:
            form = {"grant_type": GRANT_TYPE, "pre-authorized_code": code, "tx_code": f"{n:06d}"}
            try:
                redeem(db, services, None, form)
                answers.append("token")
            except InvalidGrant as exc:
                answers.append(exc.description)

    try:
        threads = [threading.Thread(target=guess, args=(n,)) for n in range(guessers)]  # never 314159
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(answers) == guessers
        # Checked-then-counted, every guess would have been compared: here only `allowed` of them were.
        assert answers.count("wrong transaction code") == allowed, answers
        # The others were refused without a comparison: the offer locked, or its attempts all being compared.
        refused = {
            "too many wrong transaction codes: ask for a new offer",
            "too many transaction codes at once: try again in a moment",
        }
        assert sum(answers.count(reason) for reason in refused) == guessers - allowed, answers
        with services.sessions() as db:
            offer = db.get(WalletOffer, offer_id)
            assert offer.failed_attempts == allowed and offer.locked_at is not None
            form = {"grant_type": GRANT_TYPE, "pre-authorized_code": code, "tx_code": TX_CODE}
            with pytest.raises(InvalidGrant, match="new offer"):
                redeem(db, services, None, form)  # even the right code, now
    finally:
        services.close()
