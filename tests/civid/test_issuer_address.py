"""The issuer's address: a name by default (WebAuthn refuses an IP address as relying-party id), a refusal to
start with an IP address, and browser pages opened at another host sent to the issuer's."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from civid.settings import Settings
from server.app import create_app
from tests.server import REPO, free_port

PAGE = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}  # what Chromium sends


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "::1"])
def test_the_default_issuer_is_localhost_where_passkeys_work(host):
    settings = Settings(host=host, port=8000)
    assert settings.resolved_issuer == "http://localhost:8000" and not settings.issuer_host_is_ip_address


@pytest.mark.parametrize("issuer", ["http://127.0.0.1:8000", "http://10.0.0.5", "https://[2001:db8::1]"])
def test_serve_refuses_to_start_with_an_ip_address_as_issuer(tmp_path, issuer):
    env = {
        **os.environ,
        "CIVID_DATA_DIR": str(tmp_path / "var"),
        "CIVID_ISSUER": issuer,
        "CIVID_PORT": str(free_port()),
    }
    # A server that starts anyway would run until the timeout: that fails the test too.
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr[-2000:]
    said = " ".join(result.stderr.split())
    assert "refuse passkeys for IP addresses" in said and "CIVID_ISSUER" in said


def test_a_page_opened_at_another_host_is_sent_to_the_issuers(services):
    # The issuer is http://localhost:8000 (the default); the browser typed http://127.0.0.1:8000.
    with TestClient(create_app(services=services), base_url="http://127.0.0.1:8000") as browser:
        moved = browser.get("/login?lang=es", headers=PAGE, follow_redirects=False)
        assert moved.status_code == 307 and moved.headers["location"] == "http://localhost:8000/login?lang=es"
        # Back-channel callers answer wherever they arrive (a POST is never replayed elsewhere).
        assert browser.get("/.well-known/openid-configuration", follow_redirects=False).status_code == 200
        assert browser.post("/token", data={"grant_type": "x"}, follow_redirects=False).status_code in (400, 401)
    with TestClient(create_app(services=services), base_url=services.settings.resolved_issuer) as browser:
        assert browser.get("/login", headers=PAGE, follow_redirects=False).status_code == 200  # at the issuer's host


def test_the_redirect_keeps_the_path_exactly_as_it_was_encoded(services):
    # %3F is a "?" inside a path segment: decoded, it would become the start of a query string.
    with TestClient(create_app(services=services), base_url="http://127.0.0.1:8000") as browser:
        moved = browser.get("/console/a%3Fb=1?lang=es&next=%2Fx", headers=PAGE, follow_redirects=False)
        assert moved.status_code == 307
        assert moved.headers["location"] == "http://localhost:8000/console/a%3Fb=1?lang=es&next=%2Fx"


@pytest.mark.parametrize(
    "issuer, arrived_at",
    [
        ("https://id.example.gov", "http://civid:8000"),  # a proxy (or a container network) rewrote Host
        ("https://id.example.gov", "http://127.0.0.1:8000"),  # nginx's default: Host is the upstream's address
        ("http://localhost:8080", "http://127.0.0.1:8000"),  # a local proxy on 8080 in front of civid on 8000
    ],
)
def test_a_page_behind_a_proxy_that_rewrites_host_is_served_not_redirected_in_a_loop(
    services, monkeypatch, issuer, arrived_at
):
    # A redirect to the issuer would come back through the proxy with the same rewritten Host: a 307 loop.
    monkeypatch.setattr(services.settings, "issuer", issuer)
    with TestClient(create_app(services=services), base_url=arrived_at) as browser:
        response = browser.get("/login", headers=PAGE, follow_redirects=False)
        assert response.status_code == 200, response.headers.get("location")


def test_x_forwarded_host_counts_only_under_its_own_setting_and_only_its_last_value(services, monkeypatch):
    monkeypatch.setattr(services.settings, "trust_forwarded_for", True)  # the client address: not the host
    with TestClient(create_app(services=services), base_url=services.settings.resolved_issuer) as browser:
        response = browser.get("/login", headers={**PAGE, "X-Forwarded-Host": "127.0.0.1:8000"}, follow_redirects=False)
        assert response.status_code == 200
    monkeypatch.setattr(services.settings, "issuer", "https://id.example.gov")
    monkeypatch.setattr(services.settings, "trust_forwarded_host", True)
    with TestClient(create_app(services=services), base_url="http://civid:8000") as browser:
        # The nearest proxy appends the host the browser asked for; the first value is whatever the client sent.
        spoofed = browser.get(
            "/login", headers={**PAGE, "X-Forwarded-Host": "evil.example, id.example.gov"}, follow_redirects=False
        )
        assert spoofed.status_code == 200
        moved = browser.get(
            "/login?lang=es",
            headers={**PAGE, "X-Forwarded-Host": "id.example.gov, www.example.gov"},
            follow_redirects=False,
        )
        assert moved.status_code == 307 and moved.headers["location"] == "https://id.example.gov/login?lang=es"
        # No X-Forwarded-Host: nothing says which host the browser used, so the page is served.
        assert browser.get("/login", headers=PAGE, follow_redirects=False).status_code == 200


def test_start_up_says_once_that_pages_are_not_redirected_when_the_issuer_is_not_on_this_machine(
    services, monkeypatch, caplog
):
    with TestClient(create_app(services=services)):
        pass
    assert not [r for r in caplog.records if "CIVID_TRUST_FORWARDED_HOST" in r.getMessage()]
    monkeypatch.setattr(services.settings, "issuer", "https://id.example.gov")
    with TestClient(create_app(services=services), base_url="http://civid:8000") as browser:
        browser.get("/login", headers=PAGE)
        browser.get("/login", headers=PAGE)
    said = [r for r in caplog.records if "CIVID_TRUST_FORWARDED_HOST" in r.getMessage()]
    assert len(said) == 1 and said[0].levelname == "WARNING", [r.getMessage() for r in caplog.records]
    assert "https://id.example.gov" in said[0].getMessage()
