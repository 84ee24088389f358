"""A real browser against a real server: Debian's Chromium, driven by Playwright, binds a passkey through
Chromium's virtual authenticator (DevTools WebAuthn domain) and uses it to sign in to a relying portal;
the code is then redeemed at /token and the ID token checked against the JWKS.

Also: the login page is keyboard-operable with a visible focus, and a form posted from another site without
civid's CSRF token is refused. ``CIVID_SCREENSHOTS=1`` saves the pages to docs/screenshots/ (for the README).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest

from civid.audit import SYSTEM
from idp import clients
from server.services import build_services
from tests.browser import accessibility_violations, launch, needs_chromium, screenshot, with_authenticator
from tests.conftest import add_keys, enrol, fixture_bytes, make_settings
from tests.idp.frontchannel import fresh_photo
from tests.server import ServerProcess, free_port

pytestmark = needs_chromium


class Civid:
    """The running service and what was set up in it."""

    def __init__(
        self,
        server: ServerProcess,
        url: str,
        officer: dict[str, str],
        client_id: str,
        secret: str,
        redirect_uri: str,
        uin: str,
    ) -> None:
        self.server, self.url, self.officer = server, url, officer
        self.client_id, self.secret, self.redirect_uri, self.uin = client_id, secret, redirect_uri, uin


@pytest.fixture(scope="module")
def civid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Civid]:
    """``civid serve`` with issuer http://localhost:<port> (WebAuthn needs the page's origin to be the issuer's),
    an officer key and a portal registered in its database beforehand, and one person enrolled over HTTP."""
    root = tmp_path_factory.mktemp("browser")
    server = ServerProcess({"CIVID_DATA_DIR": str(root / "var")}, root / "server.log")
    url = f"http://localhost:{server.port}"
    server.env["CIVID_ISSUER"] = url
    redirect_uri = f"http://localhost:{free_port()}/callback"  # nothing listens there: the browser is stopped
    services = build_services(make_settings(root, issuer=url), open_gallery=False)
    try:
        keys = add_keys(services)
        with services.sessions.begin() as db:
            row, secret = clients.register(
                db, clients.ClientMetadata(name="Ministry of Health portal", redirect_uris=[redirect_uri]), SYSTEM
            )
            client_id = row.client_id
    finally:
        services.close()
    server.start(timeout=120)
    try:
        with httpx.Client(base_url=url, timeout=120) as http:  # the officer's enrolment, over HTTP
            enrolled = enrol(http, keys.officer, ["obama_2012_portrait.jpg"], given_name="Barack", family_name="Obama")
        assert enrolled.status_code == 201, enrolled.text
        assert secret is not None
        yield Civid(server, url, keys.officer, client_id, secret, redirect_uri, enrolled.json()["uin"])
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from launch()


def bind_passkey(civid: Civid, page: Any, label: str) -> None:
    """The officer issues a code; the citizen types it on /passkeys/bind and creates the passkey."""
    issued = httpx.post(f"{civid.url}/v1/identities/{civid.uin}/passkey-bindings", headers=civid.officer)
    assert issued.status_code == 201, issued.text
    page.goto(civid.url + "/passkeys/bind")
    screenshot(page, "passkey-bind")
    page.fill("#code", issued.json()["code"])
    page.fill("#label", label)
    page.click("button[type=submit]")
    page.locator("#passkey-create").click()
    page.locator("[data-passkey-next]").wait_for(state="visible")
    assert "Your passkey is saved" in page.locator("[data-passkey-status]").inner_text()


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def test_passkey_bound_at_the_desk_signs_in_to_a_portal(civid: Civid, chromium: Any) -> None:
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    cdp, authenticator_id = with_authenticator(context, page)
    bind_passkey(civid, page, "Test phone")
    [credential] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]
    assert credential["isResidentCredential"] and credential["rpId"] == "localhost"

    # The portal sends the citizen to civid, asking for the passkey level.
    callbacks: list[str] = []

    def portal(route: Any) -> None:
        callbacks.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>Portal</title><p>back")

    page.route(civid.redirect_uri + "*", portal)
    verifier, challenge = pkce()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    query = {
        "response_type": "code",
        "client_id": civid.client_id,
        "redirect_uri": civid.redirect_uri,
        "scope": "openid profile",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "acr_values": "urn:civid:acr:passkey",
    }
    page.goto(civid.url + "/authorize?" + urlencode(query))
    assert urlsplit(page.url).path.startswith("/login/")
    assert page.locator("#face-form").count() == 0  # the passkey level offers no face login
    page.locator("#passkey-login").wait_for(state="visible")
    screenshot(page, "login")
    page.click("#passkey-login")
    page.wait_for_url(lambda url: urlsplit(url).path.startswith("/consent/"))
    screenshot(page, "consent")
    page.click("button[value=approve]")
    page.wait_for_url(lambda url: url.startswith(civid.redirect_uri))
    [callback] = callbacks
    answer = {name: values[0] for name, values in parse_qs(urlsplit(callback).query).items()}
    assert answer["state"] == state and answer["iss"] == civid.url

    tokens = httpx.post(
        civid.url + "/token",
        auth=(civid.client_id, civid.secret),
        data={
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": civid.redirect_uri,
            "code_verifier": verifier,
        },
    )
    assert tokens.status_code == 200, tokens.text
    discovery = httpx.get(civid.url + "/.well-known/openid-configuration").json()
    jwks = jwt.PyJWKSet.from_dict(httpx.get(discovery["jwks_uri"]).json())
    id_token = tokens.json()["id_token"]
    key = next(k for k in jwks.keys if k.key_id == jwt.get_unverified_header(id_token)["kid"])
    claims = jwt.decode(id_token, key.key, algorithms=[key.algorithm_name], audience=civid.client_id, issuer=civid.url)
    assert claims["acr"] == "urn:civid:acr:passkey" and claims["amr"] == ["hwk", "user"]
    assert claims["nonce"] == nonce and claims["sub"] != civid.uin  # pairwise, not the UIN

    page.goto(civid.url + "/account")
    assert "Test phone" in page.locator("table").first.inner_text()
    screenshot(page, "account")
    context.close()


def test_login_page_is_keyboard_operable_with_visible_focus(civid: Civid, chromium: Any) -> None:
    context = chromium.new_context()
    page = context.new_page()
    page.goto(civid.url + "/login")
    page.locator("#passkey-login").wait_for(state="visible")
    reached: dict[str, str] = {}
    for _ in range(30):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
            return {id: e.id || e.tagName, outline: s.outlineStyle + ' ' + s.outlineWidth}; }""")
        reached.setdefault(focused["id"], focused["outline"])
    assert {"passkey-login", "uin", "photo"} <= set(reached), reached
    for element in ("passkey-login", "uin"):
        assert not reached[element].startswith("none") and not reached[element].endswith(" 0px"), reached
    # Enter on the focused button starts the ceremony (the page says it is waiting for the device).
    page.focus("#passkey-login")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('[data-passkey-status]').textContent.length > 0")
    context.close()


def test_form_posted_from_another_site_is_refused(civid: Civid, chromium: Any) -> None:
    context = chromium.new_context()
    page = context.new_page()
    cdp, _ = with_authenticator(context, page)
    bind_passkey(civid, page, "Attacked phone")
    page.goto(civid.url + "/login")
    page.click("#passkey-login")
    page.wait_for_url(civid.url + "/account")
    listed = httpx.get(f"{civid.url}/v1/identities/{civid.uin}/passkeys", headers=civid.officer).json()
    target = next(row for row in listed if row["label"] == "Attacked phone")

    # A page on another site submits a form to civid's revoke endpoint with the citizen's browser.
    evil = "http://attacker.example/"
    form = (
        f'<!doctype html><form id="f" method="post" action="{civid.url}/account/passkeys/{target["id"]}/revoke">'
        '<input name="csrf_token" value="guessed"></form><script>document.getElementById("f").submit()</script>'
    )
    page.route(evil, lambda route: route.fulfill(status=200, content_type="text/html", body=form))
    with page.expect_response(lambda r: "/revoke" in r.url) as answer:
        page.goto(evil)
    assert answer.value.status == 403
    listed = httpx.get(f"{civid.url}/v1/identities/{civid.uin}/passkeys", headers=civid.officer).json()
    assert next(row for row in listed if row["id"] == target["id"])["revoked_at"] is None
    context.close()


def test_face_login_then_adding_a_passkey_online(civid: Civid, chromium: Any, tmp_path: Path) -> None:
    context = chromium.new_context()
    page = context.new_page()
    cdp, authenticator_id = with_authenticator(context, page)
    photo = tmp_path / "selfie.jpg"
    photo.write_bytes(fixture_bytes("obama_2010_blue_room.jpg"))  # another photo of the enrolled person
    page.goto(civid.url + "/login")
    page.fill("#uin", civid.uin)
    page.set_input_files("#photo", str(photo))
    page.click("#face-form button[type=submit]")
    page.wait_for_url(civid.url + "/account")
    page.fill("#passkey-label", "Laptop")
    page.click("#passkey-add")
    page.wait_for_url(civid.url + "/account?done=passkey_added")
    assert "Laptop" in page.locator("table").first.inner_text()
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]) == 1
    listed = httpx.get(f"{civid.url}/v1/identities/{civid.uin}/passkeys", headers=civid.officer).json()
    assert next(row for row in listed if row["label"] == "Laptop")["bound_via"] == "face"
    context.close()


def test_citizen_pages_have_no_serious_accessibility_violations(civid: Civid, chromium: Any) -> None:
    # bypass_csp only lets axe-core be injected; the pages' CSP itself is what the other tests run under.
    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    verifier, challenge = pkce()
    query = {
        "response_type": "code",
        "client_id": civid.client_id,
        "redirect_uri": civid.redirect_uri,
        "scope": "openid profile email",
        "state": "s",
        "nonce": "n",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    checked = {}
    page.goto(civid.url + "/authorize?" + urlencode(query))
    checked["login (passkey and face)"] = accessibility_violations(page)
    page.fill("#uin", civid.uin)
    name, data, mime = fresh_photo()  # never sent before: a reused file is refused as a replay
    page.set_input_files("#photo", files=[{"name": name, "mimeType": mime, "buffer": data}])
    page.click("#face-form button[type=submit]")
    page.wait_for_url(lambda url: "/consent/" in url)
    checked["consent"] = accessibility_violations(page)
    page.goto(civid.url + "/account")
    checked["account"] = accessibility_violations(page)
    page.goto(civid.url + "/passkeys/bind")
    checked["passkey binding"] = accessibility_violations(page)
    page.goto(civid.url + "/authorize?client_id=unknown")
    checked["error page"] = accessibility_violations(page)
    page.goto(civid.url + "/consent/unknown?lang=es")
    checked["error page (es)"] = accessibility_violations(page)
    if all(found is None for found in checked.values()):
        pytest.skip("axe-core is not installed (CI installs it into .ci/node)")
    assert {name: found for name, found in checked.items() if found} == {}
    context.close()


def test_civid_opened_at_its_ip_address_moves_to_the_issuers_host_where_passkeys_work(
    civid: Civid, chromium: Any
) -> None:
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    with_authenticator(context, page)
    page.goto(f"http://127.0.0.1:{civid.server.port}/login?lang=en")  # the address `civid serve` listens on
    assert page.url == civid.url + "/login?lang=en"  # http://localhost:<port>: the relying-party id's host
    page.locator("#passkey-login").wait_for(state="visible")
    assert page.locator("[data-passkey-error]").is_hidden()
    context.close()


def test_a_page_shown_at_another_address_says_where_passkeys_work(civid: Civid, chromium: Any) -> None:
    # As behind a proxy that hides the host: the page is served at 127.0.0.1 without a redirect.
    elsewhere = f"http://127.0.0.1:{civid.server.port}"
    context = chromium.new_context(locale="es-ES")
    page = context.new_page()
    with_authenticator(context, page)
    page.route(
        elsewhere + "/**",
        lambda route: route.fulfill(
            response=route.fetch(
                url=route.request.url.replace(elsewhere, civid.url), headers=route.request.all_headers()
            )
        ),
    )
    page.goto(elsewhere + "/passkeys/bind")
    issued = httpx.post(f"{civid.url}/v1/identities/{civid.uin}/passkey-bindings", headers=civid.officer)
    page.fill("#code", issued.json()["code"])
    page.click("button[type=submit]")
    alert = page.locator("[data-passkey-error]")
    alert.wait_for(state="visible", timeout=10_000)
    assert f"Las llaves de acceso funcionan solo en {civid.url}" in alert.inner_text()
    assert page.locator("#passkey-create").is_hidden()  # no ceremony that could only fail
    context.close()


def test_a_cancelled_passkey_request_says_it_was_cancelled(civid: Civid, chromium: Any) -> None:
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    cdp, authenticator_id = with_authenticator(context, page)
    bind_passkey(civid, page, "Cancelled phone")
    # The person does not confirm on the device (no fingerprint, face or PIN): the browser answers NotAllowedError.
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator_id, "isUserVerified": False})
    page.goto(civid.url + "/login")
    page.click("#passkey-login")
    alert = page.locator("[data-passkey-error]")
    alert.wait_for(state="visible")
    assert "cancelled or timed out" in alert.inner_text()
    context.close()
