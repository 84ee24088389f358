"""Withdrawing a UIN because its holder already had one (identity status ``merged``: no login, no token, no claim;
the number is never reused). Used by a decision change (``decision_change``) and by a register pair decided
duplicate (``adjudication``); the caller publishes ``IdentityMerged`` in the same transaction.

And giving it back: a case remembers the applicant's own identity (``DedupCase.own_identity_id``), so a decision
changed back to "not duplicate" restores the UIN the "duplicate" withdrew instead of issuing the same person a
second one. What the withdrawal ended stays ended (kyc's attestations, the provider's grants: the person signs in
and consents again); the number and the record are the person's as before."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from civid.errors import Conflict
from models import DedupCase, Enrolment, EnrolmentStatus, Identity, utcnow

MERGED = "merged"  # Identity.status of a UIN withdrawn because its holder already had one
ACTIVE = "active"


def remember_own_identity(case: DedupCase, enrolment: Enrolment) -> None:
    """Note on the case the identity the applicant holds in its own right, before a decision may withdraw it (a
    register pair's applicant, or an enrolment case's applicant while its "not duplicate" is in force)."""
    if case.own_identity_id is None and enrolment.status == EnrolmentStatus.ISSUED:
        case.own_identity_id = enrolment.identity_id


def restore_own_uin(session: Session, enrolment: Enrolment, case: DedupCase, actor: Actor) -> Identity:
    """Give the applicant back its own identity (``case.own_identity_id``), withdrawn by a "duplicate" decision
    now changed back; audited as ``identity.restored``."""
    identity = session.get(Identity, case.own_identity_id) if case.own_identity_id else None
    if identity is None:
        raise Conflict("the case names no identity of the applicant's own to restore", code="inconsistent")
    if identity.status == MERGED:  # a status set by anything else (a lifecycle decision) is not this case's to undo
        identity.status = ACTIVE
        audit.record(
            session,
            actor,
            "identity.restored",
            "identity",
            identity.uin,
            case=case.public_id,
            enrolment=enrolment.public_id,
            reason="decision changed: not a duplicate",
        )
    enrolment.identity_id = identity.id
    enrolment.status = EnrolmentStatus.ISSUED
    enrolment.decided_at = utcnow()
    return identity


def withdraw_merged_uin(session: Session, enrolment: Enrolment, case: DedupCase, actor: Actor) -> Identity:
    """Withdraw the UIN this enrolment holds (issued by a 'not duplicate' decision, or a register pair's later one)
    because its holder already has one; never reused: the row stays."""
    identity = session.get(Identity, enrolment.identity_id) if enrolment.identity_id else None
    if identity is None:
        raise Conflict("the applicant holds no UIN to withdraw; the case record is inconsistent", code="inconsistent")
    others = (
        session.scalar(
            select(func.count())
            .select_from(Enrolment)
            .where(Enrolment.identity_id == identity.id, Enrolment.id != enrolment.id)
        )
        or 0
    )
    if others:
        raise Conflict(
            f"UIN {identity.uin} also holds {others} other enrolment(s) (later cases decided against "
            "it): change those decisions first",
            code="uin_in_use",
            params={"uin": identity.uin, "others": others},
        )
    identity.status = MERGED
    audit.record(
        session,
        actor,
        "identity.withdrawn",
        "identity",
        identity.uin,
        case=case.public_id,
        enrolment=enrolment.public_id,
        reason="duplicate of an existing identity",
    )
    return identity
