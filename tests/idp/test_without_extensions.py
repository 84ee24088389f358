"""The OpenID provider on its own, with no claims extension registered (kyc not installed): a plain OpenID
provider. Discovery states nothing of OIDC4IDA, ``purpose`` is an unknown parameter (ignored, not checked),
and a citizen still signs in to a portal through the real pages."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from civid import problems
from idp import claims_extensions
from idp.app import install as install_idp
from server.services import Services
from tests.idp.authlib_flow import ISSUER, sign_in_and_consent
from tests.idp.conftest import REDIRECT_URI, enrol_citizen, oidc_flow_fixtures, pkce_pair, register_client

seed, services, citizen, _ = oidc_flow_fixtures(
    "idp-alone", lambda client, keys: enrol_citizen(client, keys, given_name="Barack", family_name="Obama"), ISSUER
)


def idp_only_app(services: Services) -> FastAPI:
    """An application with idp installed and nothing above it (no kyc, no console)."""
    app = FastAPI()
    app.state.services = services
    problems.install(app)
    install_idp(app)
    return app


@pytest.fixture
def browser(services):  # type: ignore[no-untyped-def]
    with TestClient(idp_only_app(services), base_url=ISSUER, raise_server_exceptions=False) as client:
        yield client


def test_without_kyc_idp_is_a_plain_openid_provider_and_a_login_still_works(browser, services, citizen):
    assert not list(claims_extensions.of(browser.app))
    meta = browser.get("/.well-known/openid-configuration").json()
    assert meta["issuer"] == ISSUER and "verified_claims_supported" not in meta
    assert "trust_frameworks_supported" not in meta and "civid_kyc_attestation_endpoint" not in meta

    client_id, secret = register_client(services, name="Health portal")
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(8)
    url = "/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile",
            "state": state,
            "nonce": "n-1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "purpose": "no",
        }
    )  # too short for OIDC4IDA §8, but nobody here knows the parameter: ignored
    callback, consent_page = sign_in_and_consent(browser, ISSUER + url, citizen.uin)
    assert consent_page is not None and 'id="consent-verified"' not in consent_page
    returned = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    assert returned["state"] == state

    token = browser.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": returned["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(client_id, secret),
    )
    assert token.status_code == 200, token.text
    assert token.json()["id_token"]
    userinfo = browser.get("/userinfo", headers={"Authorization": "Bearer " + token.json()["access_token"]})
    assert userinfo.status_code == 200 and userinfo.json()["given_name"] == "Barack"
    account = browser.get("/account")
    assert account.status_code == 200 and 'id="releases-heading"' not in account.text
