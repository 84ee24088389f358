"""With the dedup left to ``civid abis worker`` processes, the officer's outcome page in a real browser says the
enrolment is being checked and updates itself when the worker decides: no click, no reload by hand."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import needs_chromium
from tests.conftest import build_seed
from tests.console.fake_camera import chromium_with_desk_camera, fill_enrolment_with_camera
from tests.console.helpers import enrol_staff
from tests.console.test_browser_enrol import signed_in_page
from tests.server import ServerProcess, WorkerProcess

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def civid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, dict[str, str], Any]]:
    """``civid serve`` answering enrolments at once (pending_dedup), no worker yet; (URL, officer UIN, the
    environment a worker needs, the folder)."""
    root = tmp_path_factory.mktemp("console-pending")
    _, staffed = build_seed(root, enrol_staff)
    data = root / "var"
    shared = {
        "CIVID_DATABASE_URL": f"sqlite:///{(data / 'civid.db').resolve()}",
        "CIVID_TEMPLATE_KEYS_FILE": str(data / "keys" / "template-keys.json"),
        "CIVID_DEDUP_INLINE": "false",
        "CIVID_DEDUP_WAIT_S": "0",
    }
    server = ServerProcess(
        {"CIVID_DATA_DIR": str(data), "CIVID_CONSOLE_REQUIRE_PASSKEY": "false", **shared}, root / "server.log"
    )
    url = f"http://localhost:{server.port}"  # getUserMedia needs a secure context: localhost is one
    server.env["CIVID_ISSUER"] = url
    server.start(timeout=120)
    try:
        yield url, staffed.officer.uin, shared, root
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from chromium_with_desk_camera(tmp_path_factory.mktemp("camera"))


def test_the_outcome_page_shows_the_workers_decision_by_itself(civid: Any, chromium: Any) -> None:
    url, uin, shared, root = civid
    context, page, _ = signed_in_page(chromium, url, uin, "/console/enrol")
    fill_enrolment_with_camera(page, "Eileen", "1956-11-19")
    page.select_option("#fingers_rest_missing", "unable_to_capture")
    page.click("#enrol-submit")
    page.wait_for_url(lambda current: "/console/enrolments/" in current)
    assert page.locator("#outcome").get_attribute("data-status") == "pending_dedup"

    worker = WorkerProcess({"CIVID_DATA_DIR": str(root / "worker"), **shared}, root / "worker.log").start()
    try:
        page.locator('#outcome[data-status="issued"]').wait_for(timeout=60_000)  # the page reloaded itself
    finally:
        worker.stop()
    assert page.locator("#uin").inner_text().strip()
    assert "auto=1" in page.url  # the reload, not the officer
    context.close()
