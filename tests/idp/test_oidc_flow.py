"""The whole authorization code flow driven by an independent OIDC client library (Authlib).

The relying party is Authlib's ``OAuth2Client`` configured only from the discovery document; the
citizen's browser is a TestClient that follows the real pages (login with the face method, consent)
by parsing their HTML. The ID token is checked with Authlib's JOSE implementation (``CodeIDToken``:
signature against the JWKS, iss, aud, azp, nonce, exp, iat, at_hash), not with civid's own code.
"""

from __future__ import annotations

import html
import re
import secrets
import warnings
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey

from idp.acr import ACR_FACE
from tests.idp.conftest import REDIRECT_URI, ClientKey, enrol_citizen, oidc_flow_fixtures, register_client
from tests.idp.frontchannel import fresh_photo

with warnings.catch_warnings():  # Authlib announces its move to httpx2/joserfc; the API used here is current
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import OAuth2Client
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore:.*authlib.jose.*")

ISSUER = "http://testserver"  # the TestClient's origin, so the browser's cookies and the issuer agree
LOGOUT_URI = "https://portal.example.bz/signed-out"


seed, services, citizen, browser = oidc_flow_fixtures(
    "oidc-flow", lambda client, keys: enrol_citizen(client, keys, given_name="Barack", family_name="Obama"), ISSUER)


def _relying_party(browser: TestClient, client_id: str, secret: object, **kwargs: object) -> OAuth2Client:
    """Authlib's client, its HTTP going to the app through the TestClient's transport."""
    return OAuth2Client(client_id, secret, scope="openid profile email", redirect_uri=REDIRECT_URI,
                        code_challenge_method="S256", transport=browser._transport, **kwargs)


def _input(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    assert match, f"no {name} input on the page"
    return html.unescape(match.group(1))


def _citizen_signs_in(browser: TestClient, url: str, uin: str) -> str:
    """Follow the browser from the authorization URL through login (face) and consent back to the portal;
    return the redirect to the portal's callback."""
    for _ in range(12):
        response = browser.get(url, follow_redirects=False)
        if response.status_code in (302, 303):
            url = urljoin(ISSUER, response.headers["location"])
            if url.startswith(REDIRECT_URI):
                return url
            continue
        assert response.status_code == 200, response.text[:800]
        page = response.text
        if 'id="face-form"' in page:
            action = re.search(r'<form[^>]*action="([^"]+)"[^>]*id="face-form"', page).group(1)  # type: ignore[union-attr]
            posted = browser.post(action, data={"csrf_token": _input(page, "csrf_token"),
                                                "challenge": _input(page, "challenge"), "uin": uin},
                                  files={"photo": fresh_photo()}, follow_redirects=False)
        elif 'name="decision"' in page:
            action = re.search(r'<form method="post" action="(/consent/[^"]+)"', page).group(1)  # type: ignore[union-attr]
            posted = browser.post(action, data={"csrf_token": _input(page, "csrf_token"), "decision": "approve"},
                                  follow_redirects=False)
        else:
            raise AssertionError(f"unexpected page at {url}: {page[:800]}")
        assert posted.status_code in (302, 303), posted.text[:800]
        url = urljoin(ISSUER, posted.headers["location"])
        if url.startswith(REDIRECT_URI):
            return url
    raise AssertionError("the flow did not come back to the portal")


def _verify_id_token(id_token: str, jwks: dict, client_id: str, nonce: str, access_token: str) -> dict:
    """Authlib's JOSE: signature against the JWKS and the OIDC Core §3.1.3.7 checks, at_hash included."""
    from authlib.jose import JsonWebKey, JsonWebToken
    from authlib.oidc.core import CodeIDToken

    claims = JsonWebToken(["ES256", "RS256"]).decode(
        id_token, JsonWebKey.import_key_set(jwks), claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": ISSUER}},
        claims_params={"nonce": nonce, "client_id": client_id, "access_token": access_token})
    claims.validate(leeway=5)
    return dict(claims)


def test_code_flow_with_an_independent_client_library(browser, services, citizen):
    client_id, secret = register_client(services, name="Health portal", post_logout_redirect_uris=[LOGOUT_URI],
                                        id_token_signed_response_alg="RS256")
    rp = _relying_party(browser, client_id, secret)
    meta = rp.request("GET", ISSUER + "/.well-known/openid-configuration", withhold_token=True).json()
    assert meta["issuer"] == ISSUER

    nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    assert "code_challenge_method=S256" in url
    callback = _citizen_signs_in(browser, url, citizen.uin)
    returned = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    assert returned["state"] == state and returned["iss"] == ISSUER  # RFC 9207

    token = rp.fetch_token(meta["token_endpoint"], authorization_response=callback, state=state,
                           code_verifier=verifier)
    jwks = rp.request("GET", meta["jwks_uri"], withhold_token=True).json()
    id_token = _verify_id_token(token["id_token"], jwks, client_id, nonce, token["access_token"])
    assert id_token["acr"] == ACR_FACE and id_token["amr"] == ["face"] and id_token["sub"] != citizen.uin

    userinfo = rp.get(meta["userinfo_endpoint"]).json()  # Authlib puts the bearer token in the header
    assert userinfo["sub"] == id_token["sub"] and userinfo["given_name"] == "Barack"
    assert userinfo["email"] == "maria@example.bz" and "uin" not in userinfo

    refreshed = rp.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert rp.get(meta["userinfo_endpoint"]).json()["sub"] == id_token["sub"]  # with the new access token
    again = rp.post(meta["token_endpoint"], data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
                    auth=(client_id, secret))
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"  # rotated: reuse refused

    logout = browser.get(meta["end_session_endpoint"], params={
        "id_token_hint": token["id_token"], "post_logout_redirect_uri": LOGOUT_URI, "state": "bye"},
        follow_redirects=False)
    assert logout.status_code in (302, 303) and logout.headers["location"] == f"{LOGOUT_URI}?state=bye"
    # The SSO session has ended: a silent request now needs a login.
    silent, _ = rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce,
                                            prompt="none")
    answer = browser.get(silent, follow_redirects=False)
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == ["login_required"]


def test_private_key_jwt_client_built_with_authlib_authenticates(browser, services, citizen):
    key = ClientKey()
    client_id, _ = register_client(services, name="Bank", token_endpoint_auth_method="private_key_jwt", jwks=key.jwks)
    pem = key.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    private_key = ECKey.import_key(pem, {"kid": key.kid})  # Authlib signs with a JOSE key object
    rp = _relying_party(browser, client_id, private_key, token_endpoint_auth_method="private_key_jwt")
    meta = rp.request("GET", ISSUER + "/.well-known/openid-configuration", withhold_token=True).json()
    rp.register_client_auth_method(PrivateKeyJWT(meta["token_endpoint"], alg="ES256"))
    nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    callback = _citizen_signs_in(browser, url, citizen.uin)
    token = rp.fetch_token(meta["token_endpoint"], authorization_response=callback, state=state,
                           code_verifier=verifier)
    _verify_id_token(token["id_token"], rp.request("GET", meta["jwks_uri"], withhold_token=True).json(), client_id, nonce, token["access_token"])
