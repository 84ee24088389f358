"""The results page of a registration drive says each result plainly: a UIN apart from its link, a case as whom it
is against (the candidate's UIN and name), problem rows on their own, the same reason as the CSV, sizes in MiB
on the form and in refusals, and counts and plurals right in English and Spanish."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date, timedelta

from tests.conftest import fixture_bytes, seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS, enrol_staff
from tests.console.test_batch import finish, person_json, upload, zip_of
from tests.idp.frontchannel import location

seed, settings, keys, people = seeded_fixtures(enrol_staff, "people", **CONSOLE_SETTINGS)
SPANISH = {"Accept-Language": "es"}


def text_of(page: str) -> str:
    """The page's text as a reader gets it (tags dropped without adding spaces, as textContent does)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def rows_of(page: str) -> dict[str, str]:
    return {
        package: text_of(row) for package, row in re.findall(r'<tr data-package="([^"]+)"[^>]*>(.*?)</tr>', page, re.S)
    }


def test_results_show_uin_and_candidate_filter_problems_and_match_the_csv(officer, people):
    future = (date.today() + timedelta(days=9)).isoformat()
    files = {
        "drive/01-collins/person.json": person_json(given_name="Eileen", family_name="Collins"),
        "drive/01-collins/face.png": fixture_bytes("collins_nasa_portrait.png"),
        "drive/02-obama/person.json": person_json(given_name="Barack", family_name="Obama"),
        "drive/02-obama/face.jpg": fixture_bytes("obama_2010_blue_room.jpg"),
        "drive/03-future/person.json": person_json(date_of_birth=future),
        "drive/03-future/face.png": fixture_bytes("collins_nasa_portrait.png"),
        "drive/04-no-photo/person.json": person_json(),
    }
    batch_id = location(upload(officer, zip_of(files))).rsplit("/", 1)[1]
    body = finish(officer, batch_id)
    assert sum(body["counts"].values()) == body["total"] == 4

    page = officer.get(f"/console/batch/{batch_id}").text
    rows = rows_of(page)
    uin = re.search(r"UIN (\d{10})", rows["drive/01-collins"]).group(1)
    assert not re.search(r"\d{10}[A-Za-z]", rows["drive/01-collins"])  # not "7983889919open"
    assert "Open the enrolment" in rows["drive/01-collins"]
    assert f"Possible duplicate of Barack Obama, UIN {people.officer.uin}" in rows["drive/02-obama"]

    problems = rows_of(officer.get(f"/console/batch/{batch_id}?show=problems").text)
    assert set(problems) == {"drive/03-future", "drive/04-no-photo"}
    assert "Problems only (2)" in page and set(rows_of(officer.get(f"/console/batch/{batch_id}?show=issued").text)) == {
        "drive/01-collins"
    }

    report = {
        row["package"]: row
        for row in csv.DictReader(io.StringIO(officer.get(f"/console/batch/{batch_id}/report.csv").text))
    }
    assert report["drive/01-collins"]["uin"] == uin
    assert report["drive/02-obama"]["candidate_uin"] == people.officer.uin
    assert report["drive/02-obama"]["candidate_name"] == "Barack Obama"
    for package in ("drive/03-future", "drive/04-no-photo"):  # one source of reason text
        assert report[package]["reasons"] and report[package]["reasons"] in problems[package]


def test_sizes_are_in_mib_and_stated_on_the_form(officer):
    form = text_of(officer.get("/console/batch").text)
    assert "each photo or fingerprint file at most 8 MiB" in form and "8388608" not in form
    assert "cada foto o imagen de huella como máximo 8 MiB" in text_of(
        officer.get("/console/batch", headers=SPANISH).text
    )
    refused = upload(
        officer, zip_of({"p/person.json": person_json(), "p/face.png": b"\0" * (9 * 1024 * 1024 + 1)}, compression=0)
    )
    assert refused.status_code == 413
    assert "p/face.png: 9 MiB uncompressed, over the limit of 8 MiB per file." in text_of(refused.text)


def test_plurals_on_the_batch_pages_in_english_and_spanish(officer):
    batch_id = location(upload(officer, zip_of({"p/person.json": person_json()}))).rsplit("/", 1)[1]
    finish(officer, batch_id)
    assert "1 of 1 person processed" in text_of(officer.get(f"/console/batch/{batch_id}").text)
    assert "1 de 1 persona procesada" in text_of(officer.get(f"/console/batch/{batch_id}", headers=SPANISH).text)
    listing = text_of(officer.get("/console/batch").text)
    assert "1 of 1 person processed" in listing
