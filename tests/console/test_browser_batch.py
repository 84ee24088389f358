"""A registration drive's results in a real browser (Chromium, through ``civid serve``): the officer uploads the
ZIP with the form, the page follows the progress and shows each result as a reader sees it — the UIN on its own
line, apart from the link, a case as whom it is against, problem rows on their own — and passes axe-core."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import launch, needs_chromium
from tests.conftest import fixture_bytes
from tests.console.test_batch import person_json, zip_of
from tests.console.test_browser_console_flow import Console, assert_accessible, console, staff_page  # noqa: F401

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from launch()


def test_an_officer_reads_a_drives_results_in_the_browser(console: Console, chromium: Any, tmp_path) -> None:
    archive = tmp_path / "drive.zip"
    archive.write_bytes(
        zip_of(
            {
                "drive/01-collins/person.json": person_json(given_name="Eileen", family_name="Collins"),
                "drive/01-collins/face.png": fixture_bytes("collins_nasa_portrait.png"),
                "drive/02-obama/person.json": person_json(given_name="Barack", family_name="Obama"),
                "drive/02-obama/face.jpg": fixture_bytes("obama_2010_blue_room.jpg"),
                "drive/03-empty/": b"",
                "drive/04-no-photo/person.json": person_json(),
            }
        )
    )
    context, page = staff_page(chromium, console, console.staffed.officer.uin, "Batch desk")
    try:
        page.goto(console.url + "/console/batch")
        assert "each photo or fingerprint file at most 8 MiB" in page.locator("#archive-hint").inner_text()
        page.set_input_files("#archive", str(archive))
        page.click("#batch-form button[type=submit]")
        page.wait_for_url(re.compile(r"/console/batch/[0-9a-f-]{36}$"))
        page.locator('#batch-progress[data-status="completed"]').wait_for(timeout=180_000)  # batch.js reloads it

        collins = page.locator('tr[data-package="drive/01-collins"] td.details').inner_text()
        uin = re.search(r"^UIN (\d{10})$", collins, re.M)
        assert uin and not re.search(r"\d{10}\S", collins), collins  # not "7983889919open"
        assert "Open the enrolment" in collins
        obama = page.locator('tr[data-package="drive/02-obama"] td.details').inner_text()
        assert f"Possible duplicate of Barack Obama, UIN {console.staffed.officer.uin}" in obama
        assert page.locator("tr[data-package]").count() == 4  # the empty folder has its row
        assert page.locator("#progress-text").inner_text() == "4 of 4 people processed"
        assert_accessible(page, "batch results")

        page.click("#show-problems")
        page.wait_for_url(re.compile(r"show=problems$"))
        shown = page.locator("tr[data-package]").evaluate_all("rows => rows.map(r => r.dataset.package)")
        assert shown == ["drive/03-empty", "drive/04-no-photo"]
        assert "The folder is empty." in page.locator('tr[data-package="drive/03-empty"]').inner_text()
    finally:
        context.close()
