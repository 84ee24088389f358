"""Deduplication cases: an enrolment whose face matched someone already enrolled, or two issued identities a bulk
dedup run found alike, for an adjudicator, and the history of what adjudicators decided about it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.identity import Enrolment, Identity


class CaseStatus:
    OPEN = "open"
    DECIDED = "decided"


class CaseKind:
    # An applicant matched people already in the gallery during their own enrolment: no UIN until decided.
    ENROLMENT = "enrolment"
    # Two identities that both hold a UIN look like one person (found by ``civid abis dedup-bulk`` over an existing
    # register): the applicant is the later-issued one, whose UIN a "duplicate" decision withdraws.
    REGISTER_PAIR = "register_pair"


def pair_key(first_enrolment_id: int, second_enrolment_id: int) -> str:
    """The one key of a register-pair case: the two enrolments, lower id first (so a pair opens one case)."""
    low, high = sorted((first_enrolment_id, second_enrolment_id))
    return f"pair:{low}:{high}"


def enrolment_case_key(enrolment_id: int) -> str:
    """The key of an applicant's own case (at most one per enrolment)."""
    return f"enrolment:{enrolment_id}"


def _enrolment_case_key(context: DefaultExecutionContext) -> str:
    parameters = context.get_current_parameters()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it untyped
    return enrolment_case_key(parameters["enrolment_id"])


class Decision:
    DUPLICATE = "duplicate"
    NOT_DUPLICATE = "not_duplicate"


class DedupCase(Base):
    """Who applied, which enrolled people matched and how well, and what the adjudicator decided."""

    __tablename__ = "dedup_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True, default=CaseKind.ENROLMENT)
    # What the case is about, unique: "enrolment:<id>" (one case per applicant) or ``pair_key`` of a register pair
    # (one case per pair, so a rerun of a bulk dedup opens none twice).
    key: Mapped[str] = mapped_column(String(64), unique=True, default=_enrolment_case_key)
    # The applicant: the enrolment that asked for a UIN, or the later-issued identity of a register pair.
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default=CaseStatus.OPEN)
    decision: Mapped[str | None] = mapped_column(String(16))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    # The identity the applicant holds in its own right: a register pair's later UIN, or the one an enrolment
    # case's "not duplicate" issued. A "duplicate" decision withdraws it; a later "not duplicate" gives that one
    # back (enrollment.decision_change), so a person keeps one UIN whatever the sequence of decisions.
    own_identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()

    enrolment: Mapped[Enrolment] = relationship()
    duplicate_of: Mapped[Identity | None] = relationship(foreign_keys=[duplicate_of_id])
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
