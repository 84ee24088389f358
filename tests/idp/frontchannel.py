"""Helpers for the front-channel tests (authorize, PAR, login, consent, logout): drive the citizen's
browser through the real pages with TestClient, redirects not followed, so every hop is checked."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from tests.conftest import Keys, jpeg_bytes, load_rgb
from tests.idp.conftest import REDIRECT_URI, Citizen, enrol_citizen, pkce_pair, register_client

__all__ = [
    "REDIRECT_URI",
    "OBAMA_PHOTO",
    "BIDEN_PHOTO",
    "Portal",
    "People",
    "enrol_people",
    "portal",
    "authorize",
    "query_of",
    "location",
    "assert_error_page",
    "form_value",
    "fresh_photo",
    "login_with_face",
    "sign_in",
    "approve_consent",
    "code_for",
]


@dataclass(frozen=True)
class People:
    obama: Citizen
    biden: Citizen


def enrol_people(client: TestClient, keys: Keys) -> People:
    """The seed of the front-channel test modules: two enrolled people (the slow part, done once)."""
    return People(
        enrol_citizen(client, keys, "obama_2012_portrait.jpg", given_name="Barack", family_name="Obama"),
        enrol_citizen(
            client, keys, "biden_2010_blue_room.jpg", given_name="Joseph", family_name="Biden", email="joe@example.bz"
        ),
    )


@dataclass(frozen=True)
class Portal:
    client_id: str
    secret: str | None
    redirect_uri: str
    verifier: str
    challenge: str


def portal(services: Any, **meta: Any) -> Portal:
    """Register a portal (client_secret_basic, one https redirect URI unless overridden)."""
    client_id, secret = register_client(services, **meta)
    verifier, challenge = pkce_pair()
    return Portal(client_id, secret, (meta.get("redirect_uris") or [REDIRECT_URI])[0], verifier, challenge)


def authorize(client: TestClient, rp: Portal, **overrides: Any):
    """GET /authorize with a valid request for ``rp``; overrides replace (or, when None, drop) parameters."""
    params: dict[str, Any] = {
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "response_type": "code",
        "scope": "openid profile",
        "state": "st-123",
        "nonce": "n-456",
        "code_challenge": rp.challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return client.get("/authorize", params={k: v for k, v in params.items() if v is not None}, follow_redirects=False)


def query_of(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The query parameters of a redirect's Location (each once)."""
    assert response.status_code in (302, 303), (response.status_code, response.text[:500])
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def location(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code in (302, 303), (response.status_code, response.text[:500])
    return response.headers["location"]


def assert_error_page(response, code: str, status: int = 400) -> None:
    """Shown to the citizen, never redirected (RFC 6749 §4.1.2.1)."""
    assert response.status_code == status, response.text[:500]
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert f"<code>{code}</code>" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]


def form_value(html: str, name: str) -> str:
    """The value of the (first) input named ``name`` in a page."""
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert match, f"no input {name!r} in page"
    return match.group(1)


_variant = itertools.count(1)


def fresh_photo(name: str = "obama_2010_blue_room.jpg") -> tuple[str, bytes, str]:
    """A photo of the same face whose bytes were never sent before (re-encoded: a new SHA-256)."""
    rgb = load_rgb(name).copy()
    n = next(_variant)
    rgb[:16, :16] = ((n * 53) % 256, (n * 97) % 256, n // 256 % 256)  # a corner block: the face is untouched
    return ("face.jpg", jpeg_bytes(rgb, quality=95), "image/jpeg")


def login_with_face(
    client: TestClient, login_url: str, uin: str, photo: tuple[str, bytes, str] | None = None, **overrides: str
):
    """Open the login page at ``login_url`` and post its face form (fields overridable)."""
    page = client.get(login_url)
    assert page.status_code == 200, page.text[:500]
    action = re.search(r'<form method="post" action="([^"]+)"[^>]*id="face-form"', page.text)
    assert action, "no face form on the login page"
    data = {
        "csrf_token": form_value(page.text, "csrf_token"),
        "challenge": form_value(page.text, "challenge"),
        "uin": uin,
    }
    data.update(overrides)
    return client.post(action.group(1), data=data, files={"photo": photo or fresh_photo()}, follow_redirects=False)


OBAMA_PHOTO = "obama_2010_blue_room.jpg"  # another photo than the enrolled one
BIDEN_PHOTO = "biden_2010_blue_room.jpg"  # his enrolment photo (re-encoded)


def sign_in(client: TestClient, login_url: str, citizen: Citizen, photo_name: str = OBAMA_PHOTO):
    """Log in with a genuine photo of ``citizen`` (pass BIDEN_PHOTO for Biden)."""
    response = login_with_face(client, login_url, citizen.uin, fresh_photo(photo_name))
    assert response.status_code == 303, response.text[:1000]
    return response


def approve_consent(client: TestClient, consent_url: str, decision: str = "approve"):
    """Open the consent page and answer it."""
    page = client.get(consent_url)
    assert page.status_code == 200, page.text[:500]
    return client.post(
        consent_url,
        data={"csrf_token": form_value(page.text, "csrf_token"), "decision": decision},
        follow_redirects=False,
    )


def code_for(
    client: TestClient, rp: Portal, citizen: Citizen, photo_name: str = OBAMA_PHOTO, **overrides: Any
) -> dict[str, str]:
    """The whole front channel: authorize → login (face) → resume → consent → the redirect's query."""
    response = authorize(client, rp, **overrides)
    url = location(response)
    if url.startswith("/login/"):
        response = client.get(location(sign_in(client, url, citizen, photo_name)), follow_redirects=False)
        url = location(response)
    if url.startswith("/consent/"):
        url = location(approve_consent(client, url))
    assert url.startswith(rp.redirect_uri), url
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
