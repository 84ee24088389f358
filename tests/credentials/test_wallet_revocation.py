"""A wallet credential's status (Token Status List): its bit is set in the signed list when the identity is
deactivated, and an update of a field the PID does not state (the address) leaves it valid."""

from __future__ import annotations

import jwt
from sqlalchemy import select

from civid.token_status_list import decode, status_at
from models import AuditEvent
from tests.credentials.issuance_flow import (
    Wallet,
    c_nonce,
    holder_view,
    make_offer,
    pre_authorized_code,
    redeem,
    request_credential,
)
from tests.enrollment.records import issued_citizen, propose


def _issue(client, services, keys, uin: str) -> dict:  # type: ignore[no-untyped-def]
    offer = make_offer(client, keys, uin)
    token = redeem(client, pre_authorized_code(offer), offer["tx_code"]).json()["access_token"]
    response = request_credential(client, token, Wallet().proof(services.settings.resolved_issuer, c_nonce(client)))
    assert response.status_code == 200, response.text
    return holder_view(response.json()["credentials"][0]["credential"]).sd_jwt_payload


def _bit(client, payload: dict) -> int:  # type: ignore[no-untyped-def]
    """The credential's bit as a verifier reads it: the list at status.uri, signed by a credential key."""
    reference = payload["status"]["status_list"]
    token = client.get(reference["uri"].removeprefix(str(client.base_url))).text
    header = jwt.get_unverified_header(token)
    jwk = next(k for k in client.get("/v1/credentials/jwks.json").json()["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["ES256"])
    assert claims["sub"] == reference["uri"]
    return status_at(decode(claims["status_list"]["lst"]), reference["idx"])


def test_deactivating_the_identity_sets_the_wallet_credentials_bit(client, services, keys):
    citizen = issued_citizen(services)
    payload = _issue(client, services, keys, citizen.uin)
    assert _bit(client, payload) == 0
    body = {"reason": "death", "evidence_reference": "VSU-D-2026-118"}
    response = client.post(f"/v1/identities/{citizen.uin}/deactivate", json=body, headers=keys.adjudicator)
    assert response.status_code == 200, response.text
    assert _bit(client, payload) == 1
    with services.sessions() as db:
        revoked = db.scalars(select(AuditEvent).where(AuditEvent.action == "credential.revoked")).one()
    assert (
        revoked.detail["kind"] == "wallet" and revoked.detail["status_index"] == payload["status"]["status_list"]["idx"]
    )
    # And no new credential for a deactivated identity.
    refused = client.post(f"/v1/identities/{citizen.uin}/wallet-offers", headers=keys.officer)
    assert refused.status_code == 409


def test_an_address_change_leaves_the_pid_valid(client, services, keys):
    citizen = issued_citizen(services)
    payload = _issue(client, services, keys, citizen.uin)
    new_address = {"line1": "4 Regent Street", "locality": "Belmopan", "country": "BLZ"}
    assert propose(client, keys.officer, citizen.uin, {"address": new_address}).status_code == 201
    assert _bit(client, payload) == 0
