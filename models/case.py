"""Deduplication cases: an enrolment whose face matched someone already enrolled, for an adjudicator."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.identity import Enrolment, Identity


class CaseStatus:
    OPEN = "open"
    DECIDED = "decided"


class Decision:
    DUPLICATE = "duplicate"
    NOT_DUPLICATE = "not_duplicate"


class DedupCase(Base):
    """Who applied, which enrolled people matched and how well, and what the adjudicator decided."""

    __tablename__ = "dedup_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default=CaseStatus.OPEN)
    decision: Mapped[str | None] = mapped_column(String(16))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()

    enrolment: Mapped[Enrolment] = relationship()
    duplicate_of: Mapped[Identity | None] = relationship()
    candidates: Mapped[list[CaseCandidate]] = relationship(back_populates="case", order_by="CaseCandidate.rank")


class CaseCandidate(Base):
    """One enrolled person who matched the applicant, with the best face score over their templates."""

    __tablename__ = "case_candidates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("dedup_cases.id"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"))
    face_score: Mapped[float] = mapped_column()
    # Fused evidence (matcher/fusion.py): raw score per finger position compared, and the summed LLR.
    finger_scores: Mapped[dict[str, float] | None] = mapped_column(JSON)
    fused_llr: Mapped[float | None] = mapped_column()

    case: Mapped[DedupCase] = relationship(back_populates="candidates")
    enrolment: Mapped[Enrolment] = relationship()
