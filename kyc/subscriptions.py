"""What kyc does when an identity changes (``civid.events``): subscribed once per process by ``subscribe``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from civid.events import EventBus, IdentityStatusChanged, IdentityWithdrawn
from kyc.revocation import revoke_for_identity


def subscribe(bus: EventBus) -> None:
    """Register kyc's handlers (assembled with the services: ``build_services``)."""
    bus.subscribe(IdentityWithdrawn, revoke_attestations)
    bus.subscribe(IdentityStatusChanged, revoke_on_status)


def revoke_attestations(db: Session, event: IdentityWithdrawn) -> None:
    """A withdrawn (or merged) UIN's attestations state what is no longer true: each is revoked, with the reason."""
    revoke_for_identity(db, event.identity_id, event.reason, event.actor)


def revoke_on_status(db: Session, event: IdentityStatusChanged) -> None:
    """A suspended or deactivated identity's attestations no longer vouch for anyone a bank may rely on: each is
    revoked (status list), with the status and reason code; a reactivation revives none (a bank asks again)."""
    if event.ends_use:
        revoke_for_identity(db, event.identity_id, f"identity {event.status}: {event.reason}", event.actor)
