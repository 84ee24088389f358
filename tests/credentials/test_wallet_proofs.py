"""The credential endpoint's key proof checks (OpenID4VCI 1.0 §8.2.1.1, §8.3.1.2): each bad proof is refused with
the spec's error code and issues nothing; a nonce is accepted once, and a forged proof does not burn it."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlalchemy import func, select, update

from models import WalletCredential, WalletNonce, WalletOffer
from tests.conftest import seeded_fixtures
from tests.credentials.issuance_flow import Wallet, c_nonce, make_offer, pre_authorized_code, redeem, request_credential
from tests.credentials.test_wallet_pre_authorized import enrol_pid_holder

seed, settings, keys, citizen = seeded_fixtures(enrol_pid_holder, "citizen")


@pytest.fixture
def token(client, keys, citizen) -> str:  # type: ignore[no-untyped-def]
    offer = make_offer(client, keys, citizen.uin)
    response = redeem(client, pre_authorized_code(offer), offer["tx_code"])
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _issued(services) -> int:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return db.scalar(select(func.count()).select_from(WalletCredential)) or 0


def _refused(response, error: str) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error, response.text
    return response.json()["error_description"]


def _retry_allowed(services) -> None:  # type: ignore[no-untyped-def]
    """A refused request must not use up the token's one credential (the whole transaction rolled back)."""
    with services.sessions() as db:
        assert db.scalars(select(WalletOffer.credential_issued_at)).all() == [None]


def test_a_proof_with_an_unknown_nonce_is_invalid_nonce(client, services, token):
    proof = Wallet().proof(services.settings.resolved_issuer, "made-up-nonce")
    assert "fetch a new one" in _refused(request_credential(client, token, proof), "invalid_nonce")
    _retry_allowed(services)
    assert _issued(services) == 0


def test_a_nonce_is_accepted_once(client, services, keys, citizen, token):
    issuer = services.settings.resolved_issuer
    nonce = c_nonce(client)
    assert request_credential(client, token, Wallet().proof(issuer, nonce)).status_code == 200
    offer = make_offer(client, keys, citizen.uin)
    second = redeem(client, pre_authorized_code(offer), offer["tx_code"]).json()["access_token"]
    _refused(request_credential(client, second, Wallet().proof(issuer, nonce)), "invalid_nonce")


def test_an_expired_nonce_is_invalid_nonce(client, services, token):
    nonce = c_nonce(client)
    with services.sessions.begin() as db:
        db.execute(update(WalletNonce).values(expires_at=WalletNonce.created_at))
    _refused(
        request_credential(client, token, Wallet().proof(services.settings.resolved_issuer, nonce)), "invalid_nonce"
    )


def test_a_proof_without_a_nonce_is_invalid_proof(client, services, token):
    _refused(
        request_credential(client, token, Wallet().proof(services.settings.resolved_issuer, None)), "invalid_proof"
    )


def test_a_proof_for_another_audience_is_invalid_proof(client, services, token):
    nonce = c_nonce(client)
    proof = Wallet().proof("https://other-issuer.example", nonce)
    assert "aud" in _refused(request_credential(client, token, proof), "invalid_proof")
    # The nonce was not consumed by the refused proof: the wallet signs again with it.
    assert (
        request_credential(client, token, Wallet().proof(services.settings.resolved_issuer, nonce)).status_code == 200
    )


def test_a_proof_carrying_a_private_key_is_invalid_proof_and_not_echoed(client, services, token):
    wallet = Wallet()
    private_jwk = ECAlgorithm.to_jwk(wallet.private, as_dict=True)
    proof = wallet.proof(services.settings.resolved_issuer, c_nonce(client), header={"jwk": private_jwk})
    response = request_credential(client, token, proof)
    assert "private key" in _refused(response, "invalid_proof")
    assert private_jwk["d"] not in response.text


def test_a_proof_of_the_wrong_type_is_invalid_proof(client, services, token):
    proof = Wallet().proof(services.settings.resolved_issuer, c_nonce(client), header={"typ": "JWT"})
    assert "typ" in _refused(request_credential(client, token, proof), "invalid_proof")


def test_a_proof_signed_by_another_key_than_its_jwk_is_invalid_proof(client, services, token):
    other = Wallet()
    proof = Wallet().proof(services.settings.resolved_issuer, c_nonce(client), header={"jwk": other.public_jwk})
    _refused(request_credential(client, token, proof), "invalid_proof")


def test_a_stale_proof_is_invalid_proof(client, services, token):
    proof = Wallet().proof(services.settings.resolved_issuer, c_nonce(client), iat=int(time.time()) - 3600)
    assert "iat" in _refused(request_credential(client, token, proof), "invalid_proof")


def test_a_proof_with_a_key_on_another_curve_is_invalid_proof(client, services, token):
    p384 = ec.generate_private_key(ec.SECP384R1())
    jwk = ECAlgorithm.to_jwk(p384.public_key(), as_dict=True)
    proof = Wallet().proof(services.settings.resolved_issuer, c_nonce(client), header={"jwk": jwk})
    assert "P-256" in _refused(request_credential(client, token, proof), "invalid_proof")


def test_a_request_without_proofs_or_for_another_configuration_is_refused(client, services, token):
    _refused(request_credential(client, token, None), "invalid_proof")
    proof = Wallet().proof(services.settings.resolved_issuer, c_nonce(client))
    response = request_credential(client, token, proof, credential_configuration_id="mdl")
    _refused(response, "unknown_credential_configuration")
    _refused(request_credential(client, token, proof, credential_identifier="x"), "unknown_credential_identifier")
    _refused(request_credential(client, token, None, proofs={"jwt": [proof, proof]}), "invalid_credential_request")
    _retry_allowed(services)


def test_a_request_without_a_valid_access_token_is_invalid_token(client, services):
    proof = Wallet().proof(services.settings.resolved_issuer, c_nonce(client))
    response = request_credential(client, "not-a-token", proof)
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.post("/credential", json={}).status_code == 401
