"""The citizen's side of the OpenID flow for tests driven by Authlib's relying party: a TestClient browser
that follows the real login (face) and consent pages by parsing their HTML, and the ID token checked with
Authlib's JOSE, not civid's own code."""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin

from fastapi.testclient import TestClient

from tests.idp.conftest import REDIRECT_URI
from tests.idp.frontchannel import fresh_photo

ISSUER = "http://testserver"  # the TestClient's origin, so the browser's cookies and the issuer agree


def page_input(page: str, name: str) -> str:
    """The value of the input named ``name`` in a page (HTML entities decoded)."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    assert match, f"no {name} input on the page"
    return html.unescape(match.group(1))


def sign_in_and_consent(browser: TestClient, url: str, uin: str) -> tuple[str, str | None]:
    """Follow the citizen's browser from the authorization URL through face login and consent; return the
    callback URL and the consent page's HTML (None when no consent was asked)."""
    consent_page = None
    for _ in range(12):
        response = browser.get(url, follow_redirects=False)
        if response.status_code in (302, 303):
            url = urljoin(ISSUER, response.headers["location"])
            if url.startswith(REDIRECT_URI):
                return url, consent_page
            continue
        assert response.status_code == 200, response.text[:800]
        page = response.text
        if 'id="face-form"' in page:
            action = re.search(r'<form[^>]*action="([^"]+)"[^>]*id="face-form"', page).group(1)  # type: ignore[union-attr]
            posted = browser.post(
                action,
                data={
                    "csrf_token": page_input(page, "csrf_token"),
                    "challenge": page_input(page, "challenge"),
                    "uin": uin,
                },
                files={"photo": fresh_photo()},
                follow_redirects=False,
            )
        elif 'name="decision"' in page:
            consent_page = page
            action = re.search(r'<form method="post" action="(/consent/[^"]+)"', page).group(1)  # type: ignore[union-attr]
            posted = browser.post(
                action,
                data={"csrf_token": page_input(page, "csrf_token"), "decision": "approve"},
                follow_redirects=False,
            )
        else:
            raise AssertionError(f"unexpected page at {url}: {page[:800]}")
        assert posted.status_code in (302, 303), posted.text[:800]
        url = urljoin(ISSUER, posted.headers["location"])
        if url.startswith(REDIRECT_URI):
            return url, consent_page
    raise AssertionError("the flow did not come back to the portal")


def verify_id_token(id_token: str, jwks: dict, client_id: str, nonce: str, access_token: str) -> dict:
    """Authlib's JOSE: signature against the JWKS and the OIDC Core §3.1.3.7 checks, at_hash included."""
    from authlib.jose import JsonWebKey, JsonWebToken
    from authlib.oidc.core import CodeIDToken

    claims = JsonWebToken(["ES256", "RS256"]).decode(
        id_token,
        JsonWebKey.import_key_set(jwks),
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": ISSUER}},
        claims_params={"nonce": nonce, "client_id": client_id, "access_token": access_token},
    )
    claims.validate(leeway=5)
    return dict(claims)
