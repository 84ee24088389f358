"""The whole authorization code flow driven by an independent OIDC client library (Authlib).

The relying party is Authlib's ``OAuth2Client`` configured only from the discovery document; the
citizen's browser is a TestClient that follows the real pages (login with the face method, consent)
by parsing their HTML. The ID token is checked with Authlib's JOSE implementation (``CodeIDToken``:
signature against the JWKS, iss, aud, azp, nonce, exp, iat, at_hash), not with civid's own code.
"""

from __future__ import annotations

import secrets
import warnings
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey

from idp.acr import ACR_FACE
from tests.idp.authlib_flow import ISSUER, sign_in_and_consent, verify_id_token
from tests.idp.conftest import REDIRECT_URI, ClientKey, enrol_citizen, oidc_flow_fixtures, register_client

with warnings.catch_warnings():  # Authlib announces its move to httpx2/joserfc; the API used here is current
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import OAuth2Client
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore:.*authlib.jose.*")

LOGOUT_URI = "https://portal.example.bz/signed-out"


seed, services, citizen, browser = oidc_flow_fixtures(
    "oidc-flow", lambda client, keys: enrol_citizen(client, keys, given_name="Barack", family_name="Obama"), ISSUER
)


def _relying_party(browser: TestClient, client_id: str, secret: object, **kwargs: object) -> OAuth2Client:
    """Authlib's client, its HTTP going to the app through the TestClient's transport."""
    return OAuth2Client(
        client_id,
        secret,
        scope="openid profile email",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        transport=browser._transport,
        **kwargs,
    )


def test_code_flow_with_an_independent_client_library(browser, services, citizen):
    client_id, secret = register_client(
        services, name="Health portal", post_logout_redirect_uris=[LOGOUT_URI], id_token_signed_response_alg="RS256"
    )
    rp = _relying_party(browser, client_id, secret)
    meta = rp.request("GET", ISSUER + "/.well-known/openid-configuration", withhold_token=True).json()
    assert meta["issuer"] == ISSUER

    nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    assert "code_challenge_method=S256" in url
    callback = sign_in_and_consent(browser, url, citizen.uin)[0]
    returned = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    assert returned["state"] == state and returned["iss"] == ISSUER  # RFC 9207

    token = rp.fetch_token(meta["token_endpoint"], authorization_response=callback, state=state, code_verifier=verifier)
    jwks = rp.request("GET", meta["jwks_uri"], withhold_token=True).json()
    id_token = verify_id_token(token["id_token"], jwks, client_id, nonce, token["access_token"])
    assert id_token["acr"] == ACR_FACE and id_token["amr"] == ["face"] and id_token["sub"] != citizen.uin

    userinfo = rp.get(meta["userinfo_endpoint"]).json()  # Authlib puts the bearer token in the header
    assert userinfo["sub"] == id_token["sub"] and userinfo["given_name"] == "Barack"
    assert userinfo["email"] == "maria@example.bz" and "uin" not in userinfo

    refreshed = rp.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert rp.get(meta["userinfo_endpoint"]).json()["sub"] == id_token["sub"]  # with the new access token
    again = rp.post(
        meta["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(client_id, secret),
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"  # rotated: reuse refused

    logout = browser.get(
        meta["end_session_endpoint"],
        params={"id_token_hint": token["id_token"], "post_logout_redirect_uri": LOGOUT_URI, "state": "bye"},
        follow_redirects=False,
    )
    assert logout.status_code in (302, 303) and logout.headers["location"] == f"{LOGOUT_URI}?state=bye"
    # The SSO session has ended: a silent request now needs a login.
    silent, _ = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, prompt="none"
    )
    answer = browser.get(silent, follow_redirects=False)
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == ["login_required"]


def test_private_key_jwt_client_built_with_authlib_authenticates(browser, services, citizen):
    key = ClientKey()
    client_id, _ = register_client(services, name="Bank", token_endpoint_auth_method="private_key_jwt", jwks=key.jwks)
    pem = key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    private_key = ECKey.import_key(pem, {"kid": key.kid})  # Authlib signs with a JOSE key object
    rp = _relying_party(browser, client_id, private_key, token_endpoint_auth_method="private_key_jwt")
    meta = rp.request("GET", ISSUER + "/.well-known/openid-configuration", withhold_token=True).json()
    rp.register_client_auth_method(PrivateKeyJWT(meta["token_endpoint"], alg="ES256"))
    nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    callback = sign_in_and_consent(browser, url, citizen.uin)[0]
    token = rp.fetch_token(meta["token_endpoint"], authorization_response=callback, state=state, code_verifier=verifier)
    verify_id_token(
        token["id_token"],
        rp.request("GET", meta["jwks_uri"], withhold_token=True).json(),
        client_id,
        nonce,
        token["access_token"],
    )
