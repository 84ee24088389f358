"""A case's decision history: one ``CaseDecision`` row per decision, oldest first, never edited.

``adjudication.decide`` appends decision 1 and ``decision_change.change`` appends each later one, naming the
decision it replaces, in the transaction that changes the case row and writes the audit event. Both run with
the case row locked inside the dedup section, so the next sequence number is read and written by one
adjudicator at a time; the unique (case, sequence) and (replaces) constraints refuse a second writer anyway.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid.audit import Actor
from models import CaseDecision, DedupCase


def decisions_of(session: Session, case: DedupCase) -> list[CaseDecision]:
    """Every decision on the case, oldest first."""
    return list(
        session.scalars(select(CaseDecision).where(CaseDecision.case_id == case.id).order_by(CaseDecision.sequence))
    )


def record(session: Session, case: DedupCase, actor: Actor, uin: str | None) -> CaseDecision:
    """Append the decision just put on the case row (outcome, link, comment, time) as its next decision;
    ``uin`` is the one the decision left the applicant with (the duplicate's target or the one issued)."""
    assert case.decision is not None and case.comment is not None and case.decided_at is not None
    latest = session.scalars(
        select(CaseDecision).where(CaseDecision.case_id == case.id).order_by(CaseDecision.sequence.desc()).limit(1)
    ).first()
    row = CaseDecision(
        case_id=case.id,
        sequence=latest.sequence + 1 if latest else 1,
        outcome=case.decision,
        duplicate_of_id=case.duplicate_of_id,
        uin=uin,
        comment=case.comment,
        decided_by_id=actor.id,
        decided_by_name=actor.name,
        decided_at=case.decided_at,
        replaces_id=latest.id if latest else None,
    )
    session.add(row)
    session.flush()  # a concurrent duplicate sequence fails here, before the audit event is written
    return row
