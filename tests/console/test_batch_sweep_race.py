"""Two servers sharing the data folder start at once and both sweep it: a committed batch's staged packages are
moved into place once (one ``batch.split_recovered``), nothing is reported removed, and neither start-up fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy import select

from enrollment.batch import jobs as batch_jobs
from enrollment.batch import staging as batch_staging
from models import AuditEvent, BatchJob, utcnow
from server.services import build_services
from tests.conftest import seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS, enrol_staff
from tests.console.test_batch_split_crash import officer

seed, settings, keys, people = seeded_fixtures(enrol_staff, "people", **CONSOLE_SETTINGS)
# Each child is a server starting up (the app's lifespan runs the sweep). The only change to the real code is a
# barrier in front of the rename: each child waits there (at most WAIT_S) for the other, so without a lock both
# find the folder unpublished and race; with the lock the second never gets there and the first goes on alone.
CHILD = r"""
import json, os, sys, time
from pathlib import Path
from fastapi.testclient import TestClient
from server.app import create_app
from civid.settings import Settings
from enrollment.batch import staging as batch_staging
from server.services import build_services

gate, me = Path(sys.argv[1]), sys.argv[2]
services = build_services(Settings.model_validate(json.loads(os.environ["CIVID_TEST_SETTINGS"])), open_gallery=False)

def meet(step, wait_s):
    (gate / f"{step}-{me}").touch()
    deadline = time.monotonic() + wait_s
    while len(list(gate.glob(f"{step}-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)

real = batch_staging.publish
def publish(staging, final):
    meet("publish", 5)
    real(staging, final)
batch_staging.publish = publish
meet("ready", 120)  # both imported: start up together
try:
    with TestClient(create_app(services=services)):
        pass
    print(json.dumps({"ok": True}))
except BaseException as exc:
    print(json.dumps({"ok": False, "error": repr(exc)}))
"""


def test_two_servers_starting_at_once_recover_a_committed_split_once(settings, people, tmp_path):
    services = build_services(settings, open_gallery=False)
    try:
        staff = officer(services)
        with services.sessions.begin() as db:
            db.add(
                BatchJob(
                    public_id="abc",
                    officer_id=staff.id,
                    officer_name=staff.name,
                    filename="d.zip",
                    archive_sha256="0" * 64,
                    status="running",
                    total=1,
                    runner="gone:1",
                    heartbeat_at=utcnow(),
                )
            )
        # Left by a process of this host that is gone, killed between the batch commit and the rename.
        staging = (
            settings.data_dir
            / "batches"
            / (f"{batch_staging.PREFIX}{batch_staging.socket.gethostname()}:999999999:0123456789abcdef:abc")
        )
        staging.mkdir(parents=True)
        (staging / "00000.sealed").write_bytes(b"x")
        env = {
            **os.environ,
            "CIVID_TEST_SETTINGS": json.dumps(settings.model_dump(mode="json")),
            "PYTHONPATH": os.getcwd(),
        }
        children = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, str(tmp_path), str(n)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(2)
        ]
        results = []
        for child in children:
            out, err = child.communicate(timeout=300)
            assert child.returncode == 0, err[-3000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
        assert results == [{"ok": True}, {"ok": True}], results  # neither start-up failed
        assert (batch_jobs.folder(services, "abc") / "00000.sealed").read_bytes() == b"x"
        assert not staging.exists()
        with services.sessions() as db:
            actions = list(db.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == "abc")))
        assert actions == ["batch.split_recovered"], actions  # once, and no "removed" for the other's work
    finally:
        services.close()
