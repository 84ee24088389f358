"""The officer's pages in a real browser against ``civid serve``: Debian's Chromium (Playwright) with a fake desk
camera that films a test photo. The officer signs in (face login), takes the photo with the camera, sees its
quality verdict and a finger's NFIQ 2 score before sending, enrols, opens the printable receipt; then uploads
a registration drive and watches the progress bar finish. No page may trip the Content-Security-Policy."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import needs_chromium
from tests.conftest import build_seed, fixture_bytes, person
from tests.console.fake_camera import chromium_with_desk_camera, fill_enrolment_with_camera
from tests.console.helpers import enrol_staff
from tests.enrollment.test_fingerprints import finger
from tests.idp.frontchannel import fresh_photo
from tests.server import ServerProcess

pytestmark = needs_chromium
NAMES = (
    "Ana",
    "Berta",
    "Carla",
    "Dora",
    "Elena",
    "Flor",
    "Gema",
    "Hilda",
    "Inés",
    "Julia",
    "Karla",
    "Lidia",
    "Marta",
    "Nora",
    "Olga",
    "Paula",
    "Queta",
    "Rosa",
    "Sara",
    "Tina",
)  # enough for a few seconds of progress


@pytest.fixture(scope="module")
def civid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``civid serve`` over a data folder with two staff members; (its URL, the officer's UIN)."""
    root = tmp_path_factory.mktemp("console-browser")
    _, staffed = build_seed(root, enrol_staff)
    server = ServerProcess(
        {"CIVID_DATA_DIR": str(root / "var"), "CIVID_CONSOLE_REQUIRE_PASSKEY": "false"}, root / "server.log"
    )
    url = f"http://localhost:{server.port}"  # getUserMedia needs a secure context: localhost is one
    server.env["CIVID_ISSUER"] = url
    server.start(timeout=120)
    try:
        yield url, staffed.officer.uin
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from chromium_with_desk_camera(tmp_path_factory.mktemp("camera"))


def signed_in_page(chromium: Any, url: str, uin: str, path: str) -> tuple[Any, Any, list[str]]:
    """A page signed in to the console as the officer (face login), at ``path``; and its console errors."""
    context = chromium.new_context(locale="en-GB", permissions=["camera"])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(url + path)
    page.fill("#uin", uin)
    name, data, mime = fresh_photo()
    page.set_input_files("#photo", files=[{"name": name, "mimeType": mime, "buffer": data}])
    page.click("#face-form button[type=submit]")
    page.wait_for_load_state()
    if "/consent/" in page.url:
        page.click("button[value=approve]")
    page.wait_for_url(url + path)
    return context, page, errors


def test_camera_photo_is_checked_at_once_then_enrolled_with_a_receipt(civid: tuple[str, str], chromium: Any) -> None:
    url, uin = civid
    context, page, errors = signed_in_page(chromium, url, uin, "/console/enrol")
    fill_enrolment_with_camera(page, "Eileen", "1956-11-19")
    assert page.evaluate("() => document.querySelector('#photo').files[0].type") == "image/jpeg"

    page.set_input_files(
        "#finger_2", files=[{"name": "finger-2.png", "mimeType": "image/png", "buffer": finger(501, 0)}]
    )
    finger_verdict = page.locator("#quality-finger_2.passed, #quality-finger_2.refused")
    finger_verdict.wait_for(timeout=30_000)
    assert "NFIQ 2 score" in finger_verdict.inner_text()
    page.select_option("#finger_7_missing", "bandaged")
    page.select_option("#fingers_rest_missing", "unable_to_capture")  # every finger is an explicit choice

    page.click("#enrol-submit")
    page.wait_for_url(lambda current: "/console/enrolments/" in current)
    assert page.locator("#outcome").get_attribute("data-status") == "issued"
    issued = page.locator("#uin").inner_text()
    page.click("#receipt-link")
    page.locator("#print").wait_for(state="visible")  # print.js shows the button
    assert page.locator("#receipt-uin").inner_text() == issued
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()


def test_a_photo_the_gate_refuses_cannot_be_sent(civid: tuple[str, str], chromium: Any) -> None:
    url, uin = civid
    context, page, errors = signed_in_page(chromium, url, uin, "/console/enrol")
    page.set_input_files(
        "#photo",
        files=[{"name": "turned.jpg", "mimeType": "image/jpeg", "buffer": fixture_bytes("obama_2009_congress.jpg")}],
    )
    page.locator("#face-quality.refused").wait_for(timeout=30_000)
    assert page.locator("#enrol-submit").is_disabled()
    assert "would be refused" in page.locator("#photo-blocked").inner_text()
    page.set_input_files(
        "#photo",
        files=[{"name": "good.png", "mimeType": "image/png", "buffer": fixture_bytes("collins_nasa_portrait.png")}],
    )
    page.locator("#face-quality.passed").wait_for(timeout=30_000)
    assert page.locator("#enrol-submit").is_enabled() and page.locator("#photo-blocked").is_hidden()
    context.close()


def test_a_drive_shows_its_progress_until_complete(civid: tuple[str, str], chromium: Any, tmp_path: Path) -> None:
    url, uin = civid
    archive = tmp_path / "drive.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name in NAMES:
            folder = f"drive/{name.lower()}"
            bundle.writestr(f"{folder}/person.json", json.dumps({"demographics": person(given_name=name)}))
            bundle.writestr(f"{folder}/face.jpg", fixture_bytes("obama_2009_congress.jpg"))  # refused: head turned
    context, page, errors = signed_in_page(chromium, url, uin, "/console/batch")
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if request.url.endswith("/status") else None)
    page.set_input_files("#archive", str(archive))
    page.click("#batch-form button[type=submit]")
    page.wait_for_url(lambda current: "/console/batch/" in current)
    page.wait_for_function(
        "() => document.querySelector('#batch-state').textContent.trim() === 'Completed'", timeout=60_000
    )
    assert polls, "the progress bar was never polled"  # batch.js polled, then reloaded the finished page
    assert page.locator("#progress-bar").get_attribute("value") == str(len(NAMES))
    assert page.locator("[data-count=rejected]").inner_text() == str(len(NAMES))
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()
