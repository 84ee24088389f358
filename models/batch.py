"""Registration drives uploaded as one ZIP: the batch (whose, which archive, running or not) and one row
per person's package with its outcome, so an interrupted batch resumes where it stopped.

Each package is enrolled with the idempotency key ``batch:<batch public id>:<package>``: after a crash
between an enrolment's commit and its record's update, re-running the package returns the same
enrolment instead of enrolling the person twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class BatchStatus:
    RUNNING = "running"  # being processed, or stopped by a crash (the runner's heartbeat tells which)
    PAUSED = "paused"  # stopped by the officer
    COMPLETED = "completed"  # every record has its outcome; the packages are deleted


class RecordStatus:
    PENDING = "pending"
    ISSUED = "issued"
    CASE_OPENED = "case_opened"
    # The person was enrolled before from this officer's drives: the same package (in this archive or an earlier
    # one), or a re-export of it (same person.json content, the face matching at the dedup threshold). Nothing new
    # is stored; the record points at that enrolment.
    ALREADY_ENROLLED = "already_enrolled"
    REJECTED = "rejected"  # the quality gate refused the photo or a finger (an enrolment row exists)
    INVALID = "invalid"  # the package itself is unusable (no person.json, bad demographics, undecodable file)
    ERROR = "error"  # an unexpected failure; the log has the details
    FINAL = (ISSUED, CASE_OPENED, ALREADY_ENROLLED, REJECTED, INVALID, ERROR)
    PROBLEMS = (REJECTED, INVALID, ERROR)  # no UIN and no case: the officer must act


class BatchJob(Base):
    """One uploaded registration drive."""

    __tablename__ = "batch_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    # The officer who uploaded it: every enrolment of the batch is theirs (and so are the idempotency keys).
    officer_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    officer_name: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(200))
    archive_sha256: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default=BatchStatus.RUNNING)
    total: Mapped[int] = mapped_column(Integer)
    # Which process runs it ("host:pid") and when it last finished a record: a batch whose runner is gone
    # (a restart) or silent for ``batch_stale_after_s`` is interrupted and may be resumed.
    runner: Mapped[str | None] = mapped_column(String(100))
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class BatchRecord(Base):
    """One person's package in a batch and what became of it."""

    __tablename__ = "batch_records"
    __table_args__ = (UniqueConstraint("batch_id", "package", name="uq_batch_records_batch_package"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch_jobs.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # order in the archive; names the sealed package file
    package: Mapped[str] = mapped_column(String(200))  # the folder name inside the ZIP
    # The enrolment idempotency key: "batch-package:<SHA-256 of the package's files>" (enrollment.batch.jobs);
    # NULL for records created before migration 0009, which use "batch:<batch id>:<package>".
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    # SHA-256 of the package's person.json as parsed and normalised (``batch_archive.person_digest``): a re-export
    # of the same person (re-indented JSON, re-encoded photo, renamed file) has another key but the same digest.
    # NULL for invalid packages and records from before migration 0014.
    person_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default=RecordStatus.PENDING)
    enrolment_public_id: Mapped[str | None] = mapped_column(String(36))
    uin: Mapped[str | None] = mapped_column(String(16))
    case_public_id: Mapped[str | None] = mapped_column(String(36))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{"code", "message"}]
    processed_at: Mapped[datetime | None] = mapped_column()
