"""Withdrawing a UIN because its holder already had one (identity status ``merged``: no login, no token, no claim;
the number is never reused). Used by a decision change (``decision_change``) and by a register pair decided
duplicate (``adjudication``); the caller publishes ``IdentityMerged`` in the same transaction."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from civid.errors import Conflict
from models import DedupCase, Enrolment, Identity

MERGED = "merged"  # Identity.status of a UIN withdrawn because its holder already had one


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
