"""Updating an identity's record with evidence, through the API, on SQLite and PostgreSQL: address, phone and
email applied at once and seen by a portal's next userinfo; names, birth date and sex waiting for a second
adjudicator (the proposer can't approve); rejection; every version listed with who and when; attestations
stating a changed claim revoked (status list bit), others kept; bad input a problem with nothing stored; two
concurrent proposals: one 409."""

from __future__ import annotations

import base64
import threading
import zlib
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from civid.audit import SYSTEM
from civid.auth import create_api_key
from models import Attestation, AuditEvent, Enrolment, Identity, IdentityRecordVersion, Notification
from tests.conftest import assert_problem, make_settings
from tests.enrollment.records import issued_citizen, propose
from tests.idp.conftest import issue_code, redeem, register_client
from tests.kyc.banks import civid_jwks, held_attestation, verify_with_joserfc
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture

# A mail server configured (never reached: nothing is delivered here), so that the outbox queues email.
_MAIL = {"smtp_host": "127.0.0.1", "smtp_port": 2525}


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path: Path):
    if request.param == "postgresql":
        return make_settings(tmp_path, database_url=request.getfixturevalue("postgres_schema_url"), **_MAIL)
    return make_settings(tmp_path, **_MAIL)


def record_of(services, identity_id: int) -> Enrolment:
    with services.sessions() as db:
        row = db.scalars(select(Enrolment).where(Enrolment.identity_id == identity_id)).one()
        db.expunge(row)
        return row


@pytest.fixture
def adjudicator2(services) -> dict[str, str]:
    with services.sessions.begin() as db:
        _, secret = create_api_key(db, "second adjudicator", "adjudicator", SYSTEM)
    return {"Authorization": f"Bearer {secret}"}


def test_address_applies_at_once_and_the_portals_next_userinfo_says_it(client, keys, services):
    citizen = issued_citizen(services)
    portal_id, secret = register_client(services)
    assert secret is not None
    tokens = redeem(client, portal_id, secret, issue_code(services, portal_id, citizen, scope="openid email")).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/userinfo", headers=bearer).json()["email"] == "ana@example.org"

    new_address = {"line1": "4 Regent Street", "locality": "Belmopan", "country": "BLZ"}
    done = propose(client, keys.officer, citizen.uin, {"email": "ana.perez@example.org", "address": new_address})
    assert done.status_code == 201, done.text
    body = done.json()
    assert body["status"] == "applied" and body["version"] == 2 and body["fields"] == ["address", "email"]
    assert body["evidence"]["number"] == "••••0042"
    assert client.get("/userinfo", headers=bearer).json()["email"] == "ana.perez@example.org"
    assert record_of(services, citizen.identity_id).address["locality"] == "Belmopan"
    with services.sessions() as db:
        queued = db.scalars(select(Notification)).all()
    # The person is told, at the address now on the record.
    assert [(n.kind, n.address) for n in queued] == [("identity_updated", "ana.perez@example.org")]


def test_a_name_change_waits_for_a_second_adjudicator_and_revokes_what_stated_the_name(
    client, keys, services, adjudicator2
):
    citizen = issued_citizen(services)
    with services.sessions.begin() as db:
        named = held_attestation(citizen.identity_id, "att-name")
        named.claims = ["verified_claims:family_name", "verified_claims:birthdate"]
        phoned = held_attestation(citizen.identity_id, "att-other")
        phoned.claims, phoned.status_index = ["verified_claims:nationalities"], 6
        db.add_all([named, phoned])

    pending = propose(client, keys.adjudicator, citizen.uin, {"family_name": "Pérez Gómez"}, reason="marriage")
    assert pending.status_code == 201, pending.text
    assert pending.json()["status"] == "pending" and pending.json()["version"] == 2
    assert record_of(services, citizen.identity_id).family_name == "Pérez"  # not yet
    again = assert_problem(propose(client, keys.officer, citizen.uin, {"phone": "+5016109999"}), 409)
    assert "awaits approval" in again["detail"]

    url = f"/v1/identities/{citizen.uin}/record-updates/2"
    own = assert_problem(client.post(f"{url}/approve", headers=keys.adjudicator), 403)
    assert "four eyes" in own["detail"]
    assert_problem(client.post(f"{url}/approve", headers=keys.officer), 403)  # not an approver role
    approved = client.post(f"{url}/approve", headers=adjudicator2)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "applied" and approved.json()["decided_by"] == "second adjudicator"
    assert record_of(services, citizen.identity_id).family_name == "Pérez Gómez"
    assert_problem(client.post(f"{url}/approve", headers=adjudicator2), 409)  # no longer pending

    with services.sessions() as db:
        by_uid = {a.uid: a for a in db.scalars(select(Attestation))}
        assert by_uid["att-name"].revoked_at is not None
        assert by_uid["att-name"].revoked_reason == "record updated: family_name"
        assert by_uid["att-other"].revoked_at is None
    # What a bank polling the signed status list reads: the name attestation's bit set, the other's not.
    polled = client.get("/v1/kyc/status-lists/1")
    assert polled.status_code == 200, polled.text
    _, claims = verify_with_joserfc(polled.text, civid_jwks(client))
    bits = zlib.decompress(base64.urlsafe_b64decode(claims["status_list"]["lst"] + "=="))
    assert [(bits[i // 8] >> (i % 8)) & 1 for i in (5, 6)] == [1, 0]

    history = client.get(f"/v1/identities/{citizen.uin}/record-versions", headers=keys.auditor)
    assert history.status_code == 200, history.text
    versions = history.json()["versions"]
    assert [(v["version"], v["status"], v["record"]["family_name"]) for v in versions] == [
        (1, "applied", "Pérez"),
        (2, "applied", "Pérez Gómez"),
    ]
    assert versions[1]["created_by"] == "test adjudicator" and versions[1]["decided_at"]
    with services.sessions() as db:
        actions = db.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == citizen.uin)).all()
        details = str(db.scalars(select(AuditEvent.detail).where(AuditEvent.subject_id == citizen.uin)).all())
    assert {"identity.record_update_proposed", "identity.record_update_approved", "identity.record_updated"} <= set(
        actions
    )
    assert "Gómez" not in details and "MC-2026-0042" not in details  # values and numbers stay out of the trail


def test_a_rejected_change_leaves_the_record_and_is_kept(client, keys, services):
    citizen = issued_citizen(services)
    assert propose(client, keys.officer, citizen.uin, {"date_of_birth": "1991-04-21"}).status_code == 201
    rejected = client.post(
        f"/v1/identities/{citizen.uin}/record-updates/2/reject",
        json={"note": "certificate unreadable"},
        headers=keys.adjudicator,
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected" and rejected.json()["decision_note"] == "certificate unreadable"
    assert record_of(services, citizen.identity_id).date_of_birth == date(1990, 4, 21)
    # A new proposal is allowed once nothing is pending, and takes the next number.
    assert propose(client, keys.officer, citizen.uin, {"sex": "X"}).json()["version"] == 3


def test_bad_input_is_a_problem_and_stores_nothing(client, keys, services):
    citizen = issued_citizen(services)
    uin = citizen.uin
    assert_problem(propose(client, keys.officer, uin, {"nationality": "USA"}), 422)  # not updatable
    assert_problem(propose(client, keys.officer, uin, {"phone": "+5016101234"}), 422)  # no change
    assert_problem(propose(client, keys.officer, uin, {}), 422)
    assert_problem(propose(client, keys.officer, uin, {"phone": "12"}), 422)
    assert_problem(propose(client, keys.officer, uin, {"given_name": None}), 422)  # a required field cleared
    assert_problem(propose(client, keys.officer, uin, {"given_name": "R2D2"}), 422)
    assert_problem(propose(client, keys.officer, uin, {"date_of_birth": "2999-01-01"}), 422)
    assert_problem(propose(client, keys.officer, uin, {"phone": "+5016109999"}, evidence=None), 422)
    assert_problem(propose(client, keys.officer, uin, {"phone": "+5016109999"}, evidence={"type": "selfie"}), 422)
    assert_problem(propose(client, keys.auditor, uin, {"phone": "+5016109999"}), 403)
    assert_problem(propose(client, keys.officer, "4058075260", {"phone": "+5016109999"}), 422)  # check digit
    assert_problem(client.post(f"/v1/identities/{uin}/record-updates/9/approve", headers=keys.adjudicator), 404)
    assert_problem(client.post(f"/v1/identities/{uin}/record-updates/1/reject", headers=keys.adjudicator), 404)
    with services.sessions.begin() as db:
        assert db.scalars(select(IdentityRecordVersion)).all() == []
        db.get(Identity, citizen.identity_id).status = "suspended"
    assert_problem(propose(client, keys.officer, uin, {"phone": "+5016109999"}), 409)
    with services.sessions() as db:
        assert db.scalars(select(IdentityRecordVersion)).all() == []
    assert record_of(services, citizen.identity_id).phone == "+5016101234"


def test_two_concurrent_proposals_one_wins(client, keys, services):
    citizen = issued_citizen(services)
    barrier = threading.Barrier(2)
    results: list[int] = []

    def go(name: str) -> None:
        barrier.wait()
        results.append(propose(client, keys.officer, citizen.uin, {"given_name": name}).status_code)

    threads = [threading.Thread(target=go, args=(n,)) for n in ("Anabel", "Anita")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201, 409], results
    with services.sessions() as db:
        rows = db.scalars(select(IdentityRecordVersion).order_by(IdentityRecordVersion.version)).all()
    assert [(r.version, r.status) for r in rows] == [(1, "applied"), (2, "pending")]
