"""Deduplication cases: an enrolment whose face matched someone already enrolled, for an adjudicator, and the
history of what adjudicators decided about it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
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
    decisions: Mapped[list[CaseDecision]] = relationship(back_populates="case", order_by="CaseDecision.sequence")


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


class CaseDecision(Base):
    """One decision on a case, never edited: the first (sequence 1), then one per change, each naming the
    decision it replaces. The case row repeats the last one (the decision in force)."""

    __tablename__ = "case_decisions"
    # Sequence numbers are 1, 2, ... per case; two adjudicators racing cannot both write the same number, and
    # a decision is replaced at most once.
    __table_args__ = (UniqueConstraint("case_id", "sequence", name="uq_case_decisions_case_sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("dedup_cases.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # Decision.DUPLICATE | Decision.NOT_DUPLICATE
    # For a duplicate, the identity the applicant was linked to; the UIN the decision left the applicant with
    # (that identity's, or the one issued by a 'not duplicate', kept even after it is withdrawn).
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    uin: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text)  # why; for a change, the reason for the change
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    decided_by_name: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("case_decisions.id"), unique=True)

    case: Mapped[DedupCase] = relationship(back_populates="decisions")
    replaces: Mapped[CaseDecision | None] = relationship(remote_side=[id])
