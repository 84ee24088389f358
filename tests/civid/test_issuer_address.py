"""The issuer's address: a name by default (WebAuthn refuses an IP address as relying-party id), a refusal to
start with an IP address, and browser pages opened at another host sent to the issuer's."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from civid.app import create_app
from civid.settings import Settings
from tests.server import REPO, free_port

PAGE = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}  # what Chromium sends


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "::1"])
def test_the_default_issuer_is_localhost_where_passkeys_work(host):
    settings = Settings(host=host, port=8000)
    assert settings.resolved_issuer == "http://localhost:8000" and not settings.issuer_host_is_ip_address


@pytest.mark.parametrize("issuer", ["http://127.0.0.1:8000", "http://10.0.0.5", "https://[2001:db8::1]"])
def test_serve_refuses_to_start_with_an_ip_address_as_issuer(tmp_path, issuer):
    env = {**os.environ, "CIVID_DATA_DIR": str(tmp_path / "var"), "CIVID_ISSUER": issuer, "CIVID_PORT": str(free_port())}
    # A server that starts anyway would run until the timeout: that fails the test too.
    result = subprocess.run([sys.executable, "-m", "civid.cli", "serve"], env=env, cwd=REPO, capture_output=True,
                            text=True, timeout=120)
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
