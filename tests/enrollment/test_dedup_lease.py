"""A dedup job's lease on SQLite and on the real PostgreSQL server: a worker renews it while a long job runs, so a
second worker never takes that job; a worker whose lease was lost anyway (a paused process: it expired and the job
was claimed again) writes no decision, and the job's new holder decides it.

The long job is a search held back until the test lets it go (a slow Milvus, a big gallery); the claims, the
renewals and the decision are the real ones."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select, update

from civid.actor import Actor
from civid.audit import SYSTEM
from civid.auth import create_api_key
from civid.settings import Settings
from enrollment import dedup_decision, dedup_queue
from enrollment.abis_worker import Settle, run_job, run_worker
from enrollment.workflow import submit
from models import DedupJob, Enrolment, EnrolmentStatus, Identity, JobStatus, utcnow
from server.services import Services, build_services
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture
from tests.synthetic_persons import demographics, enrolment_of, person_direction

LEASE_S = 1.0  # renewed every third of a second


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    database: dict[str, Any] = {}
    if request.param == "postgres":
        database["database_url"] = request.getfixturevalue("postgres_schema_url")
    built = build_services(
        Settings(data_dir=tmp_path / "var", dedup_inline=False, dedup_wait_s=0, dedup_lease_s=LEASE_S, **database)
    )
    yield built
    built.close()


class SlowSearch:
    """The first search waits until ``release`` is set (the long job); later ones run at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.searching, self.release = threading.Event(), threading.Event()
        real = dedup_decision.fused_candidates

        def slow(*args: Any, **kwargs: Any) -> Any:
            if not self.searching.is_set():
                self.searching.set()
                assert self.release.wait(60), "the test never released the search"
            return real(*args, **kwargs)

        monkeypatch.setattr(dedup_decision, "fused_candidates", slow)


def _queued_enrolment(services: Services) -> int:
    with services.sessions.begin() as session:
        row, _ = create_api_key(session, "desk officer", "officer", SYSTEM)
        actor = Actor(row.id, row.name, row.role)
    rng = np.random.default_rng(23)
    queued = Settle(False, 0.0, 0.05, services.settings.dedup_queue)
    return submit(services, actor, demographics(1), enrolment_of(person_direction(rng), rng), queued).id


def _job(services: Services) -> DedupJob:
    with services.sessions() as session:
        return session.scalars(select(DedupJob)).one()


def _wait_for_claim(services: Services) -> DedupJob:
    deadline = time.monotonic() + 60
    while (job := _job(services)).status != JobStatus.RUNNING:
        assert time.monotonic() < deadline, "no worker claimed the job"
        time.sleep(0.05)
    return job


def test_a_worker_renews_its_lease_so_a_long_job_is_not_taken_by_a_second_worker(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrolment_id = _queued_enrolment(services)
    search = SlowSearch(monkeypatch)
    first = threading.Thread(target=run_worker, args=(services, threading.Event(), 1))
    first.start()
    try:
        assert search.searching.wait(60)
        claimed = _wait_for_claim(services)
        time.sleep(3 * LEASE_S)  # the job runs three leases long
        renewed = _job(services)
        assert renewed.lease_expires_at is not None and claimed.lease_expires_at is not None
        assert renewed.lease_expires_at > claimed.lease_expires_at
        assert dedup_queue.claim(services.sessions, "second", services.settings.dedup_queue) is None
    finally:
        search.release.set()
        first.join(60)
    job = _job(services)
    assert job.status == JobStatus.DONE and job.attempts == 1
    with services.sessions() as session:
        enrolment = session.get(Enrolment, enrolment_id)
        assert enrolment is not None and enrolment.status == EnrolmentStatus.ISSUED
        assert len(session.scalars(select(Identity)).all()) == 1


def test_a_worker_that_lost_its_lease_writes_no_decision_and_the_new_holder_decides(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrolment_id = _queued_enrolment(services)
    search = SlowSearch(monkeypatch)
    config = services.settings.dedup_queue
    outcome: list[Enrolment | None] = []
    lease = dedup_queue.claim(services.sessions, "paused", config)
    assert lease is not None
    first = threading.Thread(target=lambda: outcome.append(run_job(services, lease)))
    first.start()
    try:
        assert search.searching.wait(60)
        # The first worker's lease runs out (its process paused past it) and a second worker claims the job; its
        # heartbeat may renew in between, so expire and claim until the second worker has it.
        second = None
        deadline = time.monotonic() + 60
        while second is None and time.monotonic() < deadline:
            with services.sessions.begin() as session:
                session.execute(
                    update(DedupJob)
                    .where(DedupJob.id == lease.job_id)
                    .values(lease_expires_at=utcnow() - timedelta(seconds=1))
                )
            second = dedup_queue.claim(services.sessions, "second", config)
        assert second is not None and second.attempt == 2
    finally:
        search.release.set()
        first.join(60)
    assert outcome == [None]  # lost: nothing decided, nothing given up
    job = _job(services)
    assert job.status == JobStatus.RUNNING and job.worker == "second" and job.attempts == 2 and job.error is None
    with services.sessions() as session:
        status = session.scalar(select(Enrolment.status).where(Enrolment.id == enrolment_id))
        assert status == EnrolmentStatus.PENDING_DEDUP
        assert session.scalars(select(Identity)).all() == []

    decided = run_job(services, second)
    assert decided is not None and decided.status == EnrolmentStatus.ISSUED
    job = _job(services)
    assert job.status == JobStatus.DONE and job.worker == "second"
