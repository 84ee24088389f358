"""Registration drives: a ZIP of packages enrolled in the background through the real workflow, progress and a
CSV report, archive limits, one batch at a time, pause, and resuming after an interruption without enrolling
anyone twice."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import threading
import time
import zipfile
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from enrollment.batch import archive as batch_archive
from enrollment.batch import jobs as batch_jobs
from models import AuditEvent, BatchJob, BatchRecord, DedupCase, Enrolment, Identity
from models.db import _process_dedup_lock
from server.app import create_app
from server.services import build_services
from tests.conftest import fixture_bytes, person, seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS, console_sign_in, enrol_staff
from tests.enrollment.test_fingerprints import finger
from tests.idp.frontchannel import OBAMA_PHOTO, form_value, location

seed, settings, keys, people = seeded_fixtures(enrol_staff, "people", **CONSOLE_SETTINGS)
TIMEOUT_S = 120


def person_json(**demographics: object) -> bytes:
    today = date.today()
    return json.dumps(
        {
            "demographics": person(**demographics),
            "documents": [
                {
                    "type": "idcard",
                    "number": "BZ-123456",
                    "issuer": {"name": "Registry", "country": "BLZ"},
                    "date_of_expiry": (today + timedelta(days=900)).isoformat(),
                    "check_methods": ["vpip"],
                }
            ],
            "finger_exceptions": [{"position": 7, "reason": "amputated"}],
        }
    ).encode()


def drive(extra: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """Six packages: a new person (issued), Obama again (case), a turned head (rejected), and three unusable."""
    files = {
        "drive/01-collins/person.json": person_json(given_name="Eileen", family_name="Collins"),
        "drive/01-collins/face.png": fixture_bytes("collins_nasa_portrait.png"),
        "drive/01-collins/finger-2.png": finger(401, 0),
        "drive/02-obama/person.json": person_json(given_name="Barack", family_name="Obama"),
        "drive/02-obama/face.jpg": fixture_bytes("obama_2010_blue_room.jpg"),
        "drive/03-turned/person.json": person_json(given_name="Pedro", family_name="Pérez"),
        "drive/03-turned/face_1.jpg": fixture_bytes("obama_2009_congress.jpg"),
        "drive/04-future/person.json": person_json(date_of_birth=(date.today() + timedelta(days=9)).isoformat()),
        "drive/04-future/face.png": fixture_bytes("collins_nasa_portrait.png"),
        "drive/05-no-photo/person.json": person_json(),
        "=HYPERLINK(evil)/person.json": person_json(),
        "__MACOSX/drive/._face.png": b"resource fork",
    }
    files.update(extra or {})
    return files


def zip_of(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def upload(client, archive: bytes, name: str = "drive.zip"):  # type: ignore[no-untyped-def]
    page = client.get("/console/batch")
    assert page.status_code == 200, page.text[:300]
    return client.post(
        "/console/batch",
        data={"csrf_token": form_value(page.text, "csrf_token")},
        files={"archive": (name, archive, "application/zip")},
        follow_redirects=False,
    )


def finish(client, batch_id: str) -> dict:  # type: ignore[no-untyped-def]
    """Wait until the batch is no longer running; its last status."""
    batch_jobs.wait(batch_id, TIMEOUT_S)
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        body = client.get(f"/console/batch/{batch_id}/status").json()
        if body["status"] != "running" or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def batch_enrolments(services, batch_id: str) -> list[Enrolment]:  # type: ignore[no-untyped-def]
    """The enrolments stored under the idempotency keys of the batch's records."""
    with services.sessions() as db:
        keys = (
            select(BatchRecord.idempotency_key)
            .join(BatchJob, BatchRecord.batch_id == BatchJob.id)
            .where(BatchJob.public_id == batch_id)
        )
        return list(db.scalars(select(Enrolment).where(Enrolment.idempotency_key.in_(keys))))


def count(services, model) -> int:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def test_a_drive_is_enrolled_in_the_background_with_a_result_per_person(officer, services):
    archive = zip_of(drive())
    response = upload(officer, archive)
    assert response.status_code == 303, response.text[:2000]
    batch_id = location(response).rsplit("/", 1)[1]
    body = finish(officer, batch_id)
    assert body["status"] == "completed" and body["total"] == 6 and body["processed"] == 6
    assert body["counts"] == {
        "pending": 0,
        "issued": 1,
        "case_opened": 1,
        "already_enrolled": 0,
        "rejected": 1,
        "invalid": 3,
        "error": 0,
    }

    page = officer.get(f"/console/batch/{batch_id}")
    assert page.status_code == 200 and '<progress id="progress-bar" max="6" value="6">' in page.text
    assert "Completed" in page.text and 'id="resume"' not in page.text and "/static/console/batch.js" in page.text
    assert 'http-equiv="refresh"' not in page.text  # nothing left to watch
    report = officer.get(f"/console/batch/{batch_id}/report.csv")
    assert report.headers["content-type"].startswith("text/csv")
    assert report.headers["content-disposition"] == f'attachment; filename="batch-{batch_id}.csv"'
    rows = {row["package"]: row for row in csv.DictReader(io.StringIO(report.text))}
    assert rows["drive/01-collins"]["status"] == "issued" and re.fullmatch(r"\d{10}", rows["drive/01-collins"]["uin"])
    assert rows["drive/02-obama"]["status"] == "case_opened" and rows["drive/02-obama"]["case_id"]
    assert rows["drive/03-turned"]["status"] == "rejected" and "pose_yaw" in rows["drive/03-turned"]["reason_codes"]
    assert (
        rows["drive/04-future"]["status"] == "invalid"
        and "date of birth is in the future" in rows["drive/04-future"]["reasons"]
    )
    assert "no face photo" in rows["drive/05-no-photo"]["reasons"]
    assert "'=HYPERLINK(evil)" in rows  # a spreadsheet will not run a package name as a formula

    enrolments = batch_enrolments(services, batch_id)
    assert len(enrolments) == 3 and {e.officer_id for e in enrolments} == {officer_key(services)}
    assert not (services.settings.data_dir / "batches" / batch_id).exists()  # the packages are gone
    with services.sessions() as db:
        actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == batch_id)))
        assert {"batch.uploaded", "batch.completed", "batch.report_downloaded"} <= actions
        collins = db.scalars(select(Enrolment).where(Enrolment.given_name == "Eileen")).one()
        assert {f["position"]: f["status"] for f in collins.fingerprints} == {2: "captured", 7: "excepted"}
    again = upload(officer, archive)
    assert again.status_code == 409 and f"already uploaded as batch {batch_id}" in again.text  # the same archive twice


def test_a_drive_zipped_again_finds_everyone_it_already_enrolled(officer, services):
    # A drive's upload failed half-way and the kit exported it again: other bytes, packages in another order,
    # stored uncompressed, one folder renamed. Nobody is enrolled again and no case is opened against themselves.
    first = location(upload(officer, zip_of(drive()))).rsplit("/", 1)[1]
    assert finish(officer, first)["status"] == "completed"
    enrolments, identities, cases = count(services, Enrolment), count(services, Identity), count(services, DedupCase)
    files = {
        name.replace("drive/01-collins/", "drive/01-eileen-collins/"): data
        for name, data in reversed(list(drive().items()))
    }
    again = upload(officer, zip_of(files, zipfile.ZIP_STORED), "drive-export-2.zip")
    assert again.status_code == 303, again.text[:800]
    second = location(again).rsplit("/", 1)[1]
    body = finish(officer, second)
    # Nothing new happened: the two people enrolled before are "already enrolled", not "issued" and "case opened"
    # again (the turned head's stored refusal is given again; the unusable packages are still unusable).
    assert body["counts"] == {
        "pending": 0,
        "issued": 0,
        "case_opened": 0,
        "already_enrolled": 2,
        "rejected": 1,
        "invalid": 3,
        "error": 0,
    }
    assert (count(services, Enrolment), count(services, Identity), count(services, DedupCase)) == (
        enrolments,
        identities,
        cases,
    )
    with services.sessions() as db:

        def outcomes(batch: str) -> dict[str, tuple]:
            rows = db.execute(
                select(
                    BatchRecord.package, BatchRecord.enrolment_public_id, BatchRecord.uin, BatchRecord.case_public_id
                )
                .join(BatchJob)
                .where(BatchJob.public_id == batch)
            )
            return {package.replace("01-eileen-collins", "01-collins"): rest for package, *rest in rows}

        assert outcomes(second) == outcomes(first)  # the same enrolment, UIN and case per person
    # A package whose content changed (a corrected name) is a new enrolment: deduplication judges it.
    corrected = drive()
    corrected["drive/01-collins/person.json"] = person_json(given_name="Eileen Marie", family_name="Collins")
    third = location(upload(officer, zip_of({k: v for k, v in corrected.items() if "01-collins" in k}))).rsplit("/", 1)[
        1
    ]
    assert finish(officer, third)["counts"]["case_opened"] == 1
    assert count(services, Enrolment) == enrolments + 1


def test_every_folder_of_the_archive_gets_a_row_even_an_empty_one(officer):
    files = {
        "drive/": b"",
        "drive/01-empty/": b"",
        "drive/02-only-junk/.DS_Store": b"x",
        "drive/03-no-face/person.json": person_json(),
    }
    batch_id = location(upload(officer, zip_of(files))).rsplit("/", 1)[1]
    body = finish(officer, batch_id)
    assert body["total"] == 3 and body["counts"]["invalid"] == 3
    page = officer.get(f"/console/batch/{batch_id}").text
    assert re.findall(r'data-package="([^"]+)"', page) == ["drive/01-empty", "drive/02-only-junk", "drive/03-no-face"]
    assert page.count("The folder is empty.") == 2
    rows = {
        row["package"]: row
        for row in csv.DictReader(io.StringIO(officer.get(f"/console/batch/{batch_id}/report.csv").text))
    }
    assert set(rows) == {"drive/01-empty", "drive/02-only-junk", "drive/03-no-face"}
    assert rows["drive/01-empty"]["status"] == "invalid" and "empty" in rows["drive/01-empty"]["reasons"]


def test_a_record_from_before_content_keys_resumes_under_its_old_key(officer, services):
    batch_id = location(upload(officer, zip_of(drive()))).rsplit("/", 1)[1]
    assert finish(officer, batch_id)["status"] == "completed"
    with services.sessions.begin() as db:
        record = db.scalars(select(BatchRecord).where(BatchRecord.package == "drive/01-collins")).one()
        enrolment = db.scalars(select(Enrolment).where(Enrolment.public_id == record.enrolment_public_id)).one()
        legacy = batch_jobs.idempotency_key(batch_id, record.package)
        enrolment.idempotency_key, record.idempotency_key = legacy, None  # as migration 0009 leaves such a record
    actor = batch_jobs.Actor(enrolment.officer_id, "Officer Obama", "officer")
    before = count(services, Enrolment)
    outcome = batch_jobs.process_record(
        services, actor, batch_id, record.position, record.package, None, record_id=record.id
    )  # the record resumed, not another one
    assert outcome.status == "issued" and outcome.enrolment_public_id == enrolment.public_id
    assert count(services, Enrolment) == before  # found under the old key, not enrolled again


def officer_key(services) -> int:  # type: ignore[no-untyped-def]
    from models import StaffAccount

    with services.sessions() as db:
        return db.scalars(select(StaffAccount.api_key_id).where(StaffAccount.name == "Officer Obama")).one()


def test_one_batch_at_a_time_and_a_paused_batch_resumes(officer, services):
    with _process_dedup_lock:  # the first enrolment waits here: the batch is certainly still running
        first = upload(officer, zip_of(drive()))
        batch_id = location(first).rsplit("/", 1)[1]
        assert officer.get(f"/console/batch/{batch_id}/status").json()["status"] == "running"
        page = officer.get(f"/console/batch/{batch_id}")
        assert 'id="pause"' in page.text and 'http-equiv="refresh"' in page.text
        second = upload(officer, zip_of({"other/person.json": person_json(), "other/face.png": b"x"}), "other.zip")
        assert second.status_code == 409 and "one batch at a time" in second.text
        paused = officer.post(
            f"/console/batch/{batch_id}/pause",
            data={"csrf_token": form_value(page.text, "csrf_token")},
            follow_redirects=False,
        )
        assert paused.status_code == 303
    body = finish(officer, batch_id)
    assert body["status"] == "paused" and body["counts"]["pending"] == 2  # the record in progress was finished
    page = officer.get(f"/console/batch/{batch_id}")
    assert 'id="resume"' in page.text and "You paused this batch" in page.text
    resumed = officer.post(
        f"/console/batch/{batch_id}/resume",
        data={"csrf_token": form_value(page.text, "csrf_token")},
        follow_redirects=False,
    )
    assert resumed.status_code == 303
    assert finish(officer, batch_id)["status"] == "completed"
    assert len(batch_enrolments(services, batch_id)) == 3


def test_an_interrupted_batch_resumes_after_a_restart_and_enrols_nobody_twice(officer, services, settings, people):
    with _process_dedup_lock:
        response = upload(officer, zip_of(drive()))
        batch_id = location(response).rsplit("/", 1)[1]
        with batch_jobs._lock:
            batch_jobs._stops[batch_id].set()  # the service dies after the record in progress
    batch_jobs.wait(batch_id, TIMEOUT_S)
    with services.sessions.begin() as db:
        job = db.scalars(select(BatchJob).where(BatchJob.public_id == batch_id)).one()
        assert job.status == "running"  # as a killed process leaves it
        done = db.scalars(
            select(BatchRecord).where(BatchRecord.batch_id == job.id, BatchRecord.status == "issued")
        ).one()
        first_enrolment = done.enrolment_public_id
        # The crash came between the enrolment's commit and the record's update: the record is still pending.
        db.execute(
            update(BatchRecord)
            .where(BatchRecord.id == done.id)
            .values(status="pending", enrolment_public_id=None, uin=None)
        )
    pending_files = sorted((settings.data_dir / "batches" / batch_id).iterdir())
    assert len(pending_files) == 2  # collins's file was deleted after its outcome; obama and turned wait
    assert stat.S_IMODE(os.stat(settings.data_dir / "batches" / batch_id).st_mode) == 0o700
    for path in pending_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        raw = path.read_bytes()
        assert b"Barack" not in raw and b"person.json" not in raw and b"\xff\xd8\xff" not in raw  # sealed
    identities_before = count(services, Identity)

    restarted = build_services(settings)  # a new service over the same data folder
    try:
        with TestClient(create_app(services=restarted), raise_server_exceptions=False) as client:
            console_sign_in(client, people.officer, OBAMA_PHOTO)
            page = client.get(f"/console/batch/{batch_id}")
            assert "Interrupted" in page.text and 'id="resume"' in page.text
            assert client.get("/console/batch").text.count("Interrupted") == 1
            resumed = client.post(
                f"/console/batch/{batch_id}/resume",
                data={"csrf_token": form_value(page.text, "csrf_token")},
                follow_redirects=False,
            )
            assert resumed.status_code == 303
            body = finish(client, batch_id)
            assert body["status"] == "completed", body
            assert body["counts"] == {
                "pending": 0,
                "issued": 1,
                "case_opened": 1,
                "already_enrolled": 0,
                "rejected": 1,
                "invalid": 3,
                "error": 0,
            }
    finally:
        restarted.close()
    enrolments = batch_enrolments(services, batch_id)
    assert len(enrolments) == 3 and len({e.idempotency_key for e in enrolments}) == 3
    with services.sessions() as db:
        redone = db.scalars(select(BatchRecord).where(BatchRecord.package == "drive/01-collins")).one()
        assert redone.enrolment_public_id == first_enrolment and redone.status == "issued"
        resumed_event = db.scalars(select(AuditEvent).where(AuditEvent.action == "batch.resumed")).one()
        assert resumed_event.detail["was"] == "interrupted"
    assert count(services, Identity) == identities_before  # Collins was already issued before the restart


def test_a_runner_ending_late_leaves_the_runner_that_resumed_the_batch_registered(services):
    """Pause, then Resume while the paused runner still finishes its record: when that old runner ends it must
    not unregister the new one, or the running batch reads 'interrupted' (resumable again: two runners) and no
    longer stops a second batch of the same officer."""
    from models import utcnow

    old_stop, new_stop, release = threading.Event(), threading.Event(), threading.Event()
    old_stop.set()  # the officer paused the old runner
    new_runner = threading.Thread(target=release.wait, daemon=True)
    new_runner.start()
    with batch_jobs._lock:
        batch_jobs._threads["b"], batch_jobs._stops["b"] = new_runner, new_stop  # Resume registered it
    try:
        batch_jobs._work(services, "b", old_stop)  # the old runner returns after its record
        with batch_jobs._lock:
            assert batch_jobs._threads.get("b") is new_runner and batch_jobs._stops.get("b") is new_stop
        job = BatchJob(public_id="b", status="running", runner=batch_jobs.RUNNER, heartbeat_at=utcnow())
        assert batch_jobs.shown_status(job, 120) == "running"
    finally:
        release.set()
        new_runner.join()
        with batch_jobs._lock:
            batch_jobs._threads.pop("b", None)
            batch_jobs._stops.pop("b", None)


def test_a_batch_stops_when_its_officer_is_disabled_or_loses_the_role(officer, services):
    from civid.audit import SYSTEM
    from console.staff import accounts as staff_accounts
    from models import StaffAccount

    with _process_dedup_lock:  # the first person is being enrolled when the admin disables the officer
        response = upload(officer, zip_of(drive()))
        batch_id = location(response).rsplit("/", 1)[1]
        with services.sessions.begin() as db:
            account = db.scalars(select(StaffAccount).where(StaffAccount.name == "Officer Obama")).one()
            staff_accounts.disable(db, account.id, SYSTEM)
    batch_jobs.wait(batch_id, TIMEOUT_S)
    assert len(batch_enrolments(services, batch_id)) == 1  # the one in progress, then nobody more
    with services.sessions() as db:
        job = db.scalars(select(BatchJob).where(BatchJob.public_id == batch_id)).one()
        assert job.status == "paused" and job.runner is None
        assert batch_jobs.counts(db, job)["pending"] == 2
        stopped = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "batch.paused", AuditEvent.subject_id == batch_id)
        ).one()
        assert stopped.actor_role == "system" and "disabled" in stopped.detail["reason"]


def test_a_refused_archive_says_why_and_keeps_nothing(officer, services):
    bad = upload(officer, zip_of({"../escape/person.json": person_json(), "../escape/face.png": b"x"}))
    assert bad.status_code == 422 and "unsafe path" in bad.text and 'role="alert"' in bad.text
    junk = upload(officer, b"PK\x03\x04 not a zip at all", "junk.zip")
    assert junk.status_code == 422 and "not a readable ZIP" in junk.text
    assert count(services, BatchJob) == 0
    assert not (services.settings.data_dir / "batches").exists() or not any(
        (services.settings.data_dir / "batches").iterdir()
    )


def test_packages_whose_names_clash_are_refused_clearly(officer, services):
    long = "x" * 210
    clash = upload(officer, zip_of({f"{long}a/person.json": person_json(), f"{long}b/person.json": person_json()}))
    assert clash.status_code == 422 and "same name" in clash.text
    assert count(services, BatchJob) == 0


@pytest.mark.parametrize(
    "files, limits, message",
    [
        ({f"p{i}/person.json": b"{}" for i in range(5)}, {"batch_max_members": 4}, "at most 4 are accepted"),
        ({"p/person.json": b"{}", "p/face.png": b"\0" * 5000}, {"batch_max_uncompressed_bytes": 4000}, "expands to"),
        ({"p/face.png": b"\0" * (2 * 1024 * 1024)}, {}, "decompression bomb"),
        ({"p/person.json": b" " * (65 * 1024)}, {}, "over the limit"),
        ({"/abs/person.json": b"{}"}, {}, "unsafe path"),
        ({"p\\..\\x/person.json": b"{}"}, {}, "unsafe path"),
        ({f"p{i}/person.json": b"{}" for i in range(3)}, {"batch_max_packages": 2}, "at most 2 per batch"),
        ({"__MACOSX/._x": b""}, {}, "no packages"),
    ],
)
def test_archive_limits_refuse_bombs_and_odd_paths(settings, files, limits, message):
    from civid.errors import CividError

    with pytest.raises(CividError, match=re.escape(message)):
        batch_archive.open_archive(io.BytesIO(zip_of(files)), settings.model_copy(update=limits))


def test_a_symlink_or_an_encrypted_member_is_refused(settings):
    from civid.errors import InvalidInput

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("p/face.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(InvalidInput, match="symbolic links"):
        batch_archive.open_archive(io.BytesIO(buffer.getvalue()), settings)
    data = bytearray(zip_of({"p/person.json": b"{}"}, zipfile.ZIP_STORED))
    for offset in (6, data.rindex(b"PK\x01\x02") + 8):  # the encryption flag, local and central headers
        data[offset] |= 1
    with pytest.raises(InvalidInput, match="encrypted"):
        batch_archive.open_archive(io.BytesIO(bytes(data)), settings)


def test_a_runner_that_is_gone_or_silent_counts_as_interrupted():
    from models import utcnow

    now = utcnow()
    job = BatchJob(
        public_id="x", status="running", runner=f"{batch_jobs.socket.gethostname()}:999999999", heartbeat_at=now
    )
    assert batch_jobs.shown_status(job, 120) == "interrupted"  # that process no longer exists
    job.runner, job.heartbeat_at = "other-host:1", now
    assert batch_jobs.shown_status(job, 120) == "running"  # another machine, heard from just now
    job.heartbeat_at = now - timedelta(seconds=121)
    assert batch_jobs.shown_status(job, 120) == "interrupted"
    job.status = "paused"
    assert batch_jobs.shown_status(job, 120) == "paused"


def test_a_sealed_package_cannot_be_moved_to_another_batch(services, tmp_path):
    from civid.errors import ConfigurationError

    package = batch_archive.Package("p", {"person.json": b"{}", "face.png": b"png"})
    path = tmp_path / "00000.sealed"
    batch_archive.write_sealed(services.keyring, path, "batch-a", package)
    assert batch_archive.read_sealed(services.keyring, path, "batch-a", "p") == package.files
    with pytest.raises(ConfigurationError):
        batch_archive.read_sealed(services.keyring, path, "batch-b", "p")


def test_other_officers_and_other_roles_cannot_see_a_batch(officer, services, people):
    response = upload(officer, zip_of({"p/person.json": person_json()}))
    batch_id = location(response).rsplit("/", 1)[1]
    finish(officer, batch_id)
    officer.cookies.clear()
    from tests.idp.frontchannel import BIDEN_PHOTO

    console_sign_in(officer, people.adjudicator, BIDEN_PHOTO)
    assert officer.get("/console/batch").status_code == 403
    assert officer.get(f"/console/batch/{batch_id}/report.csv").status_code == 403
    assert officer.get(f"/console/batch/{batch_id}/status").status_code == 403


def test_the_batch_upload_has_its_own_body_limit(settings, people):
    limited = settings.model_copy(update={"batch_max_archive_bytes": 100_000})
    services = build_services(limited)
    try:
        with TestClient(create_app(services=services), raise_server_exceptions=False) as client:
            console_sign_in(client, people.officer, OBAMA_PHOTO)
            big = zip_of({"p/face.png": os.urandom(300_000)}, zipfile.ZIP_STORED)
            refused = upload(client, big)
            assert refused.status_code == 413 and f"over {100_000 + 64 * 1024} bytes" in refused.json()["detail"]
            assert count(services, BatchJob) == 0
    finally:
        services.close()
