"""Suspending, deactivating and reactivating an identity through the API, on SQLite and PostgreSQL: each
transition kept in the history and audited; refused ones (wrong role, unknown reason, twice) a problem; a
suspended person's sessions, tokens and attestations end at once, with a back-channel logout delivered to a
real receiver; two adjudicators deciding at once: exactly one wins."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from civid.audit import SYSTEM
from civid.auth import create_api_key
from civid.uin import verhoeff_check_digit
from models import AccessToken, Attestation, AuditEvent, Grant, Identity, IdentityStatusChange, LoginSession
from tests.conftest import assert_problem, enrol, make_settings
from tests.idp.conftest import basic, enrol_citizen, issue_code, redeem, register_client
from tests.idp.logout_receiver import LogoutReceiver
from tests.kyc.banks import held_attestation
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path: Path):
    if request.param == "postgresql":
        return make_settings(tmp_path, database_url=request.getfixturevalue("postgres_schema_url"))
    return make_settings(tmp_path)


def bare_identity(services, digits: str = "405807526") -> Identity:
    """An identity row as an issued enrolment leaves it (the status API needs nothing else)."""
    uin = digits + verhoeff_check_digit(digits)
    with services.sessions.begin() as db:
        identity = Identity(uin=uin, status="active")
        db.add(identity)
        db.flush()
        db.expunge(identity)
    return identity


def post(client, headers, uin: str, action: str, reason: str, evidence: str = "HC-2026-0042", **extra: Any):
    body = {"reason": reason, "evidence_reference": evidence, **extra}
    return client.post(f"/v1/identities/{uin}/{action}", json=body, headers=headers)


def status_of(services, identity_id: int) -> str:
    with services.sessions() as db:
        return db.get(Identity, identity_id).status


def test_each_transition_is_kept_dated_attributed_and_audited(client, keys, services):
    identity = bare_identity(services)
    suspended = post(client, keys.adjudicator, identity.uin, "suspend", "court_order", note="order of 2 Dec")
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["from_status"] == "active" and suspended.json()["to_status"] == "suspended"
    assert status_of(services, identity.id) == "suspended"
    back = post(client, keys.adjudicator, identity.uin, "reactivate", "court_order_lifted", "HC-2026-0042/L")
    assert back.status_code == 200, back.text
    assert back.json()["transition"] == "reactivated" and status_of(services, identity.id) == "active"
    dead = post(client, keys.adjudicator, identity.uin, "deactivate", "death", "VSU-D-2026-118")
    assert dead.status_code == 200, dead.text
    assert status_of(services, identity.id) == "deactivated"

    read = client.get(f"/v1/identities/{identity.uin}/status", headers=keys.officer)
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["status"] == "deactivated"
    assert [(h["transition"], h["reason"], h["evidence_reference"]) for h in body["history"]] == [
        ("suspended", "court_order", "HC-2026-0042"),
        ("reactivated", "court_order_lifted", "HC-2026-0042/L"),
        ("deactivated", "death", "VSU-D-2026-118"),
    ]
    assert {h["actor"] for h in body["history"]} == {"test adjudicator"}
    assert body["history"][0]["note"] == "order of 2 Dec"
    with services.sessions() as db:
        actions = db.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_id == identity.uin).order_by(AuditEvent.id)
        ).all()
        details = db.scalars(select(AuditEvent.detail).where(AuditEvent.action == "identity.deactivated")).all()
    assert [a for a in actions if a.startswith("identity.") and a != "identity.status_viewed"] == [
        "identity.suspended",
        "identity.reactivated",
        "identity.deactivated",
    ]
    # The evidence reference stays in the history table, out of the audit trail.
    assert "VSU-D-2026-118" not in str(details)


def test_refused_transitions_are_problems_and_change_nothing(client, keys, services):
    identity = bare_identity(services)
    officer = post(client, keys.officer, identity.uin, "suspend", "fraud_investigation")
    assert assert_problem(officer, 403)["detail"].startswith("role 'officer' may not suspend")
    assert_problem(post(client, keys.admin, identity.uin, "deactivate", "death"), 403)
    unknown = assert_problem(post(client, keys.adjudicator, identity.uin, "suspend", "looks_suspicious"), 422)
    assert "fraud_investigation" in unknown["detail"]
    assert_problem(post(client, keys.adjudicator, identity.uin, "suspend", "court_order", evidence=" "), 422)
    assert_problem(post(client, keys.adjudicator, identity.uin, "reactivate", "investigation_closed"), 409)
    assert_problem(post(client, keys.adjudicator, "4058075260", "suspend", "court_order"), 422)  # bad check digit
    assert_problem(post(client, keys.adjudicator, identity.uin, "retire", "court_order"), 404)  # no such action
    assert_problem(client.post(f"/v1/identities/{identity.uin}/suspend", json={"reason": "court_order"}), 401)
    assert status_of(services, identity.id) == "active"

    assert post(client, keys.adjudicator, identity.uin, "deactivate", "duplicate", "case c-1").status_code == 200
    twice = assert_problem(post(client, keys.adjudicator, identity.uin, "deactivate", "death"), 409)
    assert "deactivated" in twice["detail"]
    # A deactivation is undone only as an error corrected, never by "investigation closed".
    assert_problem(post(client, keys.adjudicator, identity.uin, "reactivate", "investigation_closed"), 409)
    assert_problem(post(client, keys.adjudicator, identity.uin, "suspend", "court_order"), 409)
    with services.sessions() as db:
        assert len(db.scalars(select(IdentityStatusChange)).all()) == 1


@pytest.fixture
def receiver(services, monkeypatch):
    monkeypatch.setattr(services.settings, "outbound_allow_private", True)  # loopback receiver (SSRF rule)
    server = LogoutReceiver()
    yield server
    server.stop()


def test_a_suspended_person_is_signed_out_everywhere_and_cannot_sign_in_or_be_released(
    client, keys, services, receiver
):
    citizen = enrol_citizen(client, keys, given_name="Barack", family_name="Obama")
    portal_id, secret = register_client(services, backchannel_logout_uri=receiver.url)
    assert secret is not None
    tokens = redeem(client, portal_id, secret, issue_code(services, portal_id, citizen)).json()
    assert "access_token" in tokens, tokens
    unused = issue_code(services, portal_id, citizen)  # a code from another login, not yet redeemed
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/userinfo", headers=bearer).status_code == 200
    with services.sessions.begin() as db:
        db.add(held_attestation(citizen.identity_id))

    done = post(client, keys.adjudicator, citizen.uin, "suspend", "fraud_investigation", "FIU-2026-7")
    assert done.status_code == 200, done.text

    with services.sessions() as db:
        assert all(s.ended_at is not None for s in db.scalars(select(LoginSession)))
        grants = db.scalars(select(Grant).where(Grant.identity_id == citizen.identity_id)).all()
        assert grants and all(g.revoked_reason == "identity_suspended" for g in grants)
        assert all(t.revoked_at is not None for t in db.scalars(select(AccessToken)))
        attestation = db.scalars(select(Attestation)).one()
        assert attestation.revoked_reason == "identity suspended: fraud_investigation"
    assert client.get("/userinfo", headers=bearer).status_code == 401
    refused = redeem(client, portal_id, secret, unused)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    refresh = client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens.get("refresh_token", "none")},
        headers=basic(portal_id, secret),
    )
    assert refresh.status_code == 400
    [logout] = receiver.wait_for(1)
    assert logout.logout_token.count(".") == 2


def test_two_adjudicators_suspending_at_once_make_one_change(client, keys, services):
    identity = bare_identity(services)
    with services.sessions.begin() as db:
        _, second = create_api_key(db, "second adjudicator", "adjudicator", SYSTEM)
    headers = [keys.adjudicator, {"Authorization": f"Bearer {second}"}]
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def attempt(h: dict[str, str]) -> None:
        barrier.wait()
        answers.append(post(client, h, identity.uin, "deactivate", "death", "VSU-D-1").status_code)

    threads = [threading.Thread(target=attempt, args=(h,)) for h in headers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200, 409]
    with services.sessions() as db:
        assert len(db.scalars(select(IdentityStatusChange)).all()) == 1


def test_a_new_enrolment_of_a_deceased_person_goes_to_a_case_showing_the_status(client, keys, services):
    deceased = enrol_citizen(client, keys, given_name="Barack", family_name="Obama")
    assert post(client, keys.adjudicator, deceased.uin, "deactivate", "death", "VSU-D-2026-9").status_code == 200
    # Someone presents the deceased person's face again: the templates are still in the gallery.
    again = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], given_name="Barry", family_name="Soetoro")
    assert again.status_code in (200, 201, 202), again.text
    body = again.json()
    assert body["uin"] is None and body["status"] == "pending_adjudication", body
    [candidate] = [c for c in body["candidates"] if c["uin"] == deceased.uin]
    assert candidate["identity_status"] == "deactivated"
    case = client.get(f"/v1/cases/{body['case_id']}", headers=keys.adjudicator).json()
    assert [c["identity_status"] for c in case["candidates"]] == ["deactivated"]
