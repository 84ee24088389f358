"""What kyc does when an identity changes (``civid.events``): subscribed once per process by ``subscribe``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from civid.events import EventBus, IdentityWithdrawn
from kyc.revocation import revoke_for_identity


def subscribe(bus: EventBus) -> None:
    """Register kyc's handlers (assembled with the services: ``build_services``)."""
    bus.subscribe(IdentityWithdrawn, revoke_attestations)


def revoke_attestations(db: Session, event: IdentityWithdrawn) -> None:
    """A withdrawn (or merged) UIN's attestations state what is no longer true: each is revoked, with the reason."""
    revoke_for_identity(db, event.identity_id, event.reason, event.actor)
