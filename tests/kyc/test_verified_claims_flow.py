"""A bank asks for verified claims through the real OpenID Connect flow, driven by an independent client
library (Authlib), configured from discovery: the claims parameter with OIDC4IDA filters, the consent page
naming the verified data and the bank's purpose, the ID token (verified with Authlib's JOSE) and UserInfo
answers, the release records, and what happens to a portal without the ``kyc`` entitlement, to a filter
civid cannot meet, and after the citizen withdraws consent."""

from __future__ import annotations

import html
import json
import secrets
import warnings
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from models import Consent, DataRelease, Enrolment
from server.services import Services
from tests.conftest import document
from tests.idp.authlib_flow import ISSUER, page_input, sign_in_and_consent, verify_id_token
from tests.idp.conftest import REDIRECT_URI, enrol_citizen, oidc_flow_fixtures, pkce_pair, register_client
from tests.kyc.banks import Bank, attest, client_auth, register_bank, verified_request

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import OAuth2Client

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore:.*authlib.jose.*")

PURPOSE = "To open your savings account (anti-money-laundering law)"
# The bank's claims parameter: at UserInfo, names and birthdate verified under civid's framework within the
# last day, with the documents' type and number and the check methods; in the ID token, the given name only.
CLAIMS = {
    "userinfo": {
        "verified_claims": {
            "verification": {
                "trust_framework": {"value": "bz_nid"},
                "time": {"max_age": 86400},
                "evidence": [
                    {
                        "type": {"value": "document"},
                        "check_details": [{"check_method": None}],
                        "document_details": {"type": None, "document_number": None},
                    }
                ],
            },
            "claims": {"given_name": None, "family_name": {"essential": True, "purpose": PURPOSE}, "birthdate": None},
        }
    },
    "id_token": {"verified_claims": {"verification": {"trust_framework": None}, "claims": {"given_name": None}}},
}


seed, services, citizen, browser = oidc_flow_fixtures(
    "verified-flow",
    lambda client, keys: enrol_citizen(
        client, keys, given_name="Barack", family_name="Obama", documents=[document(number="P01234567")]
    ),
    ISSUER,
)


def _flow(browser: TestClient, client_id: str, secret: str, uin: str, claims: dict, scope: str = "openid"):
    """Authlib's relying party through the whole flow; returns (rp, metadata, token, id_token claims, consent page)."""
    rp = OAuth2Client(
        client_id,
        secret,
        scope=scope,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        transport=browser._transport,
    )
    meta = rp.request("GET", ISSUER + "/.well-known/openid-configuration", withhold_token=True).json()
    nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, claims=json.dumps(claims)
    )
    callback, consent_page = sign_in_and_consent(browser, url, uin)
    token = rp.fetch_token(meta["token_endpoint"], authorization_response=callback, state=state, code_verifier=verifier)
    jwks = rp.request("GET", meta["jwks_uri"], withhold_token=True).json()
    id_token = verify_id_token(token["id_token"], jwks, client_id, nonce, token["access_token"])
    return rp, meta, token, id_token, consent_page


def _releases(services: Services, client_id: str) -> list[DataRelease]:
    with services.sessions() as db:
        return list(db.scalars(select(DataRelease).where(DataRelease.client_id == client_id).order_by(DataRelease.id)))


def test_a_bank_gets_exactly_the_verified_claims_it_asked_for(browser, services, citizen):
    client_id, secret = register_client(services, name="Belize Bank", entitlements=["kyc"])
    rp, meta, token, id_token, consent_page = _flow(browser, client_id, secret, citizen.uin, CLAIMS)
    assert meta["verified_claims_supported"] is True and meta["trust_frameworks_supported"] == ["bz_nid"]
    assert "document" in meta["evidence_supported"] and "given_name" in meta["claims_in_verified_claims_supported"]

    assert 'id="consent-verified"' in consent_page and PURPOSE in html.unescape(consent_page)
    for words in ("Your given name", "Your family name", "Your date of birth", "How your identity was verified"):
        assert words in consent_page

    assert id_token["verified_claims"] == {
        "verification": {"trust_framework": "bz_nid"},
        "claims": {"given_name": "Barack"},
    }
    assert "family_name" not in id_token  # nothing plain was asked for

    userinfo = rp.get(meta["userinfo_endpoint"]).json()
    with services.sessions() as db:
        enrolment = db.scalars(select(Enrolment).where(Enrolment.identity_id == citizen.identity_id)).one()
        consent = db.scalars(select(Consent).where(Consent.client_id == client_id)).one()
    assert set(userinfo) == {"sub", "verified_claims"}  # data minimisation: scope openid, verified claims only
    assert userinfo["verified_claims"] == {
        "verification": {
            "trust_framework": "bz_nid",
            "time": userinfo["verified_claims"]["verification"]["time"],
            "evidence": [
                {
                    "type": "document",
                    "check_details": [{"check_method": "vpip"}, {"check_method": "pvp"}],
                    "document_details": {"type": "passport", "document_number": "P01234567"},
                }
            ],
        },
        "claims": {"given_name": "Barack", "family_name": "Obama", "birthdate": "1988-03-14"},
    }
    assert userinfo["verified_claims"]["verification"]["time"][:10] == enrolment.decided_at.date().isoformat()

    assert consent.purpose == PURPOSE
    assert {
        "verified_claims:given_name",
        "verified_claims:family_name",
        "verified_claims:birthdate",
        "verified_claims:evidence",
    } <= set(consent.claims)
    releases = _releases(services, client_id)
    assert [(r.channel, r.claims, r.verified, r.consent_uids) for r in releases] == [
        ("id_token", ["verified_claims:given_name"], True, [consent.uid]),
        (
            "userinfo",
            [
                "verified_claims:birthdate",
                "verified_claims:evidence",
                "verified_claims:family_name",
                "verified_claims:given_name",
            ],
            True,
            [consent.uid],
        ),
    ]


def test_a_filter_civid_cannot_meet_omits_verified_claims_but_not_the_rest(browser, services, citizen):
    client_id, secret = register_client(services, name="Euro Bank", entitlements=["kyc"])
    claims = {
        "userinfo": {
            "verified_claims": {
                "verification": {"trust_framework": {"value": "eidas_ial_high"}},
                "claims": {"given_name": None},
            }
        }
    }
    rp, meta, token, id_token, _ = _flow(browser, client_id, secret, citizen.uin, claims, scope="openid profile")
    userinfo = rp.get(meta["userinfo_endpoint"]).json()
    assert "verified_claims" not in userinfo and userinfo["given_name"] == "Barack"  # plain profile still released
    assert [(r.channel, r.verified) for r in _releases(services, client_id)] == [("userinfo", False)]


def test_a_portal_without_the_kyc_entitlement_never_receives_verified_claims(browser, services, citizen):
    client_id, secret = register_client(services, name="Health portal")
    rp, meta, token, id_token, consent_page = _flow(
        browser, client_id, secret, citizen.uin, CLAIMS, scope="openid profile"
    )
    assert 'id="consent-verified"' not in consent_page and PURPOSE not in html.unescape(consent_page)
    assert "verified_claims" not in id_token
    userinfo = rp.get(meta["userinfo_endpoint"]).json()
    assert "verified_claims" not in userinfo and userinfo["family_name"] == "Obama"
    with services.sessions() as db:
        consent = db.scalars(select(Consent).where(Consent.client_id == client_id)).one()
    assert not any(name.startswith("verified_claims:") for name in consent.claims) and consent.purpose is None
    assert all(not r.verified for r in _releases(services, client_id))


def test_after_the_citizen_withdraws_consent_nothing_more_is_released(browser, services, citizen):
    client_id, secret = register_client(services, name="Belize Bank", entitlements=["kyc"])
    rp, meta, token, _, consent_page = _flow(browser, client_id, secret, citizen.uin, CLAIMS)
    assert rp.get(meta["userinfo_endpoint"]).json()["verified_claims"]
    with services.sessions() as db:
        consent_uid = db.scalars(select(Consent.uid).where(Consent.client_id == client_id)).one()
    withdrawn = browser.post(
        f"/account/consents/{consent_uid}/revoke",
        data={"csrf_token": page_input(consent_page, "csrf_token")},
        follow_redirects=False,
    )
    assert withdrawn.status_code == 303, withdrawn.text[:500]
    before = len(_releases(services, client_id))

    after = rp.get(meta["userinfo_endpoint"])
    assert after.status_code == 401 and "verified_claims" not in after.text and "Obama" not in after.text
    refreshed = rp.post(
        meta["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(client_id, secret),
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert len(_releases(services, client_id)) == before


def test_a_malformed_verified_claims_request_is_refused_at_the_authorization_endpoint(browser, services):
    client_id, secret = register_client(services, name="Belize Bank", entitlements=["kyc"])
    rp = OAuth2Client(
        client_id,
        secret,
        scope="openid",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        transport=browser._transport,
    )
    bad = {
        "userinfo": {
            "verified_claims": {
                "verification": {"trust_framework": None, "evidence": [{"type": {"values": ["document"]}}]},
                "claims": {"given_name": None},
            }
        }
    }
    url, state = rp.create_authorization_url(
        ISSUER + "/authorize", code_verifier=secrets.token_urlsafe(48), nonce="n", claims=json.dumps(bad)
    )
    response = browser.get(url, follow_redirects=False)
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["invalid_request"] and query["state"] == [state]
    assert "evidence[0].type" in query["error_description"][0]


def test_the_purpose_parameter_is_shown_escaped_stored_and_a_new_purpose_asks_again(browser, services, citizen):
    client_id, secret = register_client(services, name="Belize Bank", entitlements=["kyc"])
    stated = "Open an account <b>today</b> & comply with the AML law"
    claims = {
        "userinfo": {
            "verified_claims": {
                "verification": {"trust_framework": None},
                "claims": {"given_name": {"purpose": "Your name on the account"}},
            }
        }
    }
    rp = OAuth2Client(
        client_id,
        secret,
        scope="openid",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        transport=browser._transport,
    )
    url, _ = rp.create_authorization_url(
        ISSUER + "/authorize",
        code_verifier=secrets.token_urlsafe(48),
        nonce="n",
        claims=json.dumps(claims),
        purpose=stated,
    )
    _, page = sign_in_and_consent(browser, url, citizen.uin)
    assert "Open an account &lt;b&gt;today&lt;/b&gt; &amp; comply with the AML law" in page  # escaped, not trimmed
    assert "Your name on the account" in page
    with services.sessions() as db:
        consent = db.scalars(select(Consent).where(Consent.client_id == client_id, Consent.revoked_at.is_(None))).one()
    assert consent.purpose == f"{stated} · Your name on the account"

    # Same claims, same purpose: remembered. Another purpose: the citizen is asked again.
    url, _ = rp.create_authorization_url(
        ISSUER + "/authorize",
        code_verifier=secrets.token_urlsafe(48),
        nonce="n",
        claims=json.dumps(claims),
        purpose=stated,
    )
    assert sign_in_and_consent(browser, url, citizen.uin)[1] is None
    url, _ = rp.create_authorization_url(
        ISSUER + "/authorize",
        code_verifier=secrets.token_urlsafe(48),
        nonce="n",
        claims=json.dumps(claims),
        purpose="Sell your data to advertisers",
    )
    assert "Sell your data to advertisers" in sign_in_and_consent(browser, url, citizen.uin)[1]

    url, state = rp.create_authorization_url(
        ISSUER + "/authorize", code_verifier=secrets.token_urlsafe(48), nonce="n", purpose="no"
    )
    query = parse_qs(urlsplit(browser.get(url, follow_redirects=False).headers["location"]).query)
    assert query["error"] == ["invalid_request"] and "purpose" in query["error_description"][0]


def _bank_signs_in(browser: TestClient, services: Services, bank: Bank, uin: str, claims: list[str]):
    """The bank (private_key_jwt) asks for ``claims`` as verified claims through /authorize, the citizen signs in
    and approves on the real pages; returns (token response, consent page or None)."""
    verifier, challenge = pkce_pair()
    asked = {"userinfo": {"verified_claims": verified_request(claims)}}
    url = (
        ISSUER
        + "/authorize?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": bank.client_id,
                "redirect_uri": REDIRECT_URI,
                "scope": "openid",
                "state": secrets.token_urlsafe(8),
                "nonce": secrets.token_urlsafe(8),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "claims": json.dumps(asked),
            }
        )
    )
    callback, consent_page = sign_in_and_consent(browser, url, uin)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    token = browser.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            **client_auth(bank, services),
        },
    )
    assert token.status_code == 200, token.text
    return token.json(), consent_page


def test_a_second_consent_adds_to_the_first_until_the_citizen_withdraws_it(browser, services, citizen):
    bank = register_bank(services)
    first, page = _bank_signs_in(browser, services, bank, citizen.uin, ["given_name", "family_name"])
    assert "Your given name" in page and "Your date of birth" not in page
    second, page = _bank_signs_in(browser, services, bank, citizen.uin, ["birthdate"])
    assert page is not None and "Your date of birth" in page  # asked only for what is new

    # What was consented first is still consented: the bank attests it with the newer token, and both at once.
    names = attest(
        browser,
        services,
        bank,
        second["access_token"],
        verified_claims=verified_request(["given_name", "family_name", "birthdate"]),
    )
    assert names.status_code == 201, names.text
    # Asking again for what was consented earlier needs no new consent.
    _, page = _bank_signs_in(browser, services, bank, citizen.uin, ["given_name", "birthdate"])
    assert page is None

    # Withdrawn on /account, all of it goes: no attestation with the live token, and /authorize asks again.
    account = browser.get("/account")
    with services.sessions() as db:
        uid = db.scalars(
            select(Consent.uid).where(Consent.client_id == bank.client_id).order_by(Consent.id.desc())
        ).first()
    withdrawn = browser.post(
        f"/account/consents/{uid}/revoke",
        data={"csrf_token": page_input(account.text, "csrf_token")},
        follow_redirects=False,
    )
    assert withdrawn.status_code == 303
    refused = attest(browser, services, bank, second["access_token"], verified_claims=verified_request(["given_name"]))
    assert refused.status_code == 401
    with services.sessions() as db:
        assert (
            db.scalars(select(Consent).where(Consent.client_id == bank.client_id, Consent.revoked_at.is_(None))).all()
            == []
        )
    _, page = _bank_signs_in(browser, services, bank, citizen.uin, ["given_name"])
    assert page is not None and "Your given name" in page


def test_the_account_page_lists_verified_claims_in_the_consent_pages_words(browser, services, citizen):
    client_id, secret = register_client(services, name="Belize Bank", entitlements=["kyc"])
    _flow(browser, client_id, secret, citizen.uin, CLAIMS)
    english = html.unescape(browser.get("/account?lang=en").text)
    assert "verified_claims" not in english
    for words in (
        "Verified identity data: Your given name",
        "Verified identity data: Your family name",
        "Verified identity data: Your date of birth",
        "Verified identity data: How your identity was verified",
    ):
        assert words in english
    spanish = html.unescape(browser.get("/account?lang=es").text)
    assert "verified_claims" not in spanish
    assert "Datos de identidad verificados: Su nombre de pila" in spanish
    assert "Datos de identidad verificados: Su fecha de nacimiento" in spanish
