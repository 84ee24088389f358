"""Changing a decided deduplication case: a NEW decision that supersedes the one in force, never an edit.

``adjudication.decide`` decides an open case once (a second call is a 409). When an adjudicator later finds
the decision wrong (new evidence, a twin, a swapped photo), ``change`` records a new decision: the case row
holds the decision in force, the case's decision history (``decision_history``, one ``CaseDecision`` row per
decision) gains a row that replaces the one in force, and the audit chain holds every decision ever made —
``case.decided``, then one ``case.decision_changed`` per change, carrying the superseded decision with its
decider, time and comment.

What a change undoes and redoes, in one transaction inside the dedup section:

- duplicate → not duplicate: the applicant gets a UIN of their own and their templates go back into the 1:N
  galleries: the one it held before, if a "duplicate" withdrew it (a register pair's later UIN, or the one an
  earlier "not duplicate" issued: restored, ``uin_withdrawal.restore_own_uin``), else a new one; so a person keeps
  one UIN whatever the sequence of decisions. The identity they were an attempt against is untouched (its record
  never included the attempt: ``enrollment.record``).
- not duplicate → duplicate of a candidate: the UIN the first decision issued is withdrawn (identity status
  ``merged``: no login, no token, no claim; the number is never reused) and ``IdentityMerged`` published
  (``civid.events``: kyc revokes its attestations, the OpenID provider its grants, in this transaction); the
  applicant's enrolment is recorded as an attempt against the candidate's identity (audited) and leaves
  the galleries. Refused while another enrolment hangs on the withdrawn UIN.
- duplicate of one candidate → duplicate of another: relinked as an attempt against the other; neither
  identity's record changes, so no attestation is revoked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from civid.errors import Conflict, InvalidInput
from civid.events import EventBus, IdentityMerged
from enrollment.adjudication import (
    _duplicate_target,
    attach_as_duplicate,
    check_four_eyes,
    load_case,
    record_decision,
)
from enrollment.dedup_decision import issue_identity
from enrollment.runtime import EnrolmentServices
from enrollment.schemas import DecisionIn
from enrollment.templates import open_descriptor
from enrollment.uin_withdrawal import remember_own_identity, restore_own_uin, withdraw_merged_uin
from models import (
    ApiKey,
    CaseStatus,
    Decision,
    DedupCase,
    Enrolment,
    FaceTemplate,
    FingerTemplate,
    Identity,
)
from models.db import dedup_section


@dataclass(frozen=True)
class DecisionChanged:
    """The outcome of a change: the case, and the identity whose UIN was withdrawn (if one was)."""

    case: DedupCase
    withdrawn_identity_id: int | None
    withdrawn_uin: str | None


def change(services: EnrolmentServices, actor: Actor, case_id: str, decision: DecisionIn) -> DecisionChanged:
    """Supersede a decided case's decision with ``decision`` (audited with the superseded one).

    A UIN withdrawn by the change is published on ``services.events`` in the same transaction: the packages
    that hold something for that identity (attestations, grants) end it there, unknown to this one."""
    with services.sessions() as session, dedup_section(session):
        case = load_case(session, case_id, for_update=True)
        if case.status != CaseStatus.DECIDED:
            raise Conflict(
                f"case {case_id} is still open: decide it, there is nothing to change yet", code="still_open"
            )
        enrolment = session.get(Enrolment, case.enrolment_id)
        assert enrolment is not None
        check_four_eyes(actor, enrolment)
        remember_own_identity(case, enrolment)  # a "not duplicate" in force: the UIN a change to duplicate withdraws
        superseded = superseded_summary(session, case)
        moves = _Moves(
            list(session.scalars(select(FaceTemplate).where(FaceTemplate.enrolment_id == enrolment.id))),
            list(session.scalars(select(FingerTemplate).where(FingerTemplate.enrolment_id == enrolment.id))),
        )
        if decision.decision == Decision.DUPLICATE:
            uin, withdrawn = _to_duplicate(session, case, enrolment, decision, actor, moves, services.events)
        else:
            uin, withdrawn = _to_not_duplicate(session, case, enrolment, actor, moves, services.events), None
        record_decision(session, case, enrolment, actor, decision, uin, "case.decision_changed", superseded=superseded)
        session.commit()
        moves.apply(services, enrolment.public_id)  # committed: now the in-memory galleries follow
    return DecisionChanged(case, withdrawn.id if withdrawn else None, withdrawn.uin if withdrawn else None)


@dataclass
class _Moves:
    """The applicant's templates, and whether they leave the 1:N galleries or come back into them."""

    faces: list[FaceTemplate]
    fingers: list[FingerTemplate]
    direction: str | None = None  # "leave" | "return"

    def mark(self, direction: str) -> None:
        self.direction = direction
        rows: list[FaceTemplate | FingerTemplate] = [*self.faces, *self.fingers]
        for row in rows:
            row.in_gallery = direction == "return"

    def apply(self, services: EnrolmentServices, enrolment_public_id: str) -> None:
        if self.direction == "leave":
            services.gallery.removed([row.id for row in self.faces])
            services.fingers.removed([row.id for row in self.fingers])
        elif self.direction == "return":
            if self.faces:
                vectors = [open_descriptor(services.keyring, row, enrolment_public_id) for row in self.faces]
                services.gallery.added([row.id for row in self.faces], np.stack(vectors))
            services.fingers.added(self.fingers, enrolment_public_id)


def _to_duplicate(
    session: Session,
    case: DedupCase,
    enrolment: Enrolment,
    decision: DecisionIn,
    actor: Actor,
    moves: _Moves,
    events: EventBus,
) -> tuple[str | None, Identity | None]:
    """Attach the applicant to the named (or only) issued candidate; withdraw the UIN a 'not duplicate' gave."""
    target = _duplicate_target(case, decision.duplicate_of)
    if case.decision == Decision.DUPLICATE and case.duplicate_of_id == target.identity_id:
        raise InvalidInput("the case is already decided so: a change must change the decision", code="same_decision")
    assert target.identity is not None
    withdrawn = None
    if case.decision == Decision.NOT_DUPLICATE:
        withdrawn = withdraw_merged_uin(session, enrolment, case, actor)
        events.publish(
            session,
            IdentityMerged(
                identity_id=withdrawn.id,
                uin=withdrawn.uin,
                actor=actor,
                reason=f"UIN withdrawn: case {case.public_id} decided duplicate",
                merged_into_identity_id=target.identity.id,
                merged_into_uin=target.identity.uin,
            ),
        )
        moves.mark("leave")
    return attach_as_duplicate(session, actor, case, enrolment, target), withdrawn


def _to_not_duplicate(
    session: Session, case: DedupCase, enrolment: Enrolment, actor: Actor, moves: _Moves, events: EventBus
) -> str:
    """Give the applicant a UIN of their own: the one a "duplicate" withdrew from it, else a new one; the identity
    it was an attempt against is untouched."""
    if case.decision == Decision.NOT_DUPLICATE:
        raise InvalidInput("the case is already decided so: a change must change the decision", code="same_decision")
    case.duplicate_of_id = None  # the identity it was an attempt against keeps its record: nothing to revoke
    moves.mark("return")
    if case.own_identity_id is not None:
        return restore_own_uin(session, enrolment, case, actor).uin
    identity = issue_identity(session, events, actor, enrolment)
    case.own_identity_id = identity.id
    return identity.uin


def superseded_summary(session: Session, case: DedupCase) -> dict[str, object]:
    """The decision in force, as the change event keeps it (its comment included: it is the reason)."""
    decided_by = session.get(ApiKey, case.decided_by_id) if case.decided_by_id else None
    duplicate_of = session.get(Identity, case.duplicate_of_id) if case.duplicate_of_id else None
    own = session.get(Enrolment, case.enrolment_id)
    own_identity = session.get(Identity, own.identity_id) if own is not None and own.identity_id else None
    return {
        "decision": case.decision,
        "decided_by": decided_by.name if decided_by else None,
        "decided_at": audit.as_utc(case.decided_at).isoformat() if case.decided_at else None,
        "comment": case.comment,
        "uin": duplicate_of.uin if duplicate_of else own_identity.uin if own_identity else None,
    }
