"""The deduplication queue (``models.DedupJob``): create a job beside its enrolment, claim one, give one up, and
wait for one's result.

A claim is one short transaction: on PostgreSQL ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)``, so
workers never wait on each other's claim and never take the same job; on SQLite a conditional UPDATE (the
row is claimed only if it is still claimable when the write lock is held). A claimed job carries a lease: if its
worker dies (kill -9, a lost machine), the lease expires and the job is claimable again. Nothing is held while
the job runs; ``enrollment.dedup_decision`` decides it and marks it done in one transaction.

A live worker keeps its lease: a ``Heartbeat`` renews it every third of ``lease_s`` while the job runs, so a long
job (ten fingers, a big gallery, a slow Milvus) is not taken by a second worker meanwhile. Each claim counts one
more attempt, and that number is the lease's token: the decision commits only while the job is still running
under the same attempt (``holds``), so a worker whose lease expired anyway (a paused process, a partition) and was
claimed again writes nothing, and the new holder decides.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from civid.settings_groups import DedupQueueConfig
from models import DedupJob, Enrolment, JobStatus, utcnow
from models.db import affected_rows, is_postgres

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lease:
    """One claim of a job: by whom, and which attempt (the job's ``attempts`` the claim set, its token)."""

    job_id: int
    worker: str
    attempt: int


class LeaseLost(Exception):
    """The job was claimed again after this lease expired: its holder must not write a decision."""


def enqueue(session: Session, enrolment: Enrolment) -> DedupJob:
    """Add the job that deduplicates ``enrolment`` (in the transaction that stores it)."""
    job = DedupJob(enrolment_id=enrolment.id, status=JobStatus.QUEUED, attempts=0, deferred_matches=[])
    session.add(job)
    session.flush()
    return job


def _claimable(now: Any) -> Any:
    return (DedupJob.status == JobStatus.QUEUED) | (
        (DedupJob.status == JobStatus.RUNNING) & (DedupJob.lease_expires_at < now)
    )


def claim(
    sessions: sessionmaker[Session], worker: str, config: DedupQueueConfig, job_id: int | None = None
) -> Lease | None:
    """Take the oldest claimable job (or job ``job_id`` if it is claimable) for ``worker``; its lease, or None.

    A job already tried ``config.max_attempts`` times (its workers died, or it kept failing) is marked failed
    instead: an operator looks at its error rather than workers dying on it for ever."""
    with sessions() as session:
        now = utcnow()
        condition = _claimable(now)
        if job_id is not None:
            condition = condition & (DedupJob.id == job_id)
        values = {
            "status": JobStatus.RUNNING,
            "attempts": DedupJob.attempts + 1,
            "worker": worker,
            "lease_expires_at": now + timedelta(seconds=config.lease_s),
            "started_at": now,
        }
        if is_postgres(session):
            pick = (
                select(DedupJob.id)
                .where(condition)
                .order_by(DedupJob.id)
                .limit(1)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            claimed = session.scalar(update(DedupJob).where(DedupJob.id == pick).values(values).returning(DedupJob.id))
        else:
            claimed = session.scalar(select(DedupJob.id).where(condition).order_by(DedupJob.id).limit(1))
            # Conditional: another process may have claimed it between the SELECT and this write.
            if claimed is not None and not affected_rows(
                session, update(DedupJob).where(DedupJob.id == claimed, _claimable(now)).values(values)
            ):
                claimed = None
        if claimed is None:
            session.rollback()
            return None
        attempts = session.scalar(select(DedupJob.attempts).where(DedupJob.id == claimed)) or 0
        if attempts > config.max_attempts:
            session.execute(
                update(DedupJob)
                .where(DedupJob.id == claimed)
                .values(
                    status=JobStatus.FAILED,
                    lease_expires_at=None,
                    finished_at=now,
                    error=f"abandoned: {attempts - 1} attempts ended without a result (worker killed or job failing)",
                )
            )
            session.commit()
            log.error("dedup job %d failed after %d attempts", claimed, attempts - 1)
            return None
        session.commit()
        return Lease(claimed, worker, attempts)


def renew(sessions: sessionmaker[Session], lease: Lease, config: DedupQueueConfig) -> bool:
    """Extend ``lease`` by ``lease_s`` from now; False when the job is no longer running under it."""
    with sessions() as session:
        renewed = affected_rows(
            session,
            update(DedupJob).where(_held(lease)).values(lease_expires_at=utcnow() + timedelta(seconds=config.lease_s)),
        )
        session.commit()
    return renewed == 1


def holds(session: Session, lease: Lease) -> bool:
    """Whether the job still runs under ``lease``, read with its row locked until the caller's commit (on
    PostgreSQL; SQLite's caller holds the write lock already): the check a decision makes before it commits."""
    held = session.scalar(select(DedupJob.id).where(_held(lease)).with_for_update())
    return held is not None


def _held(lease: Lease) -> Any:
    return (DedupJob.id == lease.job_id) & (DedupJob.status == JobStatus.RUNNING) & (DedupJob.attempts == lease.attempt)


class Heartbeat:
    """Renews a lease in a background thread while its job runs (``with Heartbeat(...)``), every third of the
    lease so two renewals can be missed (a busy database, a pause) before it expires; ``lost`` is set once the
    job is no longer held under it."""

    def __init__(self, sessions: sessionmaker[Session], lease: Lease, config: DedupQueueConfig) -> None:
        self.lost = threading.Event()
        self._sessions, self._lease, self._config = sessions, lease, config
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{lease.job_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self._config.lease_s / 3):
            try:
                held = renew(self._sessions, self._lease, self._config)
            except Exception:  # noqa: BLE001 - a database blip: the next beat tries again, the lease still runs
                log.warning("could not renew the lease of dedup job %d", self._lease.job_id, exc_info=True)
                continue
            if not held:
                if not self._stop.is_set():  # not merely the job's own decision, committed just now
                    log.warning("dedup job %d: lease lost (claimed again after it expired)", self._lease.job_id)
                self.lost.set()
                return


def give_up(sessions: sessionmaker[Session], lease: Lease, error: str, config: DedupQueueConfig) -> None:
    """Release a job whose attempt failed: queued again while attempts remain, else failed with ``error``."""
    with sessions() as session:
        job = session.scalars(select(DedupJob).where(_held(lease))).first()
        if job is None:
            return  # done meanwhile, or another worker holds it since our lease expired
        job.status = JobStatus.QUEUED if job.attempts < config.max_attempts else JobStatus.FAILED
        job.lease_expires_at = None
        job.error = error[:2000]
        if job.status == JobStatus.FAILED:
            job.finished_at = utcnow()
        session.commit()


def release_abandoned_here(sessions: sessionmaker[Session]) -> int:
    """Make claimable now the running jobs held by processes of this machine that are gone (a service or worker
    killed mid-job, restarted): their leases would otherwise hold those enrolments back until they expire. Run
    at start-up; a job held on another machine waits for its lease. Returns how many were released."""
    host = socket.gethostname()
    released = 0
    with sessions() as session:
        for job in session.scalars(select(DedupJob).where(DedupJob.status == JobStatus.RUNNING)):
            holder_host, _, rest = (job.worker or "").partition(":")
            pid = rest.split(":", 1)[0]
            if holder_host == host and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                job.lease_expires_at = utcnow()
                released += 1
        session.commit()
    if released:
        log.warning("released %d dedup job(s) held by processes of this machine that are gone", released)
    return released


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, under another user
    return True


def job_of(session: Session, enrolment_id: int) -> DedupJob | None:
    return session.scalars(select(DedupJob).where(DedupJob.enrolment_id == enrolment_id)).first()


def pending_jobs(session: Session) -> int:
    """Jobs not yet decided (queued or running)."""
    return (
        session.scalar(
            select(func.count()).select_from(DedupJob).where(DedupJob.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))
        )
        or 0
    )
