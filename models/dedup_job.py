"""The deduplication queue: one job per accepted enrolment, taken by ``civid abis worker`` processes (or by the
registration process itself), each with its attempts, its lease and its result.

Insert-then-identify (MOSIP's ABIS design): the enrolment and its templates are committed, and searchable,
before its job is searched, so two concurrent enrolments of one person cannot both miss each other. A job is
claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (a conditional UPDATE on SQLite) and holds a lease: a
worker that dies mid-job loses nothing, the lease expires and another worker takes the job again. The decision
is written in the same transaction that marks the job done, so a retried job finds the decision already made
and returns it (results are idempotent).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class JobStatus:
    QUEUED = "queued"  # waiting for a worker (or its lease expired: see DedupJob.lease_expires_at)
    RUNNING = "running"  # leased by a worker until lease_expires_at
    DONE = "done"  # the enrolment is decided (issued or a case opened)
    FAILED = "failed"  # gave up after the most attempts; the error says why, an operator re-queues it


class DedupJob(Base):
    """Deduplicate one enrolment: who holds it, until when, how often it was tried, and what it decided."""

    __tablename__ = "dedup_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default=JobStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(120))  # host:pid of the worker holding or last holding it
    lease_expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    # Matches found by enrolments decided before this one while this one was still undecided: each was issued
    # (or sent to a case) first, so this one must count them whether or not its own search saw them
    # ([{"enrolment_id", "face_score", "fused_llr", "finger_scores"}], written under this enrolment's row lock).
    deferred_matches: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Where the successful attempt spent its time: the 1:N search (no lock held), waiting for the row locks of
    # the enrolments being decided, and the process CPU it used.
    search_s: Mapped[float | None] = mapped_column()
    lock_wait_s: Mapped[float | None] = mapped_column()
    cpu_s: Mapped[float | None] = mapped_column()
