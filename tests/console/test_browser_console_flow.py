"""The whole console in a real browser, as the issue describes it: staff sign in with passkeys (Chromium's
virtual authenticator) through civid's own OpenID provider; an officer enrols a person from the desk camera
(Chromium's fake camera films a test photo); a second enrolment of the same person opens a case; an
adjudicator compares the two side by side and decides; an auditor finds both events. axe-core checks each
main page for serious or critical accessibility violations. ``CIVID_SCREENSHOTS=1`` saves the pages to docs/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser import accessibility_violations, needs_chromium, screenshot, with_authenticator
from tests.conftest import build_seed
from tests.console.fake_camera import chromium_with_desk_camera, fill_enrolment_with_camera
from tests.console.helpers import Staffed, enrol_staff
from tests.server import ServerProcess

pytestmark = needs_chromium


class Console:
    def __init__(self, url: str, admin_key: dict[str, str], staffed: Staffed) -> None:
        # Staff members' passkey codes are an admin's to issue (idp.passkey_bindings.authorise).
        self.url, self.admin_key, self.staffed = url, admin_key, staffed


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """``civid serve`` (passkeys required for staff, the default) over a data folder with two staff members."""
    root = tmp_path_factory.mktemp("console-flow")
    keys, staffed = build_seed(root, enrol_staff)
    server = ServerProcess({"CIVID_DATA_DIR": str(root / "var")}, root / "server.log")
    url = f"http://localhost:{server.port}"  # WebAuthn and getUserMedia need a secure context: localhost is one
    server.env["CIVID_ISSUER"] = url
    server.start(timeout=120)
    try:
        yield Console(url, keys.admin, staffed)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from chromium_with_desk_camera(tmp_path_factory.mktemp("camera"))


def staff_page(chromium: Any, console: Console, uin: str, label: str, **context_options: Any) -> tuple[Any, Any]:
    """A browser of a staff member: a passkey bound at the desk, then signed in to the console with it.
    The context bypasses CSP only so that axe-core can be injected; the pages' own CSP is tested elsewhere."""
    context = chromium.new_context(locale="en-GB", permissions=["camera"], bypass_csp=True, **context_options)
    page = context.new_page()
    with_authenticator(context, page)
    issued = httpx.post(f"{console.url}/v1/identities/{uin}/passkey-bindings", headers=console.admin_key)
    assert issued.status_code == 201, issued.text
    page.goto(console.url + "/passkeys/bind")
    page.fill("#code", issued.json()["code"])
    page.fill("#label", label)
    page.click("button[type=submit]")
    page.locator("#passkey-create").click()
    page.locator("[data-passkey-next]").wait_for(state="visible")

    page.goto(console.url + "/console")  # → /console/login → /authorize → the login page (passkey only)
    page.wait_for_url(lambda url: "/login/" in url)
    assert page.locator("#face-form").count() == 0, "staff sign-in must not offer the face method"
    page.click("#passkey-login")
    page.wait_for_url(lambda url: "/consent/" in url or url.endswith("/console"))
    if "/consent/" in page.url:
        page.click("button[value=approve]")
    page.wait_for_url(console.url + "/console")
    return context, page


def assert_accessible(page: Any, what: str) -> None:
    violations = accessibility_violations(page)
    assert not violations, f"{what}: {violations}"


def fill_enrolment(page: Any, console: Console, given_name: str, date_of_birth: str) -> None:
    """Fill the enrolment form and take the photo with the desk camera; its verdict must show before sending."""
    page.goto(console.url + "/console/enrol")
    fill_enrolment_with_camera(page, given_name, date_of_birth)
    page.select_option("#finger_2_missing", "unable_to_capture")
    page.select_option("#fingers_rest_missing", "unable_to_capture")  # every finger is an explicit choice


def test_officer_enrols_twice_adjudicator_decides_auditor_finds_both(console: Console, chromium: Any) -> None:
    # The officer signs in with a passkey and enrols Eileen Collins from the desk camera.
    officer, page = staff_page(chromium, console, console.staffed.officer.uin, "Desk 3")
    screenshot(page, "console-home")
    assert_accessible(page, "console home")
    fill_enrolment(page, console, "Eileen", "1956-11-19")
    screenshot(page, "console-enrol")
    assert_accessible(page, "enrolment form")
    page.click("#enrol-submit")
    page.wait_for_url(lambda url: "/console/enrolments/" in url)
    assert page.locator("#outcome").get_attribute("data-status") == "issued"
    uin = page.locator("#uin").inner_text().strip()
    screenshot(page, "console-outcome")
    assert_accessible(page, "enrolment outcome (with the ID card action)")
    with page.expect_download() as card:  # the person's ID card, issued at the first press (credentials/)
        page.click("#card-print")
    assert Path(card.value.path()).read_bytes().startswith(b"%PDF-")
    assert card.value.suggested_filename.startswith("id-card-")

    # The same face again, other details: a possible duplicate, so a case and no UIN.
    fill_enrolment(page, console, "Eileen Marie", "1956-11-20")
    page.click("#enrol-submit")
    page.wait_for_url(lambda url: "/console/enrolments/" in url)
    assert page.locator("#outcome").get_attribute("data-status") == "pending_adjudication"
    assert page.locator("#uin").count() == 0
    # An officer cannot adjudicate.
    assert page.goto(console.url + "/console/cases").status == 403
    officer.close()

    # The adjudicator compares the two side by side and decides.
    adjudicator, page = staff_page(chromium, console, console.staffed.adjudicator.uin, "Adjudication desk")
    page.goto(console.url + "/console/cases")
    assert_accessible(page, "case queue")
    page.locator("a[href^='/console/cases/']").first.click()
    page.wait_for_url(lambda url: "/console/cases/" in url)
    text = page.locator("main").inner_text()
    assert "Eileen Marie" in text and uin in text  # applicant and candidate on one page
    assert page.locator("img[src*='/photos/']").count() >= 2  # both faces, for the adjudicator only
    # What "duplicate" would do with the applicant's data, in words, before the adjudicator chooses it.
    assert (
        "their names, address and documents do not replace the candidate's record"
        in page.locator("#duplicate-effect").inner_text()
    )
    screenshot(page, "console-case")
    assert_accessible(page, "case page")
    page.check("input[name=decision][value=duplicate]")
    page.check(f"input[name=duplicate_of][value='{uin}']")
    page.fill("#field-comment", "Same face and place of birth; the date of birth was mistyped.")
    page.click("form:has(#field-comment) button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".success[role=status]").count() == 1
    assert page.locator("img[src*='/photos/']").count() == 0  # the case is closed: no more photos
    assert page.locator("#decision-history tbody tr").count() == 1  # decision 1 in its history table
    assert f"kept as an attempt against UIN {uin}" in page.locator("#attempt-recorded").inner_text()
    assert_accessible(page, "decided case page")

    # The auditor (the same person holds that role too) finds both events about Eileen Collins.
    page.goto(f"{console.url}/console/audit?person={uin}")
    results = page.locator("table").last.inner_text()
    assert "enrolment.issued" in results and "case.decided" in results and "identity.duplicate_attempt" in results
    screenshot(page, "console-audit")
    assert_accessible(page, "audit search")
    adjudicator.close()


def test_console_pages_fit_a_tablet_screen(console: Console, chromium: Any) -> None:
    # A registration drive's tablet in portrait: no page may need sideways scrolling (the case table may: it
    # scrolls inside its own box when there are several candidates).
    tablet = {"viewport": {"width": 820, "height": 1180}, "has_touch": True}
    for person, paths in (
        (console.staffed.officer, ("/console", "/console/enrol", "/console/batch")),
        (console.staffed.adjudicator, ("/console/cases", "/console/audit")),
    ):
        context, page = staff_page(chromium, console, person.uin, "Tablet", **tablet)
        for path in paths:
            page.goto(console.url + path)
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} is {overflow} px too wide for a tablet"
        context.close()


def test_an_unattended_desk_takes_the_case_off_the_screen(console: Console, chromium: Any) -> None:
    context, page = staff_page(chromium, console, console.staffed.adjudicator.uin, "Desk clock")
    page.clock.install()
    page.goto(console.url + "/console/audit")
    page.clock.fast_forward(10 * 60 * 1000)  # ten minutes without a key press: still there
    assert page.url.endswith("/console/audit")
    page.clock.fast_forward(6 * 60 * 1000)  # past the 15-minute idle timeout
    page.wait_for_url(lambda url: "/console/audit" not in url)
    context.close()
