"""The card verifier page's HTTP side: served in English and Spanish under civid's strict CSP (no inline script),
its service worker allowed to control /verify, jsQR served by civid from the npm package (a clear 404 without it),
and every script the page needs in the worker's offline list."""

from __future__ import annotations

import json
import re

from credentials import verifier_page
from tests.conftest import assert_problem


def test_the_page_is_served_in_both_languages_with_the_strict_policy(client) -> None:  # type: ignore[no-untyped-def]
    english = client.get("/verify", headers={"Accept-Language": "en"})
    spanish = client.get("/verify?lang=es")
    assert english.status_code == spanish.status_code == 200
    assert "<h1>Check an ID card</h1>" in english.text
    assert "<h1>Comprobar una cédula de identidad</h1>" in spanish.text
    policy = english.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert english.headers["cache-control"] == "no-cache"  # revalidated, and kept by the service worker
    # Every <script> is a file of civid's or a JSON data block: nothing inline runs.
    for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", english.text, re.S):
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes
        assert "src=" not in attributes or not body.strip()
    assert messages(english.text)["verify.status_offline"] == "Revocation not checked (offline)."
    assert messages(spanish.text)["verify.status_offline"] == "Revocación no comprobada (sin conexión)."
    assert set(messages(english.text)) == set(verifier_page.SCRIPT_MESSAGES)


def messages(page: str) -> dict[str, str]:
    """The words the page gives its script (the JSON data block)."""
    found = re.search(r'<script type="application/json" id="verifier-messages">(.*?)</script>', page, re.S)
    assert found
    return json.loads(found.group(1))


def test_the_service_worker_may_control_the_page(client) -> None:  # type: ignore[no-untyped-def]
    worker = client.get("/verify/sw.js")
    assert worker.status_code == 200
    assert worker.headers["service-worker-allowed"] == "/verify"
    assert worker.headers["content-type"].startswith("text/javascript")
    kept = set(re.findall(r'"(/[^"]+)"', worker.text))
    scripts = {f"/verify/assets/{path.name}" for path in verifier_page.STATIC.glob("*.js") if path.name != "sw.js"}
    assert scripts <= kept  # every module the page imports is there offline
    assert {"/verify", "/verify/jsQR.js", "/v1/credentials/jwks.json", "/static/idp/civid.css"} <= kept
    for path in kept - {"/verify/jsQR.js"}:
        assert client.get(path).status_code == 200, path


def test_jsqr_is_served_from_the_npm_package_or_a_clear_404(client, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if verifier_page.JSQR.is_file():
        served = client.get("/verify/jsQR.js")
        assert served.status_code == 200 and served.content == verifier_page.JSQR.read_bytes()
    monkeypatch.setattr(verifier_page, "JSQR", tmp_path / "missing.js")
    missing = assert_problem(client.get("/verify/jsQR.js"), 404)
    assert "npm ci --prefix credentials/verifier" in missing["detail"]
    assert client.get("/verify").status_code == 200  # the page itself does not need it
