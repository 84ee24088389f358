"""A process killed with SIGKILL while it splits a registration drive's archive: at the next start-up the sealed
packages that no batch row names are removed (audited), and a batch committed just before the kill gets its
packages back and resumes; nothing is left in the data folder for ever."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select as query

from console.staff.accounts import as_staff
from enrollment.batch import (
    archive as batch_archive,
)
from enrollment.batch import (
    jobs as batch_jobs,
)
from enrollment.batch import (
    staging as batch_staging,
)
from enrollment.batch import (
    sweep as batch_sweep,
)
from models import AuditEvent, BatchJob, StaffAccount
from server.app import create_app
from server.services import build_services
from tests.conftest import seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS, enrol_staff
from tests.console.test_batch import person_json, zip_of

seed, settings, keys, people = seeded_fixtures(enrol_staff, "people", **CONSOLE_SETTINGS)
PACKAGES = 5
# The child splits the archive through the real batch_jobs.create and stops at the crash point, where the test
# kills it with SIGKILL: what it has written by then is exactly what a kill -9 there leaves.
CHILD = r"""
import json, os, sys, time
from sqlalchemy import select
from civid.settings import Settings
from console.staff.accounts import as_staff
from enrollment.batch import archive as batch_archive, jobs as batch_jobs, staging as batch_staging
from server.services import build_services
from models import StaffAccount

services = build_services(Settings.model_validate(json.loads(os.environ["CIVID_TEST_SETTINGS"])), open_gallery=False)
with services.sessions() as db:
    account = db.scalars(select(StaffAccount).where(StaffAccount.name == "Officer Obama")).one()
    staff = as_staff(account).actor("officer")

def crash_point(reached):
    print(reached, flush=True)
    time.sleep(600)

if sys.argv[1] == "mid-split":
    seal, sealed = batch_archive.write_sealed, []
    def write_sealed(*args):
        seal(*args)
        sealed.append(args)
        if len(sealed) == 3:
            crash_point("mid-split")
    batch_archive.write_sealed = write_sealed
else:
    batch_staging.publish = lambda staging, final: crash_point("committed")
with open(sys.argv[2], "rb") as upload:
    batch_jobs.create(services, staff, "drive.zip", upload)
print("finished", flush=True)
"""


def drive() -> bytes:
    """Five people whose photos are not images: they end "invalid" without face models, not "package missing"."""
    files = {}
    for n in range(PACKAGES):
        files[f"drive/{n:02d}/person.json"] = person_json(
            given_name="Ana María", family_name=["Díaz", "Pérez", "López", "Gómez", "Ruiz"][n]
        )
        files[f"drive/{n:02d}/face.jpg"] = b"\xff\xd8\xff\xe0 not really a JPEG " + bytes([n])
    return zip_of(files)


def kill_at(crash: str, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    archive = tmp_path / "drive.zip"
    archive.write_bytes(drive())
    env = {**os.environ, "CIVID_TEST_SETTINGS": json.dumps(settings.model_dump(mode="json")), "PYTHONPATH": os.getcwd()}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, crash, str(archive)], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        ready, _, _ = select.select([child.stdout], [], [], 180)
        assert ready and child.stdout.readline().strip() == crash, "the child never reached the crash point"
        child.send_signal(signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def officer(services):  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        staff = as_staff(db.scalars(query(StaffAccount).where(StaffAccount.name == "Officer Obama")).one())
    return staff.actor("officer")


def events(services, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return list(db.scalars(query(AuditEvent).where(AuditEvent.action == action)))


def test_packages_sealed_before_a_kill_mid_split_are_swept_at_start_up(settings, people, tmp_path):
    kill_at("mid-split", settings, tmp_path)
    batches = settings.data_dir / "batches"
    left = [path for folder in batches.iterdir() for path in folder.glob("*.sealed")]
    assert len(left) == 3  # what the kill left: three sealed packages, no batch row
    restarted = build_services(settings)
    try:
        with restarted.sessions() as db:
            assert db.scalars(query(BatchJob)).first() is None
        with TestClient(create_app(services=restarted)):  # start-up
            pass
        assert list(batches.iterdir()) == []
        [removed] = events(restarted, "batch.orphan_removed")
        assert removed.actor_role == "system" and removed.detail["packages"] == 3
        assert "before its batch was recorded" in removed.detail["reason"]
    finally:
        restarted.close()


def test_a_batch_committed_just_before_a_kill_gets_its_packages_back_and_resumes(settings, people, tmp_path):
    kill_at("committed", settings, tmp_path)
    restarted = build_services(settings)
    try:
        with restarted.sessions() as db:
            job = db.scalars(query(BatchJob)).one()
            assert job.total == PACKAGES and job.status == "running"
        assert not batch_jobs.folder(restarted, job.public_id).exists()  # still staged when the kill came
        with TestClient(create_app(services=restarted)):  # start-up
            assert len(list(batch_jobs.folder(restarted, job.public_id).glob("*.sealed"))) == PACKAGES
            [recovered] = events(restarted, "batch.split_recovered")
            assert recovered.subject_id == job.public_id and recovered.detail["packages"] == PACKAGES
            batch_jobs.resume(restarted, officer(restarted), job.public_id)
            batch_jobs.wait(job.public_id, 120)
            with restarted.sessions() as db:
                done = db.scalars(query(BatchJob).where(BatchJob.id == job.id)).one()
                assert done.status == "completed", done.status
                assert batch_jobs.counts(db, done)["invalid"] == PACKAGES  # read and judged: none "missing"
        assert list((settings.data_dir / "batches").iterdir()) == []
    finally:
        restarted.close()


def test_resume_on_a_server_that_did_not_restart_gets_the_staged_packages(settings, people, tmp_path):
    """Server A is killed between the batch commit and the rename; server B, already running (its start-up sweep
    long done), resumes the batch: it moves A's staged packages into place, audited, and processes them."""
    kill_at("committed", settings, tmp_path)
    other = build_services(settings)
    try:
        with other.sessions() as db:
            job = db.scalars(query(BatchJob)).one()
        batch_jobs.resume(other, officer(other), job.public_id)
        batch_jobs.wait(job.public_id, 120)
        with other.sessions() as db:
            done = db.scalars(query(BatchJob).where(BatchJob.id == job.id)).one()
            counts = batch_jobs.counts(db, done)
        assert done.status == "completed" and counts["error"] == 0 and counts["invalid"] == PACKAGES, counts
        [recovered] = events(other, "batch.split_recovered")
        assert recovered.subject_id == job.public_id and recovered.detail["packages"] == PACKAGES
        assert recovered.actor_role == "system"
        assert list((settings.data_dir / "batches").iterdir()) == []
    finally:
        other.close()


def test_a_rename_failing_after_the_commit_keeps_the_packages_for_resume(settings, people, tmp_path, monkeypatch):
    """The rename fails for real (a folder with the batch's name is already there and not empty): the committed
    batch's packages stay staged, it reads interrupted, and Resume processes every one of them."""
    services = build_services(settings)
    seal, blockers = batch_archive.write_sealed, []

    def write_sealed(keyring, path, batch_id, package):  # type: ignore[no-untyped-def]
        if not blockers:  # something else in the way of the batch's folder (not the code under test)
            blocker = batch_jobs.folder(services, batch_id)
            blocker.mkdir(parents=True)
            (blocker / "in-the-way").write_bytes(b"x")
            blockers.append(blocker)
        seal(keyring, path, batch_id, package)

    monkeypatch.setattr(batch_archive, "write_sealed", write_sealed)
    try:
        with open(_archive(tmp_path), "rb") as upload:
            public_id = batch_jobs.create(services, officer(services), "drive.zip", upload)
        [staging] = (settings.data_dir / "batches").glob(f".split-*:{public_id}")
        assert len(list(staging.glob("*.sealed"))) == PACKAGES  # the batch's only copy, kept
        with services.sessions() as db:
            job = db.scalars(query(BatchJob).where(BatchJob.public_id == public_id)).one()
            assert batch_jobs.shown_status(job, settings.batch_stale_after_s) == "interrupted"
        (blockers[0] / "in-the-way").unlink()
        blockers[0].rmdir()
        batch_jobs.resume(services, officer(services), public_id)
        batch_jobs.wait(public_id, 120)
        with services.sessions() as db:
            done = db.scalars(query(BatchJob).where(BatchJob.public_id == public_id)).one()
            assert done.status == "completed" and batch_jobs.counts(db, done)["invalid"] == PACKAGES
        assert [e.subject_id for e in events(services, "batch.split_recovered")] == [public_id]
    finally:
        services.close()


def _archive(tmp_path) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "drive.zip"
    path.write_bytes(drive())
    return str(path)


def _staged(settings, host: str, pid: int, token: str | None, batch_id: str = "abc"):  # type: ignore[no-untyped-def]
    name = ":".join([host, str(pid), *([token] if token else []), batch_id])
    staging = settings.data_dir / "batches" / f"{batch_staging.PREFIX}{name}"
    staging.mkdir(parents=True)
    (staging / "00000.sealed").write_bytes(b"x")
    return staging


@pytest.mark.parametrize(
    "pid, token, alive",
    [
        (os.getppid(), "0123456789abcdef", True),  # another live process of this host
        (999_999_999, "0123456789abcdef", False),  # a process of this host that is gone
        (999_999_999, None, False),  # the same, named by a version without tokens
        (os.getpid(), batch_staging.TOKEN, False),  # this process's own token, no split in progress
    ],
)
def test_a_split_whose_process_still_runs_is_left_alone(settings, people, pid, token, alive):
    """Another live process's split is left alone; a dead process's is removed, and so is one of this process's
    that it is not splitting."""
    services = build_services(settings, open_gallery=False)
    try:
        staging = _staged(settings, batch_staging.socket.gethostname(), pid, token)
        swept = batch_sweep.sweep(services)
        assert staging.exists() is alive and swept.removed == ([] if alive else ["abc"])
    finally:
        services.close()


@pytest.mark.parametrize("age_s, alive", [(0, True), (10_000, False)])
def test_the_same_host_name_and_pid_with_another_token_is_judged_by_its_age(settings, people, age_s, alive):
    """Two containers with one host name both run as PID 1: a split carrying this host name and this pid but
    another process's token is in progress while it is recent (not taken for this process's own), and swept
    once it is older than batch_stale_after_s (a PID 1 that restarted)."""
    services = build_services(settings, open_gallery=False)
    try:
        staging = _staged(settings, batch_staging.socket.gethostname(), os.getpid(), "fedcba9876543210")
        then = time.time() - age_s
        os.utime(staging, (then, then))
        swept = batch_sweep.sweep(services)
        assert staging.exists() is alive and swept.removed == ([] if alive else ["abc"])
    finally:
        services.close()


def test_each_process_names_its_staging_folders_with_its_own_random_token(settings, people):
    """The token is random per process: two processes with one host name and pid do not share it."""
    code = "from enrollment.batch import staging as batch_staging; print(batch_staging.TOKEN)"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    tokens = {
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.strip()
        for _ in range(2)
    } | {batch_staging.TOKEN}
    assert len(tokens) == 3 and all(len(t) == 16 for t in tokens)
    services = build_services(settings, open_gallery=False)
    try:
        assert batch_staging.staging_folder(services, "abc").name == (
            f".split-{batch_staging.socket.gethostname()}:{os.getpid()}:{batch_staging.TOKEN}:abc"
        )
    finally:
        services.close()
