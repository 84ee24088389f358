"""What the OpenID provider does when an identity changes (``civid.events``): subscribed by ``subscribe``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from civid.events import EventBus, IdentityWithdrawn
from idp.grant_lifecycle import revoke_grants
from models import Grant


def subscribe(bus: EventBus) -> None:
    """Register the provider's handlers (assembled with the services: ``build_services``)."""
    bus.subscribe(IdentityWithdrawn, end_grants)


def end_grants(db: Session, event: IdentityWithdrawn) -> None:
    """A withdrawn UIN's portals lose their tokens now (same transaction), not when the tokens expire; the
    grants carry the event's name (``identity_merged``) as their reason."""
    revoke_grants(db, Grant.identity_id == event.identity_id, reason=event.name, actor=event.actor)
