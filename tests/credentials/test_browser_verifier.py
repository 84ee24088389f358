"""The card verifier page in a real browser (Debian's Chromium via Playwright) against ``civid serve``: a card's
QR pasted, read from a photo and scanned by the (fake) camera is checked in the page — signature with WebCrypto
against /v1/credentials/jwks.json, dates, the photo beside the claims, the card's bit in the signed status list —
and, after the page was loaded once, with the server stopped and the browser offline. A tampered QR is INVALID, one
signed by a key civid never published is refused as an unknown key, a revoked card shows revoked; English and
Spanish, free of serious accessibility violations."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import claim169
import cv2
import numpy as np
import pytest
import segno

from civid.actor import Actor
from civid.uin import verhoeff_check_digit
from credentials import status, verifier_page
from models import CredentialStatus, Identity, utcnow
from server.services import Services, build_services
from tests.browser import CHROMIUM, CHROMIUM_ARGS, accessibility_violations, launch, needs_chromium, screenshot
from tests.conftest import make_settings
from tests.credentials.card_qr import card_qr, identity_claims, small_photo, stranger_signer, tampered
from tests.server import ServerProcess

pytestmark = needs_chromium
if not verifier_page.JSQR.is_file() and os.environ.get("CI"):
    raise RuntimeError(f"jsQR is required in CI at {verifier_page.JSQR} (make installs it with npm ci)")
needs_jsqr = pytest.mark.skipif(
    not verifier_page.JSQR.is_file(), reason="jsQR is not installed (npm ci --prefix credentials/verifier); CI has it"
)
YEAR_S = 365 * 86400
OFFICER = Actor(None, "officer-1", "officer")


@dataclass
class Verifier:
    server: ServerProcess
    url: str
    services: Services  # the test's own view of the server's database and keys
    kid: str
    uin: str
    identity_id: int

    def card(self, *, photo: bool = True, revocable: bool = True) -> tuple[str, CredentialStatus | None]:
        """A card QR signed with civid's credential key, with a fresh status slot when ``revocable``."""
        now = int(time.time())
        row = None
        reference = None
        if revocable:
            with self.services.sessions.begin() as db:
                row = status.allocate(
                    db,
                    self.services.settings.status_list_size,
                    identity_id=self.identity_id,
                    kind="card",
                    claims=["given_name", "family_name", "date_of_birth", "sex", "face"],
                    expires_at=utcnow() + timedelta(days=3650),
                )
                reference = status.reference(self.url, row)
        qr = card_qr(
            self.services.credential_keys.sign_bytes,
            self.kid,
            identity_claims(self.uin, small_photo() if photo else None),
            issuer=self.url,
            issued_at=now - 60,
            expires_at=now + 10 * YEAR_S,
            card_number="C-000123",
            status=reference,
        )
        return qr, row


def start_verifier(root: Path) -> Verifier:
    """``civid serve`` at http://localhost:<port> (a secure context: service workers and WebCrypto) with one
    identity in its database."""
    server = ServerProcess({"CIVID_DATA_DIR": str(root / "var")}, root / "server.log")
    url = f"http://localhost:{server.port}"
    server.env["CIVID_ISSUER"] = url
    services = build_services(make_settings(root, issuer=url), open_gallery=False)
    digits = "405807526"
    uin = digits + verhoeff_check_digit(digits)
    with services.sessions.begin() as db:
        identity = Identity(uin=uin, status="active")
        db.add(identity)
        db.flush()
        identity_id = identity.id
    kid, _ = services.credential_keys.sign_bytes(b"which key signs now")
    server.start(timeout=120)
    return Verifier(server, url, services, kid, uin, identity_id)


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Verifier]:
    running = start_verifier(tmp_path_factory.mktemp("verifier"))
    try:
        yield running
    finally:
        running.server.stop()
        running.services.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from launch()


def check_pasted(page: Any, qr: str) -> None:
    page.fill("#qr-text", qr)
    page.click("#paste-form button[type=submit]")
    page.locator("#verdict[data-state]").wait_for()
    if page.locator("#verdict").get_attribute("data-state") == "valid":
        page.locator("#revocation[data-state]").wait_for()


def open_page(context: Any, url: str) -> Any:
    page = context.new_page()
    page.goto(url)
    page.locator("#verifier[data-ready=true]").wait_for()
    return page


def test_a_card_is_verified_with_its_photo_and_status_and_the_page_is_accessible(
    verifier: Verifier, chromium: Any
) -> None:
    context = chromium.new_context(locale="en-GB", bypass_csp=True)
    page = open_page(context, verifier.url + "/verify")
    assert page.locator("h1").inner_text() == "Check an ID card"
    # jsQR from the npm registry, served by civid
    assert page.locator("#scanner-unavailable").is_hidden() == verifier_page.JSQR.is_file()
    qr, _ = verifier.card()
    check_pasted(page, qr)
    assert page.locator("#verdict").get_attribute("data-state") == "valid"
    assert "Signature valid" in page.locator("#verdict").inner_text()
    assert page.locator("#key-id").inner_text() == verifier.kid
    assert page.locator("#validity").get_attribute("data-state") == "valid_until"
    assert page.locator("#revocation").inner_text() == "Not revoked (checked online just now)."
    assert page.locator("dd[data-field=full_name]").inner_text() == "Barack Hussein Obama"
    assert page.locator("dd[data-field=date_of_birth]").inner_text() == "1961-08-04"
    assert page.locator("dd[data-field=gender]").inner_text() == "Male"
    assert page.locator("dd[data-field=id]").inner_text() == verifier.uin
    assert page.locator("dd[data-field=card_number]").inner_text() == "C-000123"
    photo = page.locator("#photo")
    assert photo.is_visible() and photo.get_attribute("src").startswith("blob:")
    assert page.evaluate("document.getElementById('photo').naturalWidth") == 48  # the JPEG decoded
    screenshot(page, "card-verifier")
    assert accessibility_violations(page) in ([], None)
    context.close()


def test_a_qr_built_by_the_independent_claim169_package_verifies(verifier: Verifier, chromium: Any) -> None:
    meta = claim169.CwtMetaInput(issuer=verifier.url, expires_at=int(time.time()) + YEAR_S)
    person = claim169.Claim169Input(id=verifier.uin, full_name="Barack Obama", date_of_birth="19610804", gender=1)
    qr = claim169.encode_with_signer(
        person,
        meta,
        lambda _alg, _kid, data: verifier.services.credential_keys.sign_bytes(data)[1],
        "ES256",
        key_id=verifier.kid.encode(),
    )
    context = chromium.new_context(locale="en-GB")
    page = open_page(context, verifier.url + "/verify")
    check_pasted(page, qr)
    assert page.locator("#verdict").get_attribute("data-state") == "valid"
    assert page.locator("#revocation").get_attribute("data-state") == "none"  # the package writes no status
    assert page.locator("dd[data-field=full_name]").inner_text() == "Barack Obama"
    context.close()


def test_a_tampered_qr_is_invalid_and_a_stranger_key_is_unknown(verifier: Verifier, chromium: Any) -> None:
    context = chromium.new_context(locale="en-GB")
    page = open_page(context, verifier.url + "/verify")
    genuine, _ = verifier.card(photo=True)
    check_pasted(page, genuine)
    assert page.locator("#photo").is_visible() and page.locator("#unverified").is_hidden()
    check_pasted(page, tampered(genuine, b"19610804", b"19710804"))
    assert page.locator("#verdict").get_attribute("data-state") == "invalid"
    assert "Signature INVALID" in page.locator("#verdict").inner_text()
    # What the altered QR says is shown only marked as unverified: no green validity, no photo to compare.
    assert page.locator("dd[data-field=date_of_birth]").inner_text() == "1971-08-04"
    assert page.locator("#claims").get_attribute("data-verified") == "false"
    assert page.locator("#unverified").is_visible()
    assert page.locator("#unverified").inner_text().startswith("UNVERIFIED")
    assert page.locator("#validity").get_attribute("data-state") == "validity_unchecked"
    assert "good" not in (page.locator("#validity").get_attribute("class") or "")
    assert page.locator("#photo").is_hidden()
    assert page.locator("#revocation").get_attribute("data-state") == "unchecked"

    sign, _key = stranger_signer()
    now = int(time.time())
    forged = card_qr(
        sign, "not-a-civid-key", identity_claims(verifier.uin), issuer=verifier.url, issued_at=now,
        expires_at=now + YEAR_S, card_number="C-999",
    )  # fmt: skip
    check_pasted(page, forged)
    assert page.locator("#verdict").get_attribute("data-state") == "unknown_key"
    assert page.locator("#key-id").inner_text() == "not-a-civid-key"
    assert page.locator("#validity").get_attribute("data-state") == "validity_unchecked"  # its dates prove nothing
    assert page.locator("#unverified").is_visible()

    check_pasted(page, genuine)  # a genuine card after a forged one: nothing of the forged one's marks stays
    assert page.locator("#claims").get_attribute("data-verified") == "true"
    assert page.locator("#unverified").is_hidden() and page.locator("#photo").is_visible()
    assert page.locator("#validity").get_attribute("data-state") == "valid_until"

    check_pasted(page, "HELLO WORLD")
    assert page.locator("#verdict").get_attribute("data-state") == "not_a_card"
    context.close()


def test_a_revoked_card_shows_revoked_online(verifier: Verifier, chromium: Any) -> None:
    context = chromium.new_context(locale="en-GB")
    page = open_page(context, verifier.url + "/verify")
    qr, row = verifier.card(photo=False)
    check_pasted(page, qr)
    assert page.locator("#revocation").get_attribute("data-state") == "valid"
    assert row is not None
    with verifier.services.sessions.begin() as db:
        assert status.revoke(db, db.get(CredentialStatus, row.id), "reported lost", OFFICER)
    check_pasted(page, qr)
    assert page.locator("#verdict").get_attribute("data-state") == "valid"  # the signature still holds
    assert page.locator("#revocation").get_attribute("data-state") == "revoked"
    assert page.locator("#revocation").inner_text().startswith("REVOKED")
    context.close()


def test_the_spanish_page_and_an_expired_card(verifier: Verifier, chromium: Any) -> None:
    context = chromium.new_context(locale="es-ES", bypass_csp=True)
    page = open_page(context, verifier.url + "/verify")
    assert page.locator("h1").inner_text() == "Comprobar una cédula de identidad"
    now = int(time.time())
    expired = card_qr(
        verifier.services.credential_keys.sign_bytes, verifier.kid, identity_claims(verifier.uin),
        issuer=verifier.url, issued_at=now - 2 * YEAR_S, expires_at=now - YEAR_S, card_number="C-1",
    )  # fmt: skip
    check_pasted(page, expired)
    assert page.locator("#verdict").inner_text().startswith("Firma válida")
    assert page.locator("#validity").get_attribute("data-state") == "expired"
    assert page.locator("#validity").inner_text().startswith("VENCIDA el ")
    assert page.locator("dd[data-field=gender]").inner_text() == "Masculino"
    assert accessibility_violations(page) in ([], None)
    context.close()


def test_without_jsqr_the_page_says_so_and_still_takes_pasted_text(verifier: Verifier, chromium: Any) -> None:
    context = chromium.new_context(locale="en-GB")
    context.route("**/verify/jsQR.js", lambda route: route.fulfill(status=404, body="not installed"))  # no npm
    page = open_page(context, verifier.url + "/verify")
    assert page.locator("#scanner-unavailable").is_visible()
    assert page.locator("#camera-start").is_disabled() and page.locator("#qr-image").is_disabled()
    qr, _ = verifier.card(photo=False)
    check_pasted(page, qr)
    assert page.locator("#verdict").get_attribute("data-state") == "valid"
    context.close()


# --- QR images --------------------------------------------------------------------------------------------
def qr_image(text: str, module_px: int = 6) -> np.ndarray:
    """The QR of ``text`` as a grey image (white quiet zone of 4 modules)."""
    matrix = np.array(segno.make(text, error="l").matrix, dtype=np.uint8)
    modules = np.pad(matrix, 4)
    return np.kron(255 - modules * 255, np.ones((module_px, module_px), dtype=np.uint8))


@needs_jsqr
def test_a_photo_of_the_qr_is_read(verifier: Verifier, chromium: Any, tmp_path: Path) -> None:
    qr, _ = verifier.card(photo=False)
    path = tmp_path / "qr.png"
    cv2.imwrite(str(path), qr_image(qr))
    context = chromium.new_context(locale="en-GB")
    page = open_page(context, verifier.url + "/verify")
    page.set_input_files("#qr-image", str(path))
    page.locator("#revocation[data-state]").wait_for()
    assert page.locator("#verdict").get_attribute("data-state") == "valid"
    assert page.locator("#qr-text").input_value() == qr
    context.close()


def y4m_of(image: np.ndarray, path: Path, width: int = 640, height: int = 480, frames: int = 10) -> None:
    """A still QR as a Y4M video for Chromium's fake camera (--use-file-for-fake-video-capture)."""
    frame = np.full((height, width), 255, dtype=np.uint8)
    h, w = image.shape
    frame[(height - h) // 2 : (height - h) // 2 + h, (width - w) // 2 : (width - w) // 2 + w] = image
    yuv = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), cv2.COLOR_BGR2YUV_I420)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + yuv.tobytes())


@needs_jsqr
def test_the_camera_scans_the_qr(verifier: Verifier, chromium: Any, tmp_path: Path) -> None:
    qr, _ = verifier.card(photo=False)
    video = tmp_path / "qr.y4m"
    image = qr_image(qr, module_px=5)
    assert image.shape[0] <= 480, "the QR must fit the fake camera's frame"
    y4m_of(image, video)
    camera = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    # A second Chromium of the same Playwright, with the fake camera playing the QR.
    browser = chromium.browser_type.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + camera)
    try:
        context = browser.new_context(locale="en-GB", permissions=["camera"])
        page = open_page(context, verifier.url + "/verify")
        page.click("#camera-start")
        page.locator("#revocation[data-state]").wait_for(timeout=30_000)
        assert page.locator("#verdict").get_attribute("data-state") == "valid"
        assert page.locator("#camera").is_hidden()  # the camera stops once a card is read
        assert page.locator("#qr-text").input_value() == qr
    finally:
        browser.close()


# --- offline ---------------------------------------------------------------------------------------------
def test_the_page_verifies_with_the_server_stopped_and_the_browser_offline(
    chromium: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    own = start_verifier(tmp_path_factory.mktemp("offline"))
    try:
        qr, _ = own.card()
        context = chromium.new_context(locale="es-ES")
        page = open_page(context, own.url + "/verify?lang=es")
        page.locator("html[data-offline-ready=true]").wait_for(timeout=30_000)
        check_pasted(page, qr)
        assert page.locator("#revocation").get_attribute("data-state") == "valid"  # online: checked

        own.server.stop()
        context.set_offline(True)
        page.reload()  # the service worker answers: page, scripts, jsQR and the keys from its cache
        page.locator("#verifier[data-ready=true]").wait_for()
        assert page.locator("h1").inner_text() == "Comprobar una cédula de identidad"
        # jsQR was kept too
        assert page.locator("#scanner-unavailable").is_hidden() == verifier_page.JSQR.is_file()
        check_pasted(page, qr)
        assert page.locator("#verdict").get_attribute("data-state") == "valid"
        assert page.locator("#revocation").get_attribute("data-state") == "offline"
        assert page.locator("#revocation").inner_text() == "Revocación no comprobada (sin conexión)."
        check_pasted(page, tampered(qr, b"19610804", b"19710804"))
        assert page.locator("#verdict").get_attribute("data-state") == "invalid"  # still checked offline
        context.close()
    finally:
        own.server.stop()
        own.services.close()
