"""Register-pair cases: two people who both hold a UIN and whose biometrics say they may be one person, found by
a bulk dedup run (``enrollment.dedup_bulk``), for an adjudicator.

The case is shaped as an adjudicator already reads one (``DedupCase`` of kind ``register_pair``): the applicant is
the later-issued enrolment, whose UIN a "duplicate" decision withdraws (``adjudication``), and the one candidate is
the earlier, with the face score, every finger score and the fused LLR. One case per pair, whichever run finds
it (``DedupCase.key``), and none when an adjudicator has already decided these two people in an enrolment case.
"""

from __future__ import annotations

import uuid

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from matcher.fusion import FusedScore
from models import CaseCandidate, CaseKind, CaseStatus, DedupCase, Enrolment, Identity, pair_key


def open_pair_case(
    session: Session,
    actor: Actor,
    run_id: str,
    first: int,
    second: int,
    face_score: float,
    fused: FusedScore,
) -> tuple[DedupCase | None, bool]:
    """The case for enrolments ``first`` < ``second``: the existing one (a rerun, another run, or an enrolment
    case an adjudicator decided between them) or a new one, audited. Returns (case, whether it was opened now)."""
    key = pair_key(first, second)
    existing = session.scalar(select(DedupCase).where(DedupCase.key == key))
    if existing is not None:
        return existing, False
    decided = _decided_between(session, first, second)
    if decided is not None:
        return decided, False
    case = DedupCase(
        public_id=str(uuid.uuid4()),
        kind=CaseKind.REGISTER_PAIR,
        key=key,
        enrolment_id=second,  # the later-issued: its UIN is the one a "duplicate" decision withdraws
        status=CaseStatus.OPEN,
    )
    try:
        with session.begin_nested():  # another run may open the same pair at this moment
            session.add(case)
            session.flush()
    except IntegrityError:
        return session.scalar(select(DedupCase).where(DedupCase.key == key)), False
    session.add(
        CaseCandidate(
            case_id=case.id,
            rank=1,
            enrolment_id=first,
            face_score=face_score,
            fused_llr=fused.llr,
            finger_scores={str(p): round(v, 4) for p, v in fused.finger_scores.items()},
        )
    )
    people = {
        row.id: row
        for row in session.execute(
            select(Enrolment.id, Enrolment.public_id, Identity.uin)
            .outerjoin(Identity, Enrolment.identity_id == Identity.id)
            .where(Enrolment.id.in_((first, second)))
        )
    }
    audit.record(
        session,
        actor,
        "case.opened",
        "case",
        case.public_id,
        kind=CaseKind.REGISTER_PAIR,
        run=run_id,
        enrolment=people[second].public_id,
        uin=people[second].uin,
        candidate_enrolment=people[first].public_id,
        candidate_uin=people[first].uin,
        face_score=round(face_score, 4),
        finger_positions=sorted(fused.finger_scores),
        fused_llr=round(fused.llr, 3),
    )
    return case, True


def _decided_between(session: Session, first: int, second: int) -> DedupCase | None:
    """An enrolment case in which one of the two was the applicant and the other a candidate, already decided."""
    return session.scalar(
        select(DedupCase)
        .join(CaseCandidate, CaseCandidate.case_id == DedupCase.id)
        .where(
            DedupCase.kind == CaseKind.ENROLMENT,
            DedupCase.status == CaseStatus.DECIDED,
            or_(
                and_(DedupCase.enrolment_id == first, CaseCandidate.enrolment_id == second),
                and_(DedupCase.enrolment_id == second, CaseCandidate.enrolment_id == first),
            ),
        )
        .limit(1)
    )
