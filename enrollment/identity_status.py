"""An identity's status over its life: suspended, deactivated, reactivated — each with a reason code and the
role allowed to decide it, each kept in ``identity_status_changes`` and audited.

- ``suspend`` (active → suspended): ``fraud_investigation`` or ``court_order``, by an adjudicator.
- ``deactivate`` (active or suspended → deactivated): ``death``, ``duplicate`` or ``voluntary_renunciation``, by
  an adjudicator, or for ``death`` the civil registry's registered death notice (``crvs``).
- ``reactivate`` (suspended → active): ``investigation_closed`` or ``court_order_lifted``; (deactivated → active)
  only ``recorded_in_error`` (a death registered against the wrong person): by an adjudicator.

A ``merged`` identity (its UIN withdrawn by a case decision) is the case's to change, not this module's. A
transition from a status the identity no longer has (deactivated twice, two adjudicators at once) is a 409: the
change is a compare-and-set on ``identities.status``, so of two concurrent requests exactly one wins.

What a non-active status ends is not done here: ``IdentityStatusChanged`` is published in the same transaction
and the provider (sessions, tokens, back-channel logout) and kyc (attestations) react (``civid.events``).
Templates stay in the gallery: a deceased person's face still finds a new enrolment of it, which goes to a case
(forever; other deactivations' templates until their retention period: server/retention.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civid import audit
from civid.actor import Actor
from civid.errors import Conflict, Forbidden, InvalidInput, NotFound
from civid.events import EventBus, IdentityStatusChanged
from civid.uin import normalise_uin
from models import Identity, IdentityStatusChange, utcnow
from models.db import affected_rows

ACTIVE = "active"
SUSPENDED = "suspended"
DEACTIVATED = "deactivated"


@dataclass(frozen=True)
class Transition:
    """One kind of status change: from which statuses, to which, for which reasons, by which roles."""

    name: str  # recorded as IdentityStatusChange.transition
    to_status: str
    # reason code -> the statuses it may start from
    reasons: dict[str, tuple[str, ...]]
    roles: tuple[str, ...]
    # Roles allowed one reason only: the civil registry (crvs) deactivates for a registered death, nothing else.
    reason_roles: dict[str, tuple[str, ...]] = field(default_factory=dict)


TRANSITIONS: dict[str, Transition] = {
    "suspend": Transition(
        "suspended",
        SUSPENDED,
        {"fraud_investigation": (ACTIVE,), "court_order": (ACTIVE,)},
        ("adjudicator",),
    ),
    "deactivate": Transition(
        "deactivated",
        DEACTIVATED,
        {
            "death": (ACTIVE, SUSPENDED),
            "duplicate": (ACTIVE, SUSPENDED),
            "voluntary_renunciation": (ACTIVE, SUSPENDED),
        },
        ("adjudicator",),
        {"death": ("civil_registry",)},
    ),
    "reactivate": Transition(
        "reactivated",
        ACTIVE,
        {
            "investigation_closed": (SUSPENDED,),
            "court_order_lifted": (SUSPENDED,),
            "recorded_in_error": (SUSPENDED, DEACTIVATED),
        },
        ("adjudicator",),
    ),
}


@dataclass(frozen=True)
class StatusChange:
    """A change as recorded (returned to the API and the command line)."""

    uin: str
    transition: str
    from_status: str
    to_status: str
    reason: str
    evidence_reference: str
    note: str | None
    actor: str
    role: str
    at: str
    # Internal, for callers in the same transaction (the civil registry links its row); the API omits it.
    identity_id: int = field(default=0, repr=False)


def _out(uin: str, row: IdentityStatusChange) -> StatusChange:
    return StatusChange(
        uin,
        row.transition,
        row.from_status,
        row.to_status,
        row.reason,
        row.evidence_reference,
        row.note,
        row.actor_name,
        row.actor_role,
        audit.as_utc(row.created_at).isoformat(),
        row.identity_id,
    )


def change_status(
    session: Session,
    events: EventBus,
    actor: Actor,
    action: str,
    uin: str,
    reason: str,
    evidence_reference: str,
    note: str | None = None,
) -> StatusChange:
    """Apply ``action`` (suspend | deactivate | reactivate) to the identity ``uin`` in ``session``'s transaction:
    the status set, the history row, the audit event, then ``IdentityStatusChanged`` published (whose
    subscribers revoke in the same transaction). Raises Forbidden, InvalidInput, NotFound or Conflict."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise InvalidInput(f"unknown status action {action!r}; one of {', '.join(TRANSITIONS)}")
    if actor.role not in transition.roles + transition.reason_roles.get(reason, ()):
        raise Forbidden(f"role {actor.role!r} may not {action} an identity; needs {' or '.join(transition.roles)}")
    if reason not in transition.reasons:
        raise InvalidInput(
            f"unknown reason {reason!r} to {action}; one of {', '.join(transition.reasons)}",
            code="unknown_reason",
            params={"reason": reason, "reasons": list(transition.reasons)},
        )
    evidence_reference = evidence_reference.strip()
    if not evidence_reference:
        raise InvalidInput("an evidence reference (court order, registration or case number) is required")
    number = normalise_uin(uin)
    identity = session.scalars(select(Identity).where(Identity.uin == number)).first()
    if identity is None:
        raise NotFound(f"no identity with UIN {number}")
    allowed_from = transition.reasons[reason]
    previous = identity.status
    if previous not in allowed_from:
        raise Conflict(
            f"identity {number} is {previous}: it cannot be {transition.name} for {reason}",
            code="status_conflict",
            params={"uin": number, "status": previous, "action": action, "reason": reason},
        )
    # Compare-and-set: of two requests that both read ``previous``, only the first to write changes it.
    won = affected_rows(
        session,
        update(Identity)
        .where(Identity.id == identity.id, Identity.status == previous)
        .values(status=transition.to_status)
        .execution_options(synchronize_session=False),
    )
    if not won:
        raise Conflict(
            f"identity {number} changed status meanwhile; reload it", code="status_conflict", params={"uin": number}
        )
    session.expire(identity, ["status"])
    row = IdentityStatusChange(
        identity_id=identity.id,
        transition=transition.name,
        from_status=previous,
        to_status=transition.to_status,
        reason=reason,
        evidence_reference=evidence_reference[:200],
        note=(note or "").strip()[:500] or None,
        actor_key_id=actor.id,
        actor_name=actor.name[:100],
        actor_role=actor.role[:32],
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    # The evidence reference (a court order's or a death registration's number) stays in the history table,
    # out of the audit trail; the event names the history row that holds it.
    audit.record(
        session,
        actor,
        f"identity.{transition.name}",
        "identity",
        number,
        from_status=previous,
        to_status=transition.to_status,
        reason=reason,
        status_change=row.id,
    )
    events.publish(
        session,
        IdentityStatusChanged(
            identity_id=identity.id,
            uin=number,
            actor=actor,
            status=transition.to_status,
            previous_status=previous,
            reason=reason,
        ),
    )
    return _out(number, row)


def history(session: Session, uin: str) -> tuple[str, str, list[StatusChange]]:
    """The identity's UIN (normalised), current status and every change of it, oldest first."""
    number = normalise_uin(uin)
    identity = session.scalars(select(Identity).where(Identity.uin == number)).first()
    if identity is None:
        raise NotFound(f"no identity with UIN {number}")
    rows = session.scalars(
        select(IdentityStatusChange)
        .where(IdentityStatusChange.identity_id == identity.id)
        .order_by(IdentityStatusChange.id)
    ).all()
    return number, identity.status, [_out(number, row) for row in rows]
