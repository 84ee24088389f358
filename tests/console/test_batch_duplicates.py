"""The same package twice in one archive is one person: counted once, whatever the outcome — a rejected capture
included (the second row points at the first, and the counts add up to the packages)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from models import AuditEvent, Enrolment
from tests.conftest import fixture_bytes, seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS, enrol_staff
from tests.console.test_batch import finish, person_json, upload, zip_of
from tests.console.test_batch_reasons import SPANISH
from tests.idp.frontchannel import location

seed, settings, keys, people = seeded_fixtures(enrol_staff, "people", **CONSOLE_SETTINGS)


def turned(folder: str) -> dict[str, bytes]:
    """A package whose face is turned away: the workflow rejects it (pose_yaw)."""
    return {
        f"{folder}/person.json": person_json(given_name="Pedro", family_name="Pérez"),
        f"{folder}/face_1.jpg": fixture_bytes("obama_2009_congress.jpg"),
    }


def test_a_rejected_package_twice_in_one_archive_counts_once(officer, services):  # type: ignore[no-untyped-def]
    response = upload(officer, zip_of({**turned("drive/03-turned"), **turned("drive/03-turned-copy")}))
    assert response.status_code == 303, response.text[:800]
    batch_id = location(response).rsplit("/", 1)[1]
    body = finish(officer, batch_id)
    assert body["status"] == "completed"
    assert body["counts"] == {
        "pending": 0,
        "issued": 0,
        "case_opened": 0,
        "already_enrolled": 1,
        "rejected": 1,
        "invalid": 0,
        "error": 0,
    }
    assert sum(body["counts"].values()) == body["total"] == 2
    rows = {
        row["package"]: row
        for row in csv.DictReader(io.StringIO(officer.get(f"/console/batch/{batch_id}/report.csv").text))
    }
    assert rows["drive/03-turned"]["status"] == "rejected" and "pose_yaw" in rows["drive/03-turned"]["reason_codes"]
    copy = rows["drive/03-turned-copy"]
    assert copy["status"] == "already_enrolled" and copy["reason_codes"] == "rejected_earlier", copy
    assert "The same package as drive/03-turned (drive.zip), rejected there" in copy["reasons"], copy
    with services.sessions() as db:
        assert len(list(db.scalars(select(Enrolment).where(Enrolment.given_name == "Pedro")))) == 1
        [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "batch.already_enrolled"))
        assert event.detail["package"] == "drive/03-turned-copy" and event.detail["by"] == "same package"
    page = officer.get(f"/console/batch/{batch_id}", headers=SPANISH)
    assert "El mismo paquete que drive/03-turned (drive.zip), rechazado allí" in page.text, page.text[:3000]
