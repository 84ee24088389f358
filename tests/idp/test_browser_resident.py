"""The resident's own controls in a real browser (Debian's Chromium via Playwright, against ``civid serve``): sign in
with the face, make a temporary Virtual ID on /account and read it off the page once, revoke it, lock and unlock
officer verification, and ask for a lost UIN at /recover-uin in Spanish — each page free of serious
accessibility violations (axe-core), and the UIN never on the recovery page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from tests.browser import accessibility_violations, needs_chromium, screenshot
from tests.idp.frontchannel import fresh_photo
from tests.idp.test_browser_passkey import Civid, chromium, civid  # noqa: F401 - module fixtures

pytestmark = needs_chromium


def photo_file(folder: Path, name: str) -> str:
    path = folder / name
    path.write_bytes(fresh_photo()[1])  # bytes never sent before (a photo file is accepted once)
    return str(path)


def sign_in_with_face(civid: Civid, page: Any, folder: Path) -> None:
    page.goto(civid.url + "/login")
    page.fill("#uin", civid.uin)
    page.set_input_files("#photo", photo_file(folder, "login.jpg"))
    page.click("#face-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/account$"))


def test_the_resident_makes_reads_and_revokes_a_virtual_id_and_locks_a_method(
    civid: Civid,  # noqa: F811 - the fixture
    chromium: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    context = chromium.new_context(locale="en-GB", bypass_csp=True)
    page = context.new_page()
    sign_in_with_face(civid, page, tmp_path)
    assert page.locator("#vids-heading").inner_text() == "Virtual IDs"
    assert accessibility_violations(page) in ([], None)

    page.click("button[name=kind][value=temporary]")
    shown = page.locator("#new-vid").inner_text()
    number = shown.replace(" ", "")
    assert re.fullmatch(r"\d{16}", number) and civid.uin not in number
    assert "shown only this once" in page.content()
    screenshot(page, "account-vid-created")
    assert accessibility_violations(page) in ([], None)

    # The officer's desk accepts it in place of the UIN and answers with the VID, never the UIN.
    photo = Path(photo_file(tmp_path, "desk.jpg")).read_bytes()
    verified = httpx.post(
        civid.url + "/v1/verify",
        headers=civid.officer,
        data={"uin": number},
        files={"photo": ("p.jpg", photo, "image/jpeg")},
        timeout=60,
    )
    assert verified.status_code == 200 and verified.json()["uin"] == number and civid.uin not in verified.text

    page.click("text=Back to your account")
    row = page.locator("tr", has_text=f"•••• {number[-4:]}")
    assert "Used" in row.inner_text()  # a temporary VID is spent by its first use

    page.click("button[name=kind][value=perpetual]")
    perpetual = page.locator("#new-vid").inner_text().replace(" ", "")
    page.click("text=Back to your account")
    page.locator("tr", has_text=f"•••• {perpetual[-4:]}").locator("button", has_text="Revoke").click()
    assert "no longer works" in page.locator("div.success[role=status]").inner_text()
    assert "Revoked" in page.locator("tr", has_text=f"•••• {perpetual[-4:]}").inner_text()

    officer_row = page.locator("form[action='/account/methods/officer_verification']")
    officer_row.locator("button[value=lock]").click()
    assert "The method is locked." in page.locator("div.success[role=status]").inner_text()
    refused = httpx.post(
        civid.url + "/v1/verify",
        headers=civid.officer,
        data={"uin": civid.uin},
        files={"photo": ("p.jpg", Path(photo_file(tmp_path, "desk2.jpg")).read_bytes(), "image/jpeg")},
        timeout=60,
    )
    assert refused.status_code == 403 and refused.json()["method"] == "officer_verification"
    page.locator("form[action='/account/methods/officer_verification'] button[value=unlock]").click()
    assert "The method is unlocked." in page.locator("div.success[role=status]").inner_text()
    context.close()


def test_a_lost_uin_is_asked_for_in_spanish_and_never_shown(
    civid: Civid,  # noqa: F811
    chromium: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    context = chromium.new_context(locale="es-ES", bypass_csp=True)
    page = context.new_page()
    page.goto(civid.url + "/login")
    page.click("a[href='/recover-uin']")
    assert page.locator("h1").inner_text() == "Recupere su número de identidad"
    assert accessibility_violations(page) in ([], None)
    page.fill("#date_of_birth", "1988-03-14")
    page.set_input_files("#photo", photo_file(tmp_path, "recover.jpg"))
    page.click("#recover-form button[type=submit]")
    answer = page.locator("#recover-answer").inner_text()
    assert answer.startswith("Si su rostro y su fecha de nacimiento coinciden con un registro")
    assert civid.uin not in page.content()
    screenshot(page, "recover-uin-sent")
    context.close()
