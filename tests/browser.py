"""Real-browser test support: Debian's Chromium driven by Playwright, the DevTools virtual authenticator,
screenshots for the README, and axe-core accessibility checks.

CI must run the browser tests (``.ci/run`` installs ``chromium`` and ``axe-core``); elsewhere they skip
with the reason when Chromium is missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIRTUAL_AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
}

if not CHROMIUM.exists() and os.environ.get("CI"):
    raise RuntimeError("Debian chromium is required in CI at /usr/bin/chromium (apt-get install chromium)")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian chromium is not installed at /usr/bin/chromium (apt-get install chromium); CI installs it",
)


def launch(extra_args: list[str] | None = None) -> Iterator[Any]:
    """A headless Chromium for a module's tests (use from a fixture with ``yield from``)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + (extra_args or []))
        yield browser
        browser.close()


def with_authenticator(context: Any, page: Any) -> tuple[Any, str]:
    """Chromium's virtual platform authenticator (resident keys, user verification) on this page."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_AUTHENTICATOR})
    return cdp, added["authenticatorId"]


def screenshot(page: Any, name: str) -> None:
    """Save a full-page PNG under docs/screenshots when CIVID_SCREENSHOTS=1 (for the README)."""
    if os.environ.get("CIVID_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def accessibility_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict] | None:
    """axe-core's violations of ``impacts`` on the current page (the page's context must bypass CSP so the
    script can be injected); None when axe-core is not installed outside CI."""
    if not AXE.exists():
        if os.environ.get("CI"):
            raise RuntimeError(f"axe-core is required in CI at {AXE} (.ci/run installs it)")
        return None
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .map(v => ({
            id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
        }))""")
    return [violation for violation in found if violation["impact"] in impacts]
