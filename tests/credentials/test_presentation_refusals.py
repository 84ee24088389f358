"""What civid's OpenID4VP verifier refuses. Every presentation that must fail is answered 400 invalid_request to
the wallet with a stable reason and audited without claim values. Only an answer the holder's key bound to this
transaction (a revoked or expired credential, a claim not disclosed, another type) ends the transaction as failed
with the reason the bank reads; garbage, a forged or altered credential, a wrong nonce or audience — what anyone who
read the request's QR could post — is refused and leaves it pending, so the real wallet's answer still counts. The
transaction answers once (a replay; two posts at once: test_presentation_race), and never after it expired."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from sqlalchemy import select, update

from civid import sd_jwt
from credentials.sd_jwt_verify import sd_hash
from models import AuditEvent, CredentialStatus, PresentationTransaction, utcnow
from tests.credentials.presentation_flow import (
    Wallet,
    ask,
    holder_key,
    identity,
    issue,
    poll,
    presentations_bank,
    request_object,
    respond,
)

NAMES = ["given_name", "family_name", "age_over_18"]


def _stranger_signs(claims: dict, kid: str = "stranger") -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid, "typ": "dc+sd-jwt"})


def _open(client, services, bank) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    body = ask(client, services, bank).json()
    _, claims = request_object(client, body["request_uri"])
    return body, claims


def _failed(client, services, bank, body: dict, reason: str) -> None:  # type: ignore[no-untyped-def]
    outcome = poll(client, services, bank, body["id"]).json()
    assert (outcome["status"], outcome["reason"]) == ("failed", reason), outcome
    assert "credentials" not in outcome
    with services.sessions() as db:
        event = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "presentation.failed", AuditEvent.subject_id == body["id"])
        ).one()
    assert event.detail["reason"] == reason and event.detail["client_id"] == bank.client_id
    assert not {"Adriana", "Castillo", "1990-04-17"} & set(json.dumps(event.detail).split('"'))


def _tamper(presentation: str) -> str:
    """Replace the first Disclosure with one the issuer never signed (a changed given name)."""
    parts = presentation.split("~")
    parts[1] = sd_jwt.disclose("given_name", "Eve").encoded
    return "~".join(parts)


def _stale(wallet: Wallet, claims: dict) -> str:
    """A correct Key Binding JWT, but signed an hour ago (a presentation kept and replayed later)."""
    without_kb = wallet.present(NAMES, nonce=claims["nonce"], aud=claims["client_id"], kb=False)
    key = serialization.load_pem_private_key(wallet.key.export_to_pem(private_key=True, password=None), None)
    kb = {
        "aud": claims["client_id"],
        "nonce": claims["nonce"],
        "iat": int(time.time()) - 3600,
        "sd_hash": sd_hash(without_kb),
    }
    return without_kb + jwt.encode(kb, key, algorithm="ES256", headers={"typ": "kb+jwt"})


def _duplicate(presentation: str) -> str:
    parts = presentation.split("~")
    return "~".join([parts[0], parts[1], *parts[1:]])


# (what to do to the credential or the presentation, the reason): nothing here proves the holder answered.
Case = tuple[Callable[..., str], str]
REFUSED: dict[str, Case] = {
    "wrong nonce": (lambda w, c, s: w.present(NAMES, nonce="another-nonce", aud=c["client_id"]), "wrong_nonce"),
    "wrong aud": (lambda w, c, s: w.present(NAMES, nonce=c["nonce"], aud="https://bank.example"), "wrong_audience"),
    "KB-JWT by another key": (
        lambda w, c, s: w.present(NAMES, nonce=c["nonce"], aud=c["client_id"], key=holder_key()),
        "bad_key_binding",
    ),
    "no KB-JWT": (
        lambda w, c, s: w.present(NAMES, nonce=c["nonce"], aud=c["client_id"], kb=False),
        "missing_key_binding",
    ),
    "stale KB-JWT": (lambda w, c, s: _stale(w, c), "stale_key_binding"),
    "tampered disclosure": (
        lambda w, c, s: _tamper(w.present(NAMES, nonce=c["nonce"], aud=c["client_id"])),
        "unreferenced_disclosure",
    ),
    "duplicate disclosure": (
        lambda w, c, s: _duplicate(w.present(NAMES, nonce=c["nonce"], aud=c["client_id"])),
        "duplicate_disclosure",
    ),
    "signed by an OpenID key": (
        lambda w, c, s: issue(
            s, identity(s, "602817453"), key=w.key, sign=lambda p: s.signing_keys.sign(p, typ="dc+sd-jwt")
        ).present(NAMES, nonce=c["nonce"], aud=c["client_id"]),
        "unknown_issuer_key",
    ),
    "signed by a stranger's key": (
        lambda w, c, s: issue(s, identity(s, "602817453"), sign=_stranger_signs).present(
            NAMES, nonce=c["nonce"], aud=c["client_id"]
        ),
        "unknown_issuer_key",
    ),
    "a stranger's key under civid's kid": (
        lambda w, c, s: issue(
            s,
            identity(s, "602817453"),
            sign=lambda p: _stranger_signs(p, s.credential_keys.jwks()["keys"][0]["kid"]),
        ).present(NAMES, nonce=c["nonce"], aud=c["client_id"]),
        "bad_signature",
    ),
}


def _slot_not_a_wallet_credentials(wallet: Wallet, claims: dict, services) -> str:  # type: ignore[no-untyped-def]
    """The holder's genuine answer, but its status slot is no longer one civid allocated for a wallet credential."""
    with services.sessions.begin() as db:
        db.execute(update(CredentialStatus).where(CredentialStatus.id == wallet.status_id).values(kind="card"))
    return wallet.present(NAMES, nonce=claims["nonce"], aud=claims["client_id"])


# The holder's own answer to this transaction, with what is wrong with it: the reason the bank reads.
FAILING: dict[str, Case] = {
    "status slot not civid's": (_slot_not_a_wallet_credentials, "unknown_status"),
    "requested claim not disclosed": (
        lambda w, c, s: w.present(["given_name", "family_name"], nonce=c["nonce"], aud=c["client_id"]),
        "claims_not_disclosed",
    ),
    "expired credential": (
        lambda w, c, s: issue(s, identity(s, "602817453"), expires_in=-timedelta(days=1)).present(
            NAMES, nonce=c["nonce"], aud=c["client_id"]
        ),
        "expired",
    ),
    "another credential type": (
        lambda w, c, s: issue(s, identity(s, "602817453"), vct="urn:civid:vct:kyc-attestation:1").present(
            NAMES, nonce=c["nonce"], aud=c["client_id"]
        ),
        "wrong_type",
    ),
}


def _still_pending_then_verified(client, services, bank, wallet, body: dict, claims: dict, reason: str) -> None:  # type: ignore[no-untyped-def]
    """A refused answer changed nothing: the transaction is pending, the refusal audited, and the wallet's real
    answer is then verified."""
    assert poll(client, services, bank, body["id"]).json()["status"] == "pending"
    with services.sessions() as db:
        refused = db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "presentation.answer_refused", AuditEvent.subject_id == body["id"]
            )
        ).all()
    assert [(e.detail["reason"], e.detail["client_id"]) for e in refused] == [(reason, bank.client_id)]
    genuine = wallet.present(NAMES, nonce=claims["nonce"], aud=claims["client_id"])
    assert respond(client, claims["state"], {"pid": genuine}).status_code == 200
    assert poll(client, services, bank, body["id"]).json()["status"] == "verified"


def _refused_answer(client, services, case: Case):  # type: ignore[no-untyped-def]
    """A bank's request answered with ``case``'s presentation: 400 with its reason. (bank, wallet, body, claims)."""
    make, reason = case
    bank = presentations_bank(services)
    wallet = issue(services, identity(services))
    body, claims = _open(client, services, bank)
    answered = respond(client, claims["state"], {"pid": make(wallet, claims, services)})
    assert answered.status_code == 400, answered.text
    assert answered.json()["error"] == "invalid_request" and answered.json()["reason"] == reason
    return bank, wallet, body, claims


@pytest.mark.parametrize("case", list(REFUSED))
def test_an_answer_not_bound_to_the_holder_is_refused_and_the_transaction_waits(client, services, case):
    reason = REFUSED[case][1]
    bank, wallet, body, claims = _refused_answer(client, services, REFUSED[case])
    _still_pending_then_verified(client, services, bank, wallet, body, claims, reason)


@pytest.mark.parametrize("case", list(FAILING))
def test_the_holders_own_bad_answer_fails_the_transaction_with_its_reason(client, services, case):
    bank, _, body, _ = _refused_answer(client, services, FAILING[case])
    _failed(client, services, bank, body, FAILING[case][1])


@pytest.mark.parametrize(
    "vp_token",
    ["not json", "[]", "{}", '{"pid": "bare string"}', '{"pid": ["a~", "b~"]}', '{"other": ["x~"]}', '{"pid": ["x"]}'],
)
def test_a_malformed_vp_token_is_refused_and_the_transaction_waits(client, services, vp_token):
    bank = presentations_bank(services)
    wallet = issue(services, identity(services))
    body, claims = _open(client, services, bank)
    answered = client.post("/v1/presentations/wallet/response", data={"state": claims["state"], "vp_token": vp_token})
    assert answered.status_code == 400 and answered.json()["error"] == "invalid_request"
    _still_pending_then_verified(client, services, bank, wallet, body, claims, answered.json()["reason"])


def test_a_key_binding_jwt_whose_alg_does_not_fit_the_holder_key_is_refused_not_a_crash(client, services):
    bank = presentations_bank(services)
    wallet = issue(services, identity(services))
    body, claims = _open(client, services, bank)
    without_kb = wallet.present(NAMES, nonce=claims["nonce"], aud=claims["client_id"], kb=False)
    payload = {"aud": claims["client_id"], "nonce": claims["nonce"], "iat": int(time.time())}
    payload["sd_hash"] = sd_hash(without_kb)
    # Signed with an Ed25519 key and headed EdDSA, over a credential whose cnf.jwk is a P-256 key.
    kb = jwt.encode(payload, ed25519.Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"typ": "kb+jwt"})
    answered = respond(client, claims["state"], {"pid": without_kb + kb})
    assert answered.status_code == 400 and answered.json()["reason"] == "bad_key_binding", answered.text
    _still_pending_then_verified(client, services, bank, wallet, body, claims, "bad_key_binding")


def test_a_response_is_processed_once_and_a_presentation_cannot_be_replayed_elsewhere(client, services):
    bank = presentations_bank(services)
    wallet = issue(services, identity(services))
    body, claims = _open(client, services, bank)
    presentation = wallet.present(NAMES, nonce=claims["nonce"], aud=claims["client_id"])
    assert respond(client, claims["state"], {"pid": presentation}).status_code == 200
    again = respond(client, claims["state"], {"pid": presentation})
    assert again.status_code == 400 and "already been answered" in again.json()["error_description"]
    assert poll(client, services, bank, body["id"]).json()["status"] == "verified"
    assert client.get(body["request_uri"]).status_code == 404  # an answered request is no longer served
    # The same presentation sent to the next transaction carries the first one's nonce.
    second, second_claims = _open(client, services, bank)
    assert respond(client, second_claims["state"], {"pid": presentation}).json()["reason"] == "wrong_nonce"
    with services.sessions() as db:
        verified = db.scalars(select(AuditEvent).where(AuditEvent.action == "presentation.verified")).all()
    assert [e.subject_id for e in verified] == [body["id"]]


def test_unknown_and_expired_transactions(client, services):
    bank = presentations_bank(services)
    wallet = issue(services, identity(services))
    unknown = respond(client, "s" * 43, {"pid": "x~"})
    assert unknown.status_code == 400 and unknown.json()["error_description"].startswith("unknown state")
    assert client.post("/v1/presentations/wallet/response", data={}).status_code == 400
    assert client.get("/v1/presentations/requests/" + "h" * 43).status_code == 404
    body, claims = _open(client, services, bank)
    with services.sessions.begin() as db:
        db.execute(
            update(PresentationTransaction)
            .where(PresentationTransaction.uid == body["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    presentation = wallet.present(NAMES, nonce=claims["nonce"], aud=claims["client_id"])
    late = respond(client, claims["state"], {"pid": presentation})
    assert late.status_code == 400 and "expired" in late.json()["error_description"]
    assert client.get(body["request_uri"]).status_code == 404
    outcome = poll(client, services, bank, body["id"]).json()
    assert (outcome["status"], outcome["reason"]) == ("failed", "expired_request")
    # Past the reading window the transaction is gone for the bank too.
    with services.sessions.begin() as db:
        db.execute(
            update(PresentationTransaction)
            .where(PresentationTransaction.uid == body["id"])
            .values(expires_at=utcnow() - timedelta(seconds=services.settings.presentation_ttl_s + 1))
        )
    assert poll(client, services, bank, body["id"]).status_code == 404


def test_a_verified_outcome_is_erased_once_its_reading_window_has_passed(client, services):
    bank = presentations_bank(services)
    wallet = issue(services, identity(services))
    body, claims = _open(client, services, bank)
    respond(client, claims["state"], {"pid": wallet.present(NAMES, nonce=claims["nonce"], aud=claims["client_id"])})
    with services.sessions.begin() as db:
        db.execute(
            update(PresentationTransaction)
            .where(PresentationTransaction.uid == body["id"])
            .values(expires_at=utcnow() - timedelta(seconds=services.settings.presentation_ttl_s + 1))
        )
    assert poll(client, services, bank, body["id"]).status_code == 404
    with services.sessions() as db:
        row = db.scalars(select(PresentationTransaction).where(PresentationTransaction.uid == body["id"])).one()
    assert row.status == "verified" and row.result is None
