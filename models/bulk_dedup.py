"""Bulk deduplication runs over an existing register (``civid abis dedup-bulk``): the run with its progress
cursor, so an interrupted run resumes where it stopped, and the candidate pairs it found."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class RunStatus:
    RUNNING = "running"  # in progress, or stopped by Ctrl-C, a kill or a crash: resumable from its cursor
    COMPLETED = "completed"


class BulkDedupRun(Base):
    """One bulk dedup run: what it searched, how, and how far it got."""

    __tablename__ = "bulk_dedup_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default=RunStatus.RUNNING)
    # Only this imported batch's people are searched (against everyone); NULL for everyone against everyone.
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batch_jobs.id"))
    # How it searches (matcher.bulk_pairs.ScanOptions, the fused threshold): a resume uses the run's own.
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Every face template id up to the cursor has been searched and its pairs recorded (ids ascend).
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    # The gallery's newest template id when the run began: templates enrolled later are not part of it.
    last_template_id: Mapped[int] = mapped_column(Integer)
    queries_total: Mapped[int] = mapped_column(Integer)
    queries_done: Mapped[int] = mapped_column(Integer, default=0)
    pairs_found: Mapped[int] = mapped_column(Integer, default=0)
    cases_opened: Mapped[int] = mapped_column(Integer, default=0)
    started_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class BulkDedupPair(Base):
    """Two issued people (by enrolment, lower id first) a run found alike, with the evidence, never templates."""

    __tablename__ = "bulk_dedup_pairs"
    __table_args__ = (
        UniqueConstraint("run_id", "first_enrolment_id", "second_enrolment_id", name="uq_bulk_dedup_pairs_pair"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("bulk_dedup_runs.id"), index=True)
    first_enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"))
    second_enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"))
    index_score: Mapped[float] = mapped_column()  # what the (approximate) index said
    face_score: Mapped[float] = mapped_column()  # exact best cosine over both people's templates
    finger_scores: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)  # position -> MCC score
    fused_llr: Mapped[float] = mapped_column()
    case_id: Mapped[int | None] = mapped_column(ForeignKey("dedup_cases.id"))  # at or above the threshold
