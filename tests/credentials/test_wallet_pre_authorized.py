"""The pre-authorized code flow (OpenID4VCI 1.0 §3.5) end to end: an officer's offer, the wallet's anonymous token
request with the transaction code, a c_nonce, a key proof and the PID as an SD-JWT VC, which the independent sd-jwt
package parses, verifies against civid's published credential keys, and presents with a Key Binding JWT. Then each
way the token request fails: wrong, missing or reused codes, an expired offer, a locked one."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
from jwcrypto.jwk import JWK
from sqlalchemy import select, update

from models import AuditEvent, CredentialStatus, WalletCredential, WalletOffer
from tests.conftest import seeded_fixtures
from tests.credentials.issuance_flow import (
    PRE_AUTHORIZED,
    Wallet,
    c_nonce,
    fresh_nonce_value,
    holder_view,
    make_offer,
    pre_authorized_code,
    present,
    redeem,
    request_credential,
    verify_presentation,
)
from tests.idp.conftest import Citizen, enrol_citizen

VERIFIER = "https://bank.example.bz"


def enrol_pid_holder(client, keys) -> Citizen:  # type: ignore[no-untyped-def]
    return enrol_citizen(client, keys, given_name="Barack", middle_names="Hussein", family_name="Obama")


seed, settings, keys, citizen = seeded_fixtures(enrol_pid_holder, "citizen")


def _token(client, keys, citizen) -> str:  # type: ignore[no-untyped-def]
    offer = make_offer(client, keys, citizen.uin)
    response = redeem(client, pre_authorized_code(offer), offer["tx_code"])
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _audit(services, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_a_wallet_receives_the_pid_and_presents_it_with_key_binding(client, services, keys, citizen):
    issuer = services.settings.resolved_issuer
    offer = make_offer(client, keys, citizen.uin)
    # The QR's link carries the offer by value; the transaction code is never in it.
    link = urlsplit(offer["offer_link"])
    assert link.scheme == "openid-credential-offer"
    carried = json.loads(parse_qs(link.query)["credential_offer"][0])
    assert carried == offer["credential_offer"] and offer["tx_code"] not in offer["offer_link"]
    assert carried["credential_issuer"] == issuer
    assert carried["credential_configuration_ids"] == ["civid_pid_sd_jwt"]
    assert carried["grants"][PRE_AUTHORIZED]["tx_code"]["input_mode"] == "numeric"
    assert carried["grants"][PRE_AUTHORIZED]["tx_code"]["length"] == 6 and len(offer["tx_code"]) == 6
    with services.sessions() as db:  # both codes stored only as hashes
        row = db.get(WalletOffer, offer["offer_id"])
        assert pre_authorized_code(offer) not in (row.code_hash, row.tx_code_hash)
    created = _audit(services, "wallet.offer_created")[-1]
    assert set(created.detail) >= {"uin", "credential_configuration_id", "expires_at"}
    assert pre_authorized_code(offer) not in json.dumps(created.detail) and offer["tx_code"] not in json.dumps(
        created.detail
    )

    token = redeem(client, pre_authorized_code(offer), offer["tx_code"])
    assert token.status_code == 200, token.text
    assert token.headers["cache-control"] == "no-store"
    body = token.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300 and "authorization_details" not in body

    wallet = Wallet()
    response = request_credential(client, body["access_token"], wallet.proof(issuer, c_nonce(client)))
    assert response.status_code == 200, response.text
    issued = response.json()["credentials"][0]["credential"]
    assert issued.endswith("~")

    header = jwt.get_unverified_header(issued.split("~")[0])
    assert header["typ"] == "dc+sd-jwt" and header["alg"] == "ES256" and header["kid"]
    holder = holder_view(issued)  # the sd-jwt package parses it: every disclosure and its digest
    payload = holder.sd_jwt_payload
    assert payload["iss"] == issuer and payload["vct"] == "urn:civid:vct:pid:1"
    assert payload["cnf"] == {"jwk": wallet.public_jwk}
    assert payload["_sd_alg"] == "sha-256" and "sub" not in payload
    assert payload["exp"] - payload["iat"] == 365 * 86400
    assert set(payload["status"]["status_list"]) == {"idx", "uri"}
    assert "given_name" not in payload and "birthdate" not in payload  # all of them behind digests
    disclosed = {d[1]: d[2] for d in (json.loads(jwt.utils.base64url_decode(e)) for e in issued.split("~")[1:-1])}
    assert disclosed["given_name"] == "Barack Hussein" and disclosed["family_name"] == "Obama"
    assert disclosed["birthdate"] == "1988-03-14" and disclosed["sex"] == 2
    assert disclosed["nationalities"] == ["BLZ"] and disclosed["personal_administrative_number"] == citizen.uin
    assert disclosed["18"] is True and "_sd" in disclosed["age_equal_or_over"]

    # A verifier sees only what the holder chose, signed by civid's credential key, bound to the wallet's key.
    nonce = fresh_nonce_value()
    presentation = present(
        issued, wallet, {"given_name": True, "age_equal_or_over": {"18": True}}, nonce=nonce, aud=VERIFIER
    )
    shown = verify_presentation(client, presentation, nonce=nonce, aud=VERIFIER)
    assert shown["given_name"] == "Barack Hussein" and shown["age_equal_or_over"] == {"18": True}
    assert "family_name" not in shown and "birthdate" not in shown and "personal_administrative_number" not in shown

    with services.sessions() as db:
        record = db.scalars(select(WalletCredential)).one()
        slot = db.get(CredentialStatus, record.status_id)
        assert record.flow == "pre-authorized_code" and record.claims == sorted(disclosed.keys() - {"18"})
        assert slot.kind == "wallet" and slot.list_index == payload["status"]["status_list"]["idx"]
    issued_event = _audit(services, "credential.issued")[-1]
    assert set(issued_event.detail) - {"request_id"} == {
        "kind", "uin", "vct", "flow", "client_id", "offer", "holder_jkt", "claims", "status_list", "status_index",
        "expires_at",
    }  # fmt: skip
    assert issued_event.detail["holder_jkt"] == JWK(**wallet.public_jwk).thumbprint()
    assert "Barack" not in json.dumps(issued_event.detail) and "1988" not in json.dumps(issued_event.detail)

    # The token fetched its one credential; it is no OpenID access token either.
    again = request_credential(client, body["access_token"], wallet.proof(issuer, c_nonce(client)))
    assert again.status_code == 401 and again.json()["error"] == "invalid_token"
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}).status_code == 401


def test_a_wrong_transaction_code_is_invalid_grant_and_locks_the_offer_after_five(client, services, keys, citizen):
    offer = make_offer(client, keys, citizen.uin)
    code = pre_authorized_code(offer)
    wrong = f"{(int(offer['tx_code']) + 1) % 1_000_000:06d}"
    for attempt in range(1, 6):
        response = redeem(client, code, wrong)
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant", response.text
        with services.sessions() as db:
            assert db.get(WalletOffer, offer["offer_id"]).failed_attempts == attempt
    locked = redeem(client, code, offer["tx_code"])  # even the right code now
    assert locked.status_code == 400 and locked.json()["error"] == "invalid_grant"
    assert "new offer" in locked.json()["error_description"]
    failures = _audit(services, "wallet.tx_code_failed")
    assert len(failures) == 5 and failures[-1].detail["locked"] is True
    assert set(failures[-1].detail) >= {"uin", "failed_attempts", "locked"}


def test_a_missing_transaction_code_is_invalid_request(client, keys, citizen):
    offer = make_offer(client, keys, citizen.uin)
    response = redeem(client, pre_authorized_code(offer), None)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_a_reused_pre_authorized_code_is_invalid_grant(client, keys, citizen):
    offer = make_offer(client, keys, citizen.uin)
    assert redeem(client, pre_authorized_code(offer), offer["tx_code"]).status_code == 200
    again = redeem(client, pre_authorized_code(offer), offer["tx_code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert "already been used" in again.json()["error_description"]


def test_an_expired_offer_is_invalid_grant(client, services, keys, citizen):
    offer = make_offer(client, keys, citizen.uin)
    with services.sessions.begin() as db:
        row = db.get(WalletOffer, offer["offer_id"])
        db.execute(
            update(WalletOffer).where(WalletOffer.id == row.id).values(expires_at=row.created_at - timedelta(seconds=1))
        )
    response = redeem(client, pre_authorized_code(offer), offer["tx_code"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert "expired" in response.json()["error_description"]


def test_an_unknown_code_is_invalid_grant_and_the_grant_is_advertised(client, services):
    response = redeem(client, "not-a-code", "123456")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    metadata = client.get("/.well-known/openid-configuration").json()
    assert PRE_AUTHORIZED in metadata["grant_types_supported"]
    assert metadata["pre-authorized_grant_anonymous_access_supported"] is True


def test_offers_are_for_officers_and_active_identities_only(client, keys, citizen):
    assert client.post(f"/v1/identities/{citizen.uin}/wallet-offers", headers=keys.auditor).status_code == 403
    assert client.post(f"/v1/identities/{citizen.uin}/wallet-offers").status_code == 401
    unknown = "4058075267" if citizen.uin != "4058075267" else "2345678903"
    assert client.post(f"/v1/identities/{unknown}/wallet-offers", headers=keys.officer).status_code in (404, 422)


def test_an_access_token_expires(client, services, keys, citizen):
    token = _token(client, keys, citizen)
    with services.sessions.begin() as db:
        db.execute(update(WalletOffer).values(access_token_expires_at=WalletOffer.created_at))
    response = request_credential(client, token, Wallet().proof(services.settings.resolved_issuer, c_nonce(client)))
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
