"""A second application decided "duplicate" is an attempt against the identity, never its new record: after
"Barack Obama" (passport examined) is enrolled and someone enrols his face again as "Barry H. Soetoro" with
another address and no document, and an adjudicator correctly decides "duplicate", the portal (ID token,
UserInfo), the bank (verified_claims and its document evidence, through Authlib's relying party) and the
citizen's /account still see the first record; the attempt is audited and listed with the identity."""

from __future__ import annotations

import json
import secrets
import warnings
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from models import AuditEvent
from tests.conftest import Keys, document, enrol
from tests.idp.authlib_flow import ISSUER, sign_in_and_consent, verify_id_token
from tests.idp.conftest import REDIRECT_URI, Citizen, enrol_citizen, oidc_flow_fixtures, register_client

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import OAuth2Client

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore:.*authlib.jose.*")

ATTACKER_ADDRESS = {
    "line1": "9 Other Street",
    "locality": "Orange Walk Town",
    "district": "Orange Walk",
    "country": "BLZ",
}
CLAIMS = {
    "userinfo": {
        "verified_claims": {
            "verification": {
                "trust_framework": None,
                "assurance_level": None,
                "evidence": [{"type": {"value": "document"}, "document_details": {"document_number": None}}],
            },
            "claims": {"given_name": None, "middle_name": None, "family_name": None, "address": None},
        }
    },
    "id_token": {
        "given_name": None,
        "family_name": None,
        "verified_claims": {"verification": {"trust_framework": None}, "claims": {"given_name": None}},
    },
}


@dataclass(frozen=True)
class Attempted:
    citizen: Citizen
    keys: Keys
    case_id: str
    attempt: str  # the second enrolment's public id


def _populate(client: TestClient, keys: Keys) -> Attempted:
    citizen = enrol_citizen(
        client, keys, given_name="Barack", family_name="Obama", documents=[document(number="P01234567")]
    )
    second = enrol(
        client,
        keys.officer2,
        ["obama_2010_blue_room.jpg"],
        given_name="Barry",
        middle_names="H.",
        family_name="Soetoro",
        address=ATTACKER_ADDRESS,
    ).json()
    assert second["status"] == "pending_adjudication", second
    return Attempted(citizen, keys, second["case_id"], second["id"])


seed, services, _, browser = oidc_flow_fixtures("duplicate-attempt", _populate, ISSUER)


@pytest.fixture
def attempted(seed) -> Attempted:  # type: ignore[no-untyped-def]
    return seed[2]


def _decide_duplicate(browser: TestClient, attempted: Attempted) -> None:
    decided = browser.post(
        f"/v1/cases/{attempted.case_id}/decision",
        headers=attempted.keys.adjudicator,
        json={"decision": "duplicate", "comment": "same face; the names are not his"},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["duplicate_of_uin"] == attempted.citizen.uin


def test_a_duplicate_application_changes_nothing_portals_banks_or_the_citizen_see(browser, services, attempted):
    _decide_duplicate(browser, attempted)
    client_id, secret = register_client(services, name="Belize Bank", entitlements=["kyc"])
    rp = OAuth2Client(
        client_id,
        secret,
        scope="openid profile address",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        transport=browser._transport,
    )
    meta = rp.request("GET", ISSUER + "/.well-known/openid-configuration", withhold_token=True).json()
    nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, claims=json.dumps(CLAIMS)
    )
    callback, _ = sign_in_and_consent(browser, url, attempted.citizen.uin)
    assert "code=" in callback, callback
    token = rp.fetch_token(meta["token_endpoint"], authorization_response=callback, state=state, code_verifier=verifier)
    jwks = rp.request("GET", meta["jwks_uri"], withhold_token=True).json()
    id_token = verify_id_token(token["id_token"], jwks, client_id, nonce, token["access_token"])
    assert (id_token["given_name"], id_token["family_name"]) == ("Barack", "Obama")
    assert id_token["verified_claims"]["claims"] == {"given_name": "Barack"}

    userinfo = rp.get(meta["userinfo_endpoint"]).json()
    assert userinfo["given_name"] == "Barack" and userinfo["name"] == "Barack Obama" and "middle_name" not in userinfo
    assert userinfo["address"]["locality"] == "Belize City"
    verified = userinfo["verified_claims"]
    assert verified["claims"] == {"given_name": "Barack", "family_name": "Obama", "address": userinfo["address"]}
    assert verified["verification"]["assurance_level"] == services.settings.kyc_assurance_level_document
    [passport] = [e for e in verified["verification"]["evidence"] if e["type"] == "document"]
    assert passport["document_details"]["document_number"] == "P01234567"
    assert "Barry" not in json.dumps([id_token, userinfo]) and "Soetoro" not in json.dumps([id_token, userinfo])

    account = browser.get("/account")
    assert account.status_code == 200 and "Barack Obama" in account.text and "Barry" not in account.text


def test_the_attempt_is_audited_and_listed_with_the_identity(browser, services, attempted):
    _decide_duplicate(browser, attempted)
    with services.sessions() as db:
        [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "identity.duplicate_attempt")).all()
    assert event.subject_type == "identity" and event.subject_id == attempted.citizen.uin
    assert event.detail["case"] == attempted.case_id and event.detail["enrolment"] == attempted.attempt
    assert event.detail["record_unchanged"] is True and event.person == attempted.citizen.uin

    shown = browser.get(f"/v1/identities/{attempted.citizen.uin}", headers=attempted.keys.adjudicator).json()
    assert shown["given_name"] == "Barack" and shown["family_name"] == "Obama"
    assert shown["duplicate_attempts"] == [attempted.attempt] and shown["record"] != attempted.attempt
    assert shown["record"] in shown["enrolments"]
