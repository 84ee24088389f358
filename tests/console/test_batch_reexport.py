"""A registration drive exported again by the kit — the JSON re-indented, a JPEG re-encoded, a photo renamed —
finds each person it already enrolled ("already enrolled", their own UIN or case) instead of opening a case
against them; a corrected package is a new enrolment that deduplication judges; counts add up."""

from __future__ import annotations

import csv
import io
import json

from PIL import Image
from sqlalchemy import select

from models import AuditEvent, BatchJob, BatchRecord, CaseCandidate, DedupCase, Enrolment, Identity
from tests.conftest import fixture_bytes, seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS, enrol_staff
from tests.console.test_batch import count, finish, person_json, upload, zip_of
from tests.idp.frontchannel import location

seed, settings, keys, people = seeded_fixtures(enrol_staff, "people", **CONSOLE_SETTINGS)
COLLINS, OBAMA = "drive/01-collins", "drive/02-obama"


def drive() -> dict[str, bytes]:
    """Collins (new: issued) and another photo of Barack Obama, the seeded officer (a case)."""
    return {
        f"{COLLINS}/person.json": person_json(given_name="Eileen", family_name="Collins"),
        f"{COLLINS}/face.png": fixture_bytes("collins_nasa_portrait.png"),
        f"{OBAMA}/person.json": person_json(given_name="Barack", family_name="Obama"),
        f"{OBAMA}/face.jpg": fixture_bytes("obama_2010_blue_room.jpg"),
    }


def reencoded(data: bytes, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).save(out, fmt, **options)
    assert out.getvalue() != data
    return out.getvalue()


def reindented(files: dict[str, bytes]) -> dict[str, bytes]:
    return {
        name: json.dumps(json.loads(data), indent=4, ensure_ascii=False).encode() if name.endswith(".json") else data
        for name, data in files.items()
    }


def reencoded_photos(files: dict[str, bytes]) -> dict[str, bytes]:
    return {
        name: reencoded(data, "JPEG", quality=80)
        if name.endswith(".jpg")
        else reencoded(data, "PNG", compress_level=1)
        if name.endswith(".png")
        else data
        for name, data in files.items()
    }


def renamed(files: dict[str, bytes]) -> dict[str, bytes]:
    return {name.replace("/face.", "/face-1."): data for name, data in files.items()}


def run_batch(officer, files: dict[str, bytes], name: str) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    response = upload(officer, zip_of(files), name)
    assert response.status_code == 303, response.text[:1000]
    batch_id = location(response).rsplit("/", 1)[1]
    return batch_id, finish(officer, batch_id)


def outcomes(services, batch_id: str) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        rows = db.execute(
            select(
                BatchRecord.package,
                BatchRecord.status,
                BatchRecord.enrolment_public_id,
                BatchRecord.uin,
                BatchRecord.case_public_id,
            )
            .join(BatchJob)
            .where(BatchJob.public_id == batch_id)
        )
        return {package: tuple(rest) for package, *rest in rows}


def test_a_re_exported_drive_finds_everyone_and_a_corrected_package_is_judged(officer, services):
    first_files = {
        **drive(),
        "drive/03-collins-copy/person.json": drive()[f"{COLLINS}/person.json"],
        "drive/03-collins-copy/face.png": drive()[f"{COLLINS}/face.png"],
    }  # the same package twice
    first, body = run_batch(officer, first_files, "drive.zip")
    assert body["counts"] == {
        "pending": 0,
        "issued": 1,
        "case_opened": 1,
        "already_enrolled": 1,
        "rejected": 0,
        "invalid": 0,
        "error": 0,
    }
    assert sum(body["counts"].values()) == body["total"] == 3  # the copy is not counted as a second person
    made = outcomes(services, first)
    assert made["drive/03-collins-copy"][1:] == made[COLLINS][1:] == (made[COLLINS][1], made[COLLINS][2], None)
    stored = (count(services, Enrolment), count(services, Identity), count(services, DedupCase))

    for variant, files in (
        ("re-indented", reindented(drive())),
        ("re-encoded", reencoded_photos(drive())),
        ("renamed", renamed(drive())),
    ):
        again, body = run_batch(officer, files, f"drive-{variant}.zip")
        assert body["counts"]["already_enrolled"] == 2 and body["counts"]["case_opened"] == 0, (variant, body)
        assert sum(body["counts"].values()) == body["total"] == 2
        found = outcomes(services, again)
        # The person's own enrolment, UIN and case: never a case against themselves.
        assert found[COLLINS] == ("already_enrolled", *made[COLLINS][1:]), variant
        assert found[OBAMA] == ("already_enrolled", *made[OBAMA][1:]), variant
        assert (count(services, Enrolment), count(services, Identity), count(services, DedupCase)) == stored, variant

    with services.sessions() as db:  # each decision not to enrol is audited, with the face score of a re-export
        recognised = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "batch.already_enrolled")))
    assert len(recognised) == 1 + 3 * 2
    assert sum(e.detail["by"] == "re-export" and e.detail["face_score"] >= 0.9251 for e in recognised) == 6
    assert {e.subject_id for e in recognised} == {made[COLLINS][1], made[OBAMA][1]}
    page = officer.get(f"/console/batch/{again}").text
    assert "Already enrolled" in page and "Enrolled earlier from drive/01-collins (drive.zip)" in page
    report = {
        row["package"]: row
        for row in csv.DictReader(io.StringIO(officer.get(f"/console/batch/{again}/report.csv").text))
    }
    assert report[COLLINS]["status"] == "already_enrolled" and report[COLLINS]["uin"] == made[COLLINS][2]

    # A corrected package (another given name) is a new enrolment: deduplication opens a case against Collins.
    corrected = {name: data for name, data in drive().items() if name.startswith(COLLINS)}
    corrected[f"{COLLINS}/person.json"] = person_json(given_name="Eileen Marie", family_name="Collins")
    fixed, body = run_batch(officer, corrected, "drive-corrected.zip")
    assert body["counts"]["case_opened"] == 1 and body["counts"]["already_enrolled"] == 0
    assert count(services, Enrolment) == stored[0] + 1
    with services.sessions() as db:
        case = db.scalars(select(DedupCase).where(DedupCase.public_id == outcomes(services, fixed)[COLLINS][3])).one()
        candidate = db.scalars(select(CaseCandidate).where(CaseCandidate.case_id == case.id)).first()
        collins = db.scalars(select(Enrolment).where(Enrolment.public_id == made[COLLINS][1])).one()
        assert candidate.enrolment_id == collins.id


def test_the_same_data_with_another_face_is_not_taken_for_the_person(officer, services):
    first, _ = run_batch(
        officer, {name: data for name, data in drive().items() if name.startswith(COLLINS)}, "drive.zip"
    )
    swapped = {
        f"{COLLINS}/person.json": person_json(given_name="Eileen", family_name="Collins"),
        f"{COLLINS}/face.jpg": fixture_bytes("biden_2010_blue_room.jpg"),
    }  # same data, someone else's face
    again, body = run_batch(officer, swapped, "drive-swapped.zip")
    assert body["counts"]["already_enrolled"] == 0
    assert body["counts"]["issued"] + body["counts"]["case_opened"] == 1  # enrolled and judged as anyone
