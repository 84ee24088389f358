"""Who takes the dedup jobs: ``civid abis worker`` processes (``run_worker``), or the registration process itself
for the enrolment it just stored (``Settle``, with ``dedup_inline``, the embedded default).

Workers scale out: each claims one job at a time with ``FOR UPDATE SKIP LOCKED`` and keeps its own in-memory
gallery caught up with the database before each search, so N processes on M machines share one queue. A worker
that dies mid-job loses nothing: its lease expires and the job is claimed again (``enrollment.dedup_queue``); one
that lives keeps renewing its lease while the job runs, and one that lost it anyway writes nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select

from civid.settings_groups import DedupQueueConfig
from enrollment import dedup_decision, dedup_queue
from enrollment.runtime import EnrolmentServices
from models import Enrolment, EnrolmentStatus, JobStatus

log = logging.getLogger(__name__)


def worker_name(role: str = "worker") -> str:
    """host:pid (and the thread for a request deciding its own job), stored on the jobs this process holds."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    return name if role == "worker" else f"{name}:{role}:{threading.get_ident()}"


def run_job(services: EnrolmentServices, lease: dedup_queue.Lease) -> Enrolment | None:
    """Decide one claimed job, renewing its lease meanwhile; on failure release it for a retry (or mark it
    failed) and return None; None too when the lease was lost (the job's new holder decides it)."""
    config = services.settings.dedup_queue
    try:
        with dedup_queue.Heartbeat(services.sessions, lease, config):
            return dedup_decision.process(services, lease)
    except dedup_queue.LeaseLost:
        log.warning("dedup job %d: lease lost before the decision, nothing written", lease.job_id)
        return None
    except Exception as exc:  # noqa: BLE001 - any failure of one job must not stop the worker
        log.exception("dedup job %d failed", lease.job_id)
        dedup_queue.give_up(services.sessions, lease, f"{type(exc).__name__}: {exc}", config)
        return None


def run_worker(services: EnrolmentServices, stop: threading.Event, max_jobs: int | None = None) -> int:
    """Take and decide jobs until ``stop`` is set (or ``max_jobs`` were decided); return how many were decided."""
    config = services.settings.dedup_queue
    worker = worker_name()
    done = 0
    while not stop.is_set() and (max_jobs is None or done < max_jobs):
        lease = dedup_queue.claim(services.sessions, worker, config)
        if lease is None:
            stop.wait(config.poll_s)
            continue
        if run_job(services, lease) is not None:
            done += 1
    return done


def drain_leftovers(services: EnrolmentServices) -> threading.Thread | None:
    """With ``dedup_inline`` and no workers, nobody else takes a job left undecided by a process that died after
    storing it: decide every claimable one in a background thread at start-up (none: no thread)."""
    if not services.settings.dedup_queue.inline:
        return None
    with services.sessions() as session:
        if not dedup_queue.pending_jobs(session):
            return None
    worker = worker_name("start-up")

    def drain() -> None:
        while (lease := dedup_queue.claim(services.sessions, worker, services.settings.dedup_queue)) is not None:
            run_job(services, lease)

    thread = threading.Thread(target=drain, name="dedup-leftovers", daemon=True)
    thread.start()
    return thread


@dataclass(frozen=True)
class Settle:
    """How an enrolment request gets its decision: deciding its own job (``inline``) or leaving it to the workers,
    and how long it waits for the result before answering ``pending_dedup``."""

    inline: bool
    wait_s: float
    poll_s: float
    config: DedupQueueConfig

    @classmethod
    def from_settings(cls, config: DedupQueueConfig, *, inline: bool | None = None) -> Settle:
        return cls(config.inline if inline is None else inline, config.wait_s, config.poll_s, config)

    def decided(self, services: EnrolmentServices, enrolment_id: int) -> Enrolment:
        """The enrolment once decided, or still pending_dedup after ``wait_s`` (or once its job failed)."""
        deadline = time.monotonic() + self.wait_s
        worker = worker_name("request")
        while True:
            with services.sessions() as session:
                job = dedup_queue.job_of(session, enrolment_id)
            if job is None or job.status in (JobStatus.DONE, JobStatus.FAILED):
                break
            # Inline, decide it here unless someone holds it (a worker, or a copy of this request under the same
            # Idempotency-Key): then wait, and take it over if that holder's lease expires.
            if self.inline and (lease := dedup_queue.claim(services.sessions, worker, self.config, job_id=job.id)):
                run_job(services, lease)
                continue
            if time.monotonic() >= deadline:
                break
            time.sleep(min(self.poll_s, max(deadline - time.monotonic(), 0.0)))
        return self._load(services, enrolment_id)

    def replayed(self, services: EnrolmentServices, enrolment: Enrolment) -> Enrolment:
        """An enrolment found under the request's Idempotency-Key: waited for like a new one if still undecided."""
        if enrolment.status != EnrolmentStatus.PENDING_DEDUP:
            return enrolment
        return self.decided(services, enrolment.id)

    @staticmethod
    def _load(services: EnrolmentServices, enrolment_id: int) -> Enrolment:
        with services.sessions() as session:
            return session.scalars(select(Enrolment).where(Enrolment.id == enrolment_id)).one()
