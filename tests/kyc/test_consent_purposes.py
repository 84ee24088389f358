"""Consent is bound to the purpose it was given for, through the real flow (authorize, login and consent pages,
token endpoint, UserInfo, attestations): a request stating no purpose is not covered by a consent for a stated
one; a token authorised for one purpose gets only what was consented for that purpose; each release names the
consent rows that cover what it released; and a refresh token lives only as long as its own grant's consent."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from models import Consent, DataRelease, Grant, utcnow
from server.services import Services
from tests.conftest import document
from tests.idp.authlib_flow import ISSUER, sign_in_and_consent
from tests.idp.conftest import REDIRECT_URI, enrol_citizen, oidc_flow_fixtures, pkce_pair
from tests.kyc.banks import Bank, attest, client_auth, register_bank, verified_request

P1 = "Opening your savings account"
P2 = "Checking your age for a youth account"

seed, services, citizen, browser = oidc_flow_fixtures(
    "consent-purposes",
    lambda client, keys: enrol_citizen(
        client, keys, given_name="Barack", family_name="Obama", documents=[document(number="P01234567")]
    ),
    ISSUER,
)


def _sign_in(
    browser: TestClient, services: Services, bank: Bank, uin: str, claims: list[str], purpose: str | None
) -> tuple[dict, str | None]:
    """The bank asks for ``claims`` (verified, at UserInfo) for ``purpose``; the citizen signs in and approves on
    the real pages. Returns (token response, consent page or None when nothing was asked)."""
    verifier, challenge = pkce_pair()
    query = {
        "response_type": "code",
        "client_id": bank.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "claims": json.dumps({"userinfo": {"verified_claims": verified_request(claims)}}),
    }
    if purpose is not None:
        query["purpose"] = purpose
    callback, consent_page = sign_in_and_consent(browser, ISSUER + "/authorize?" + urlencode(query), uin)
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


def _row(services: Services, bank: Bank, purpose: str | None) -> Consent:
    with services.sessions() as db:
        return db.scalars(
            select(Consent).where(
                Consent.client_id == bank.client_id,
                Consent.purpose.is_(None) if purpose is None else Consent.purpose == purpose,
            )
        ).one()


def _last_release(services: Services, bank: Bank) -> DataRelease:
    with services.sessions() as db:
        return db.scalars(
            select(DataRelease).where(DataRelease.client_id == bank.client_id).order_by(DataRelease.id.desc())
        ).first()


def _refresh(browser: TestClient, services: Services, bank: Bank, token: dict):
    return browser.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"], **client_auth(bank, services)},
    )


def test_a_consent_for_a_stated_purpose_does_not_cover_a_request_stating_none(browser, services, citizen):
    bank = register_bank(services)
    _, page = _sign_in(browser, services, bank, citizen.uin, ["given_name"], P1)
    assert page is not None and P1 in page
    # The same claims again for the same purpose: remembered.
    assert _sign_in(browser, services, bank, citizen.uin, ["given_name"], P1)[1] is None
    # The same claims without a purpose: the P1 consent does not stretch to it, so the citizen is asked.
    _, page = _sign_in(browser, services, bank, citizen.uin, ["given_name"], None)
    assert page is not None and "Your given name" in page and P1 not in page
    assert _row(services, bank, None).claims == ["verified_claims:given_name"]
    with services.sessions() as db:
        assert [
            g.purpose for g in db.scalars(select(Grant).where(Grant.client_id == bank.client_id).order_by(Grant.id))
        ] == [P1, P1, None]


def test_a_token_gets_only_what_was_consented_for_its_own_purpose(browser, services, citizen):
    bank = register_bank(services)
    for_p1, _ = _sign_in(browser, services, bank, citizen.uin, ["given_name", "family_name"], P1)
    for_p2, page = _sign_in(browser, services, bank, citizen.uin, ["birthdate"], P2)
    assert page is not None and P2 in page
    row_a, row_b = _row(services, bank, P1), _row(services, bank, P2)

    # The P2 token: the names were consented only for P1, so no attestation of them.
    refused = attest(browser, services, bank, for_p2["access_token"], verified_claims=verified_request(["given_name"]))
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "insufficient_scope"
    assert refused.json()["missing_consent"] == ["verified_claims:given_name"]
    born = attest(browser, services, bank, for_p2["access_token"], verified_claims=verified_request(["birthdate"]))
    assert born.status_code == 201, born.text
    assert _last_release(services, bank).consent_uids == [row_b.uid]

    # The P1 token: the names, released under row A (not the newer row B, which holds no name).
    names = attest(browser, services, bank, for_p1["access_token"], verified_claims=verified_request(["given_name"]))
    assert names.status_code == 201, names.text
    release = _last_release(services, bank)
    assert (release.channel, release.claims, release.consent_uids) == (
        "attestation",
        ["verified_claims:given_name"],
        [row_a.uid],
    )
    refused = attest(browser, services, bank, for_p1["access_token"], verified_claims=verified_request(["birthdate"]))
    assert refused.status_code == 403 and refused.json()["missing_consent"] == ["verified_claims:birthdate"]

    # UserInfo and the ID token follow the same rule: each token's own purpose.
    assert set(
        browser.get("/userinfo", headers={"Authorization": f"Bearer {for_p2['access_token']}"}).json()[
            "verified_claims"
        ]["claims"]
    ) == {"birthdate"}
    release = _last_release(services, bank)
    assert (release.channel, release.claims, release.consent_uids) == (
        "userinfo",
        ["verified_claims:birthdate"],
        [row_b.uid],
    )
    assert set(
        browser.get("/userinfo", headers={"Authorization": f"Bearer {for_p1['access_token']}"}).json()[
            "verified_claims"
        ]["claims"]
    ) == {"given_name", "family_name"}
    assert _last_release(services, bank).consent_uids == [row_a.uid]


def test_a_release_names_every_row_that_covers_what_it_released_and_no_other(browser, services, citizen):
    bank = register_bank(services)
    _sign_in(browser, services, bank, citizen.uin, ["given_name"], None)
    _sign_in(browser, services, bank, citizen.uin, ["birthdate"], None)
    both, page = _sign_in(browser, services, bank, citizen.uin, ["given_name", "birthdate"], None)
    assert page is None  # covered by the two earlier approvals together
    with services.sessions() as db:
        newest, oldest = db.scalars(
            select(Consent.uid).where(Consent.client_id == bank.client_id).order_by(Consent.id.desc())
        ).all()
    answer = attest(
        browser, services, bank, both["access_token"], verified_claims=verified_request(["given_name", "birthdate"])
    )
    assert answer.status_code == 201, answer.text
    assert _last_release(services, bank).consent_uids == [newest, oldest]
    answer = attest(browser, services, bank, both["access_token"], verified_claims=verified_request(["given_name"]))
    assert answer.status_code == 201, answer.text
    assert _last_release(services, bank).consent_uids == [oldest]  # the newer row holds no given name


def test_a_refresh_token_ends_with_its_own_grants_consent_whatever_else_is_live(browser, services, citizen):
    bank = register_bank(services)
    for_p1, _ = _sign_in(browser, services, bank, citizen.uin, ["given_name"], P1)
    for_p2, _ = _sign_in(browser, services, bank, citizen.uin, ["birthdate"], P2)
    with services.sessions.begin() as db:
        db.execute(
            update(Consent)
            .where(Consent.client_id == bank.client_id, Consent.purpose == P1)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = _refresh(browser, services, bank, for_p1)
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant", expired.text
    renewed = _refresh(browser, services, bank, for_p2)
    assert renewed.status_code == 200, renewed.text

    # A row ended on its own (withdrawn): its grant's refresh token stops, the other purpose's goes on.
    for_p1, _ = _sign_in(browser, services, bank, citizen.uin, ["given_name"], P1)
    with services.sessions.begin() as db:
        db.execute(
            update(Consent)
            .where(Consent.client_id == bank.client_id, Consent.purpose == P1, Consent.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    withdrawn = _refresh(browser, services, bank, for_p1)
    assert withdrawn.status_code == 400 and withdrawn.json()["error"] == "invalid_grant", withdrawn.text
    assert _refresh(browser, services, bank, renewed.json()).status_code == 200
