"""Deduplication without a global lock, on the real PostgreSQL server: many enrolments of the same and of different
synthetic people stored at once while two ``civid abis worker`` processes take the queue — nobody gets two UINs,
every duplicate's case lists the one UIN, and different people never wait on each other; a worker killed with
SIGKILL in the middle of a job loses nothing (the lease expires, another worker decides it, the same way)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, select, text

from civid.actor import Actor
from civid.audit import SYSTEM
from civid.auth import create_api_key
from civid.settings import Settings
from enrollment.abis_worker import Settle
from enrollment.workflow import submit
from models import CaseCandidate, DedupCase, DedupJob, Enrolment, EnrolmentStatus, Identity, JobStatus
from models.db import DEDUP_LOCK_KEY
from server.services import Services, build_services
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture
from tests.server import WorkerProcess
from tests.synthetic_persons import demographics, enrolment_of, person_direction

pytestmark = pytest.mark.postgres


def _setup(tmp_path: Path, url: str, **overrides: object) -> tuple[Settings, Services, Actor, dict[str, str]]:
    keys_file = tmp_path / "template-keys.json"
    settings = Settings(
        data_dir=tmp_path / "desk", database_url=url, template_keys_file=keys_file, dedup_inline=False, **overrides
    )
    services = build_services(settings)
    with services.sessions.begin() as session:
        row, _ = create_api_key(session, "desk officer", "officer", SYSTEM)
        actor = Actor(row.id, row.name, row.role)
    env = {
        "CIVID_DATABASE_URL": url,
        "CIVID_TEMPLATE_KEYS_FILE": str(keys_file),
        "CIVID_DEDUP_INLINE": "false",
        **{f"CIVID_{k.upper()}": str(v) for k, v in overrides.items()},
    }
    return settings, services, actor, env


def _workers(tmp_path: Path, env: dict[str, str], count: int) -> list[WorkerProcess]:
    return [
        WorkerProcess({**env, "CIVID_DATA_DIR": str(tmp_path / f"worker{i}")}, tmp_path / f"worker{i}.log").start()
        for i in range(count)
    ]


def _wait_all_done(services: Services, expected: int, timeout: float = 240.0) -> list[DedupJob]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with services.sessions() as session:
            jobs = list(session.scalars(select(DedupJob)))
        if len(jobs) == expected and all(job.status == JobStatus.DONE for job in jobs):
            return jobs
        time.sleep(0.3)
    raise AssertionError(f"jobs not done in {timeout} s: {sorted((j.id, j.status, j.error) for j in jobs)}")


def test_many_enrolments_at_once_on_two_workers_give_each_person_one_uin(tmp_path: Path, postgres_schema_url: str):
    settings, services, actor, env = _setup(tmp_path, postgres_schema_url)
    rng = np.random.default_rng(14)
    people = [person_direction(rng) for _ in range(20)]
    # Persons 0-7 enrol four times each, all at once; persons 8-19 once. 44 enrolments released together.
    plan = [(p, enrolment_of(people[p], rng)) for p in range(8) for _ in range(4)]
    plan += [(p, enrolment_of(people[p], rng)) for p in range(8, 20)]
    workers = _workers(tmp_path, env, 2)
    stored: dict[str, int] = {}
    barrier = threading.Barrier(len(plan))
    errors: list[BaseException] = []

    def store(index: int) -> None:
        person, captured = plan[index]
        barrier.wait()
        try:
            enrolment = submit(
                services, actor, demographics(person), captured, Settle(False, 0.0, 0.1, settings.dedup_queue)
            )
            stored[enrolment.public_id] = person
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=store, args=(i,)) for i in range(len(plan))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not errors, errors
        jobs = _wait_all_done(services, len(plan))
    finally:
        for worker in workers:
            worker.stop()

    with services.sessions() as session:
        enrolments = {e.public_id: e for e in session.scalars(select(Enrolment))}
        by_person: dict[int, list[Enrolment]] = defaultdict(list)
        for public_id, person in stored.items():
            by_person[person].append(enrolments[public_id])
        for person, rows in by_person.items():
            statuses = sorted(e.status for e in rows)
            assert statuses == [EnrolmentStatus.ISSUED] + [EnrolmentStatus.PENDING] * (len(rows) - 1), (
                person,
                statuses,
            )
            issued = next(e for e in rows if e.status == EnrolmentStatus.ISSUED)
            for pending in (e for e in rows if e.status == EnrolmentStatus.PENDING):
                case = session.scalars(select(DedupCase).where(DedupCase.enrolment_id == pending.id)).one()
                candidates = set(
                    session.scalars(select(CaseCandidate.enrolment_id).where(CaseCandidate.case_id == case.id))
                )
                assert issued.id in candidates
                # Only the same person's enrolments are candidates: nobody else was matched.
                assert candidates <= {e.id for e in rows}
        assert len(session.scalars(select(Identity)).all()) == 20
    # Both workers took jobs (the queue is shared), each job once to completion, none failed or retried.
    assert len({job.worker for job in jobs}) == 2
    assert all(job.attempts == 1 for job in jobs)
    # No job waited on another's search: the only lock is on the rows of the enrolments being decided together.
    singles = {enrolments[p].id for p, person in stored.items() if person >= 8}
    lock_waits = sorted(job.lock_wait_s or 0.0 for job in jobs if job.enrolment_id in singles)
    searches = sorted(job.search_s or 0.0 for job in jobs)
    median_search_ms = searches[len(searches) // 2] * 1000
    print(f"different people's lock wait: max {lock_waits[-1] * 1000:.1f} ms; search p50 {median_search_ms:.1f} ms")
    assert lock_waits[-1] < 0.5
    services.close()


def test_an_enrolment_of_someone_else_is_decided_while_a_pair_is_locked_and_the_global_lock_held(
    tmp_path: Path, postgres_schema_url: str
):
    """The old global dedup lock, held by someone, stops nothing; a lock on one person's enrolment row (a decision
    in progress) holds back only that person's next enrolment, not anyone else's."""
    settings, services, actor, env = _setup(tmp_path, postgres_schema_url)
    rng = np.random.default_rng(7)
    alice, bob = person_direction(rng), person_direction(rng)
    inline = Settle(True, 30.0, 0.05, settings.dedup_queue)
    first = submit(services, actor, demographics(1), enrolment_of(alice, rng), inline)
    assert first.status == EnrolmentStatus.ISSUED
    gate = create_engine(postgres_schema_url)
    with gate.connect() as connection:
        transaction = connection.begin()
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DEDUP_LOCK_KEY})
        connection.execute(text("SELECT id FROM enrolments WHERE id = :id FOR UPDATE"), {"id": first.id})
        # Two workers: the one that takes Alice's second enrolment waits at her row, the other is free for Bob.
        workers = _workers(tmp_path, env, 2)
        try:
            queued = Settle(False, 0.0, 0.05, settings.dedup_queue)
            again = submit(services, actor, demographics(1), enrolment_of(alice, rng), queued)
            other = submit(services, actor, demographics(2), enrolment_of(bob, rng), queued)
            # Bob is decided though Alice's row is locked and the global lock is held; Alice's second waits.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and _status(services, other.id) == EnrolmentStatus.PENDING_DEDUP:
                time.sleep(0.1)
            assert _status(services, other.id) == EnrolmentStatus.ISSUED
            assert _status(services, again.id) == EnrolmentStatus.PENDING_DEDUP
            transaction.commit()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and _status(services, again.id) == EnrolmentStatus.PENDING_DEDUP:
                time.sleep(0.1)
            assert _status(services, again.id) == EnrolmentStatus.PENDING
        finally:
            for worker in workers:
                worker.stop()
    gate.dispose()
    services.close()


def test_a_worker_killed_mid_job_loses_nothing_and_the_retry_decides_the_same(tmp_path: Path, postgres_schema_url: str):
    settings, services, actor, env = _setup(tmp_path, postgres_schema_url, dedup_lease_s=3.0)
    rng = np.random.default_rng(9)
    alice = person_direction(rng)
    inline = Settle(True, 30.0, 0.05, settings.dedup_queue)
    first = submit(services, actor, demographics(1), enrolment_of(alice, rng), inline)
    gate = create_engine(postgres_schema_url)
    with gate.connect() as connection:
        # Hold the first enrolment's row: the worker searches, finds her, and blocks deciding — mid-job.
        transaction = connection.begin()
        connection.execute(text("SELECT id FROM enrolments WHERE id = :id FOR UPDATE"), {"id": first.id})
        (doomed,) = _workers(tmp_path, env, 1)
        again = submit(
            services, actor, demographics(1), enrolment_of(alice, rng), Settle(False, 0.0, 0.05, settings.dedup_queue)
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _job(services, again.id).status != JobStatus.RUNNING:
            time.sleep(0.1)
        time.sleep(1.0)  # past the claim and the search, waiting at the row lock
        assert _job(services, again.id).status == JobStatus.RUNNING
        doomed.kill()
        transaction.commit()
    gate.dispose()
    assert _status(services, again.id) == EnrolmentStatus.PENDING_DEDUP  # nothing half-decided
    rescue = tmp_path / "rescue"
    rescue.mkdir()
    (rescuer,) = _workers(rescue, env, 1)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _job(services, again.id).status != JobStatus.DONE:
            time.sleep(0.2)
    finally:
        rescuer.stop()
    job = _job(services, again.id)
    assert job.status == JobStatus.DONE and job.attempts == 2
    assert job.worker is not None and not job.worker.endswith(f":{doomed.pid}")
    with services.sessions() as session:
        decided = session.get(Enrolment, again.id)
        assert decided is not None and decided.status == EnrolmentStatus.PENDING
        case = session.scalars(select(DedupCase).where(DedupCase.enrolment_id == again.id)).one()
        assert list(session.scalars(select(CaseCandidate.enrolment_id).where(CaseCandidate.case_id == case.id))) == [
            first.id
        ]
        assert len(session.scalars(select(DedupCase)).all()) == 1  # one case, not one per attempt
        assert len(session.scalars(select(Identity)).all()) == 1
    services.close()


def _status(services: Services, enrolment_id: int) -> str:
    with services.sessions() as session:
        return str(session.scalar(select(Enrolment.status).where(Enrolment.id == enrolment_id)))


def _job(services: Services, enrolment_id: int) -> DedupJob:
    with services.sessions() as session:
        return session.scalars(select(DedupJob).where(DedupJob.enrolment_id == enrolment_id)).one()
