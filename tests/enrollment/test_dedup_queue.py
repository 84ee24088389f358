"""The dedup queue on SQLite: with workers deployed the officer's request answers 202 pending_dedup with a URL to
poll, or waits for a worker's result; a claim is exclusive, an expired lease makes a job claimable again, and a
job that keeps dying is marked failed."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from enrollment import dedup_queue
from enrollment.abis_worker import run_worker
from models import DedupJob, JobStatus, utcnow
from server.app import create_app
from server.services import build_services
from tests.conftest import add_keys, enrol, make_settings


@pytest.fixture
def queued(tmp_path):  # type: ignore[no-untyped-def]
    """A service whose enrolments are left to workers and answered at once."""
    services = build_services(make_settings(tmp_path, dedup_inline=False, dedup_wait_s=0))
    keys = add_keys(services)
    with TestClient(create_app(services=services)) as client:
        yield services, keys, client
    services.close()


def test_with_workers_the_request_answers_pending_dedup_and_the_worker_decides(queued):  # type: ignore[no-untyped-def]
    services, keys, client = queued
    response = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], family_name="Obama")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending_dedup" and body["uin"] is None
    assert body["dedup"] == {"status": "queued", "attempts": 0, "poll": f"/v1/enrolments/{body['id']}"}
    assert response.headers["Location"] == body["dedup"]["poll"]
    assert client.get(body["dedup"]["poll"], headers=keys.officer).json()["status"] == "pending_dedup"

    assert run_worker(services, threading.Event(), max_jobs=1) == 1
    decided = client.get(body["dedup"]["poll"], headers=keys.officer).json()
    assert decided["status"] == "issued" and decided["uin"] and decided["dedup"] is None

    again = enrol(client, keys.officer2, ["obama_2010_blue_room.jpg"], family_name="Obama").json()
    assert run_worker(services, threading.Event(), max_jobs=1) == 1
    case = client.get(again["dedup"]["poll"], headers=keys.officer).json()
    assert case["status"] == "pending_adjudication"
    assert [c["enrolment_id"] for c in case["candidates"]] == [body["id"]]


def test_a_request_waiting_for_a_worker_gets_the_outcome_in_the_same_response(tmp_path):  # type: ignore[no-untyped-def]
    services = build_services(make_settings(tmp_path, dedup_inline=False, dedup_wait_s=60, dedup_poll_s=0.05))
    keys = add_keys(services)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(services, stop))
    worker.start()
    try:
        with TestClient(create_app(services=services)) as client:
            response = enrol(client, keys.officer, ["biden_2010_blue_room.jpg"], family_name="Biden")
    finally:
        stop.set()
        worker.join(30)
    assert response.status_code == 201 and response.json()["status"] == "issued"
    with services.sessions() as session:
        job = session.scalars(select(DedupJob)).one()
        assert job.worker is not None and ":request:" not in job.worker  # the worker decided it, not the request
    services.close()


def test_a_claim_is_exclusive_until_its_lease_expires_and_a_job_that_keeps_dying_fails(queued):  # type: ignore[no-untyped-def]
    services, keys, client = queued
    enrol(client, keys.officer, ["obama_2012_portrait.jpg"], family_name="Obama")
    config = services.settings.dedup_queue
    lease = dedup_queue.claim(services.sessions, "first", config)
    assert lease is not None and lease.attempt == 1
    job_id = lease.job_id
    assert dedup_queue.claim(services.sessions, "second", config) is None  # held: nobody else gets it

    def expire() -> None:
        with services.sessions.begin() as session:
            session.execute(
                update(DedupJob).where(DedupJob.id == job_id).values(lease_expires_at=utcnow() - timedelta(seconds=1))
            )

    expire()  # the first worker died: its lease runs out
    assert dedup_queue.claim(services.sessions, "second", config) == dedup_queue.Lease(job_id, "second", 2)
    for attempt in range(3, config.max_attempts + 1):
        expire()
        assert dedup_queue.claim(services.sessions, "next", config) == dedup_queue.Lease(job_id, "next", attempt)
    expire()
    assert dedup_queue.claim(services.sessions, "last", config) is None  # one attempt too many: failed
    with services.sessions() as session:
        job = session.get(DedupJob, job_id)
        assert job is not None and job.status == JobStatus.FAILED and job.attempts == config.max_attempts + 1
        assert job.error is not None and "abandoned" in job.error
    assert dedup_queue.pending_jobs(services.sessions()) == 0
