"""An identity's record: the enrolment that issued its UIN, and the duplicate attempts recorded against it.

What portals, banks and verifiers are told about a person — names, birthdate, address, document evidence,
the biometrics a login or a 1:1 check compares with — comes from the one enrolment that issued the UIN. A
later application decided "duplicate" of that identity never changes it: it is an *attempt* against the
identity (the same person re-applying, or someone using their face under other names), kept with its case for
adjudicators and auditors and audited as ``identity.duplicate_attempt``. The record changes only by an
explicit, audited update with evidence (a lifecycle operation of its own), never as a side effect of a
deduplication decision.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from models import DedupCase, Enrolment, EnrolmentStatus, Identity, IdentityRecordVersion, RecordVersionStatus

# issue_identity creates one identity per issued enrolment, so there is exactly one; the id order is only a guard
# that keeps the answer the first issued should data ever hold two. Built once: UserInfo reads it on every answer.
_ISSUING = (
    select(Enrolment)
    .where(Enrolment.identity_id == bindparam("identity_id"), Enrolment.status == EnrolmentStatus.ISSUED)
    .order_by(Enrolment.id)
)
# The decision time of the latest applied record version (``enrollment.record_update`` keeps the enrolment's
# columns current and each version in ``identity_record_versions``).
_LAST_CHANGE = (
    select(func.max(IdentityRecordVersion.decided_at))
    .where(
        IdentityRecordVersion.identity_id == bindparam("identity_id"),
        IdentityRecordVersion.status == RecordVersionStatus.APPLIED,
    )
    .scalar_subquery()
)
_IN_FORCE = _ISSUING.add_columns(_LAST_CHANGE).limit(1)


def issuing_enrolment(session: Session, identity_id: int) -> Enrolment | None:
    """The enrolment that issued the identity's UIN (None while it has none)."""
    return session.scalars(_ISSUING, {"identity_id": identity_id}).first()


def record_in_force(session: Session, identity_id: int) -> tuple[Enrolment, datetime] | None:
    """The identity's record in force (its issuing enrolment) and when it last changed: the latest applied
    correction's decision, else the enrolment's; None while it has none. One statement."""
    found = session.execute(_IN_FORCE, {"identity_id": identity_id}).first()
    if found is None:
        return None
    record, changed = found
    return record, changed or record.decided_at or record.created_at


def duplicate_attempts(session: Session, identity_id: int) -> list[Enrolment]:
    """The applications decided duplicates of this identity, oldest first."""
    return list(
        session.scalars(
            select(Enrolment)
            .where(Enrolment.identity_id == identity_id, Enrolment.status == EnrolmentStatus.DUPLICATE)
            .order_by(Enrolment.created_at, Enrolment.id)
        )
    )


def record_attempt(session: Session, actor: Actor, identity: Identity, enrolment: Enrolment, case: DedupCase) -> None:
    """Audit that ``enrolment`` was decided a duplicate of ``identity``: an attempt, the record unchanged."""
    record = issuing_enrolment(session, identity.id)
    audit.record(
        session,
        actor,
        "identity.duplicate_attempt",
        "identity",
        identity.uin,
        case=case.public_id,
        enrolment=enrolment.public_id,
        record_enrolment=record.public_id if record else None,
        record_unchanged=True,
    )
