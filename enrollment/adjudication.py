"""Deciding a deduplication case: ``duplicate`` links the applicant to the existing identity as an attempt
against it (no new UIN, the identity's record unchanged: ``enrollment.record``); ``not_duplicate`` issues
the applicant's UIN. Each decision is audited, recorded as the case's
decision 1 (``decision_history``) and final here (``decision_change`` supersedes it).

A register-pair case (two issued identities a bulk dedup run found alike, ``enrollment.register_pairs``) is decided
the same way, its applicant being the later-issued identity: ``not_duplicate`` leaves both UINs as they are;
``duplicate`` withdraws the applicant's UIN as merged into the candidate's (``IdentityMerged`` published, so kyc
and idp end what it held) and links the enrolment to the candidate's identity as an attempt."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from civid import audit
from civid.audit import Actor
from civid.errors import Conflict, Forbidden, InvalidInput, NotFound
from civid.events import IdentityMerged
from civid.uin import normalise_uin
from enrollment import decision_history
from enrollment.dedup_decision import issue_identity
from enrollment.record import record_attempt
from enrollment.runtime import EnrolmentServices
from enrollment.schemas import DecisionIn
from enrollment.uin_withdrawal import remember_own_identity, withdraw_merged_uin
from models import (
    CaseCandidate,
    CaseKind,
    CaseStatus,
    Decision,
    DedupCase,
    Enrolment,
    EnrolmentStatus,
    FaceTemplate,
    FingerTemplate,
    utcnow,
)
from models.db import dedup_section


def load_case(session: Session, public_id: str, *, for_update: bool = False) -> DedupCase:
    """A case with its enrolment and candidates, or NotFound."""
    query = (
        select(DedupCase)
        .where(DedupCase.public_id == public_id)
        .options(selectinload(DedupCase.candidates).selectinload(CaseCandidate.enrolment))
    )
    if for_update:
        query = query.with_for_update()
    case = session.scalars(query).first()
    if case is None:
        raise NotFound(f"no deduplication case {public_id}")
    return case


def check_four_eyes(actor: Actor, enrolment: Enrolment) -> None:
    """Four eyes: whoever enrolled the applicant neither decides nor changes whether it is a duplicate."""
    if actor.id is not None and actor.id == enrolment.officer_id:
        raise Forbidden("the officer who enrolled the applicant may not decide this case", code="own_applicant")


def decide(services: EnrolmentServices, actor: Actor, case_id: str, decision: DecisionIn) -> DedupCase:
    """Apply an adjudicator's decision to an open case."""
    removed: list[int] = []
    removed_fingers: list[int] = []
    with services.sessions() as session, dedup_section(session):
        case = load_case(session, case_id, for_update=True)
        if case.status != CaseStatus.OPEN:
            raise Conflict(
                f"case {case_id} was already decided ({case.decision})",
                code="already_decided",
                params={"decision": case.decision},
            )
        enrolment = session.get(Enrolment, case.enrolment_id)
        assert enrolment is not None
        check_four_eyes(actor, enrolment)
        remember_own_identity(case, enrolment)  # a register pair's applicant: the UIN a "duplicate" withdraws
        if decision.decision == Decision.DUPLICATE:
            target = _duplicate_target(case, decision.duplicate_of)
            if case.kind == CaseKind.REGISTER_PAIR:
                _merge_into(services, session, actor, case, enrolment, target)
            templates = session.scalars(select(FaceTemplate).where(FaceTemplate.enrolment_id == enrolment.id)).all()
            for template in templates:
                template.in_gallery = False
            removed = [t.id for t in templates]
            fingers = session.scalars(select(FingerTemplate).where(FingerTemplate.enrolment_id == enrolment.id)).all()
            for finger in fingers:
                finger.in_gallery = False
            removed_fingers = [f.id for f in fingers]
            uin = attach_as_duplicate(session, actor, case, enrolment, target)
        elif case.kind == CaseKind.REGISTER_PAIR:  # two people after all: each keeps the UIN they hold
            assert enrolment.identity is not None  # a register pair's applicant is issued (enrollment.dedup_bulk)
            uin = enrolment.identity.uin
        else:
            identity = issue_identity(session, services.events, actor, enrolment)
            case.own_identity_id = identity.id
            uin = identity.uin
        case.status = CaseStatus.DECIDED
        record_decision(session, case, enrolment, actor, decision, uin, "case.decided")
        session.commit()
        services.gallery.removed(removed)
        services.fingers.removed(removed_fingers)
    return case


def _merge_into(
    services: EnrolmentServices,
    session: Session,
    actor: Actor,
    case: DedupCase,
    enrolment: Enrolment,
    target: Enrolment,
) -> None:
    """A register pair decided duplicate: withdraw the applicant's UIN as merged into the target's identity."""
    assert target.identity is not None
    if target.identity_id == enrolment.identity_id:
        raise Conflict("both enrolments already hold the same UIN", code="same_identity")
    withdrawn = withdraw_merged_uin(session, enrolment, case, actor)
    services.events.publish(
        session,
        IdentityMerged(
            identity_id=withdrawn.id,
            uin=withdrawn.uin,
            actor=actor,
            reason=f"UIN withdrawn: register-pair case {case.public_id} decided duplicate",
            merged_into_identity_id=target.identity.id,
            merged_into_uin=target.identity.uin,
        ),
    )


def attach_as_duplicate(
    session: Session, actor: Actor, case: DedupCase, enrolment: Enrolment, target: Enrolment
) -> str:
    """Decide the applicant's ``enrolment`` a duplicate of the ``target`` candidate's identity (audited as an
    attempt against it) and return that identity's UIN; the first decision and a change both do it here."""
    assert target.identity is not None
    enrolment.status = EnrolmentStatus.DUPLICATE
    enrolment.identity_id = target.identity_id
    enrolment.decided_at = utcnow()
    case.duplicate_of_id = target.identity_id
    # An attempt against the identity, not its new record (enrollment.record): what portals and banks
    # are told stays the enrolment that issued the UIN, so its attestations stay valid.
    record_attempt(session, actor, target.identity, enrolment, case)
    return target.identity.uin


def record_decision(
    session: Session,
    case: DedupCase,
    enrolment: Enrolment,
    actor: Actor,
    decision: DecisionIn,
    uin: str | None,
    action: str,
    **details: object,
) -> None:
    """Put ``decision`` in force on the case: its row, its decision history and the audit chain (``action``:
    ``case.decided`` for the first decision, ``case.decision_changed`` for each change)."""
    case.decision = decision.decision
    case.comment = decision.comment
    case.decided_by_id = actor.id
    case.decided_at = utcnow()
    decision_history.record(session, case, actor, uin)
    audit.record(
        session,
        actor,
        action,
        "case",
        case.public_id,
        decision=decision.decision,
        enrolment=enrolment.public_id,
        uin=uin,
        comment_length=len(decision.comment),
        **details,
    )


def _duplicate_target(case: DedupCase, duplicate_of: str | None) -> Enrolment:
    """The candidate the applicant duplicates: named by UIN, or the only issued candidate."""
    issued = [
        c.enrolment
        for c in case.candidates
        if c.enrolment.status == EnrolmentStatus.ISSUED and c.enrolment.identity_id is not None
    ]
    if duplicate_of is not None:
        uin = normalise_uin(duplicate_of)
        for enrolment in issued:
            if enrolment.identity and enrolment.identity.uin == uin:
                return enrolment
        raise InvalidInput(
            f"UIN {uin} is not an issued candidate of this case", code="not_a_candidate", params={"uin": uin}
        )
    if len(issued) == 1:
        return issued[0]
    if not issued:
        raise Conflict(
            "no candidate of this case holds a UIN yet: decide the candidates' own cases first",
            code="no_issued_candidate",
        )
    raise InvalidInput("several candidates hold a UIN: name the one in 'duplicate_of'", code="name_the_candidate")
