"""Attestation status and revocation: the status endpoint (bank or staff), the signed Token Status List a
bank polls without credentials, revocation by staff, and revocation when a person's record changes."""

from __future__ import annotations

import base64
import zlib
from datetime import timedelta

from sqlalchemy import select, update

from civid.audit import Actor
from kyc import status_list
from kyc.revocation import revoke_for_identity
from models import Attestation, AuditEvent, utcnow
from tests.conftest import enrol, seeded_fixtures
from tests.kyc.banks import (
    ATTESTATIONS,
    attest,
    citizen_tokens,
    civid_jwks,
    client_auth,
    enrol_documented_citizen,
    register_bank,
    verify_with_joserfc,
)

seed, settings, keys, citizen = seeded_fixtures(enrol_documented_citizen, "citizen")
STATUS_LIST_1 = "/v1/kyc/status-lists/1"


def _issue(client, services, citizen, bank=None):  # type: ignore[no-untyped-def]
    bank = bank or register_bank(services)
    tokens = citizen_tokens(client, services, bank, citizen)
    response = attest(client, services, bank, tokens["access_token"])
    assert response.status_code == 201, response.text
    return bank, response.json()


def _bank_status(client, services, bank, attestation_id: str):  # type: ignore[no-untyped-def]
    path = f"{ATTESTATIONS}/{attestation_id}/status"
    return client.post(path, json=client_auth(bank, services, path))


def _polled_bit(client, index: int) -> int:  # type: ignore[no-untyped-def]
    """What a bank reads: fetch the list without credentials, verify it with joserfc, read the bit."""
    response = client.get(STATUS_LIST_1)
    assert response.status_code == 200 and response.headers["content-type"] == "application/statuslist+jwt"
    header, claims = verify_with_joserfc(response.text, civid_jwks(client))
    assert header["typ"] == "statuslist+jwt"
    bits = zlib.decompress(base64.urlsafe_b64decode(claims["status_list"]["lst"] + "=="))
    return (bits[index // 8] >> (index % 8)) & 1


def test_bit_order_follows_the_drafts_example():
    # Token Status List, "Status List": statuses 1,0,0,1,1,1,0,1, 1,1,0,0,0,1,0,1 → bytes 0xB9 0xA3.
    revoked = {i for i, bit in enumerate([1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]) if bit}
    lst = status_list.encode(revoked, 16)
    assert status_list.decode(lst) == bytes([0xB9, 0xA3])
    assert [status_list.status_at(status_list.decode(lst), i) for i in range(16)] == [
        1,
        0,
        0,
        1,
        1,
        1,
        0,
        1,
        1,
        1,
        0,
        0,
        0,
        1,
        0,
        1,
    ]


def test_status_list_token_is_public_signed_and_cacheable(client, services):
    response = client.get(STATUS_LIST_1)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == f"public, max-age={services.settings.status_list_ttl_s}"
    header, claims = verify_with_joserfc(response.text, civid_jwks(client))
    issuer = services.settings.resolved_issuer
    assert header["typ"] == "statuslist+jwt"
    assert claims["iss"] == issuer and claims["sub"] == issuer + STATUS_LIST_1
    assert claims["ttl"] == services.settings.status_list_ttl_s
    assert claims["exp"] - claims["iat"] == services.settings.status_list_validity_s
    assert claims["status_list"]["bits"] == 1
    bits = status_list.decode(claims["status_list"]["lst"])
    assert len(bits) == services.settings.status_list_size // 8 and not any(bits)
    assert client.get("/v1/kyc/status-lists/2").status_code == 404


def test_revoked_attestation_shows_in_status_endpoint_and_status_list(client, services, keys, citizen):
    bank, first = _issue(client, services, citizen)
    _, second = _issue(client, services, citizen, bank)
    index = first["status"]["status_list"]["idx"]
    assert _bank_status(client, services, bank, first["id"]).json()["status"] == "valid"
    assert _polled_bit(client, index) == 0

    refused = client.post(f"{ATTESTATIONS}/{first['id']}/revoke", json={"reason": "x"}, headers=keys.adjudicator)
    assert refused.status_code == 422  # a reason is required
    for who in (keys.officer, keys.auditor):
        assert (
            client.post(
                f"{ATTESTATIONS}/{first['id']}/revoke", json={"reason": "identity fraud confirmed"}, headers=who
            ).status_code
            == 403
        )
    done = client.post(
        f"{ATTESTATIONS}/{first['id']}/revoke", json={"reason": "identity fraud confirmed"}, headers=keys.adjudicator
    )
    assert done.status_code == 200 and done.json()["status"] == "revoked" and not done.json()["already_revoked"]
    again = client.post(f"{ATTESTATIONS}/{first['id']}/revoke", json={"reason": "twice"}, headers=keys.admin)
    assert again.json()["already_revoked"] and again.json()["reason"] == "identity fraud confirmed"

    seen_by_bank = _bank_status(client, services, bank, first["id"]).json()
    assert seen_by_bank["status"] == "revoked" and seen_by_bank["reason"] == "identity fraud confirmed"
    assert seen_by_bank["revoked_at"]
    seen_by_auditor = client.get(f"{ATTESTATIONS}/{first['id']}/status", headers=keys.auditor)
    assert seen_by_auditor.status_code == 200 and seen_by_auditor.json()["status"] == "revoked"
    assert _polled_bit(client, index) == 1
    assert _polled_bit(client, second["status"]["status_list"]["idx"]) == 0
    assert _bank_status(client, services, bank, second["id"]).json()["status"] == "valid"
    with services.sessions() as db:
        [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "kyc.attestation_revoked")).all()
        assert event.subject_id == first["id"] and event.actor_role == "adjudicator" and event.person == citizen.uin


def test_status_endpoint_answers_only_the_issuing_bank_or_staff(client, services, keys, citizen):
    bank, issued = _issue(client, services, citizen)
    other = register_bank(services, name="Heritage Bank")
    assert _bank_status(client, services, other, issued["id"]).status_code == 404  # not even its existence
    assert client.get(f"{ATTESTATIONS}/{issued['id']}/status").status_code == 401
    assert client.get(f"{ATTESTATIONS}/{issued['id']}/status", headers=keys.officer).status_code == 403
    assert client.get(f"{ATTESTATIONS}/unknown/status", headers=keys.admin).status_code == 404
    assert client.post(f"{ATTESTATIONS}/{issued['id']}/status", json={}).status_code == 401


def test_expired_attestation_is_reported_expired(client, services, citizen):
    bank, issued = _issue(client, services, citizen)
    with services.sessions.begin() as db:
        db.execute(update(Attestation).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert _bank_status(client, services, bank, issued["id"]).json()["status"] == "expired"


def test_revoke_for_identity_withdraws_every_live_attestation_of_the_person(client, services, citizen):
    bank, first = _issue(client, services, citizen)
    _, second = _issue(client, services, citizen)
    with services.sessions.begin() as db:
        db.execute(
            update(Attestation)
            .where(Attestation.uid == second["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )  # expired: left as it is
        revoked = revoke_for_identity(db, citizen.identity_id, "record corrected", Actor(None, "civid", "system"))
    assert revoked == [first["id"]]
    assert _bank_status(client, services, bank, first["id"]).json()["reason"] == "record corrected"
    assert _polled_bit(client, first["status"]["status_list"]["idx"]) == 1


def test_a_duplicate_decision_leaves_the_persons_attestations_valid(client, services, keys, citizen):
    bank, issued = _issue(client, services, citizen)
    again = enrol(
        client,
        keys.officer,
        ["obama_2010_blue_room.jpg"],
        given_name="Barack",
        family_name="Obama",
        address={"line1": "1 New Road", "locality": "Belmopan", "district": "Cayo", "country": "BLZ"},
    )
    assert again.status_code in (200, 201, 202) and again.json()["status"] == "pending_adjudication", again.text
    case_id = again.json()["case_id"]
    decided = client.post(
        f"/v1/cases/{case_id}/decision",
        json={"decision": "duplicate", "comment": "same person"},
        headers=keys.adjudicator,
    )
    assert decided.status_code == 200, decided.text
    # The application is an attempt against the identity, not its new record: what was attested still holds.
    assert _bank_status(client, services, bank, issued["id"]).json()["status"] == "valid"
    assert _polled_bit(client, issued["status"]["status_list"]["idx"]) == 0


def test_a_full_list_opens_the_next_one(services):
    with services.sessions.begin() as db:
        assert status_list.current_list(db, 8) == 1
        for index in range(6):  # 6 of 8 = three quarters
            db.add(
                Attestation(
                    uid=f"a{index}",
                    client_id="c",
                    identity_id=1,
                    format="jwt",
                    claims=[],
                    trust_framework="t",
                    assurance_level="l",
                    expires_at=utcnow(),
                    status_list=1,
                    status_index=index,
                )
            )
        db.flush()
        assert status_list.current_list(db, 8) == 2
        assert status_list.draw_index(db, 1, 8) in (6, 7)
