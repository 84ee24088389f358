"""What credentials does when an identity changes (``civid.events``): a card or wallet credential that states what
is no longer true, or vouches for someone who may no longer use the identity, is revoked in the same transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from civid.events import EventBus, IdentityStatusChanged, IdentityUpdated, IdentityWithdrawn
from credentials.status import revoke_for_identity


def subscribe(bus: EventBus) -> None:
    """Register the handlers (assembled with the services: ``build_services``)."""
    bus.subscribe(IdentityWithdrawn, revoke_on_withdrawal)
    bus.subscribe(IdentityStatusChanged, revoke_on_status)
    bus.subscribe(IdentityUpdated, revoke_on_update)


def revoke_on_withdrawal(db: Session, event: IdentityWithdrawn) -> None:
    """A withdrawn (or merged) UIN's cards and wallet credentials name a number that identifies no one."""
    revoke_for_identity(db, event.identity_id, event.reason, event.actor)


def revoke_on_status(db: Session, event: IdentityStatusChanged) -> None:
    """A suspended or deactivated identity's credentials are revoked (final: a reactivated person is issued new
    ones, as a bank asks again for an attestation)."""
    if event.ends_use:
        revoke_for_identity(db, event.identity_id, f"identity {event.status}: {event.reason}", event.actor)


def revoke_on_update(db: Session, event: IdentityUpdated) -> None:
    """A corrected record revokes the credentials that state a changed field (a card printing the old name); one
    stating none of them stays valid."""
    revoke_for_identity(
        db, event.identity_id, f"record updated: {', '.join(event.fields)}", event.actor, stating=set(event.fields)
    )
