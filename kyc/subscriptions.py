"""What kyc does when an identity changes (``civid.events``): subscribed once per process by ``subscribe``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from civid.events import EventBus, IdentityStatusChanged, IdentityUpdated, IdentityWithdrawn
from idp.claims import RECORD_FIELD_CLAIMS
from kyc.revocation import revoke_for_identity, revoke_stating
from kyc.verified_claims_request import CONSENT_PREFIX


def subscribe(bus: EventBus) -> None:
    """Register kyc's handlers (assembled with the services: ``build_services``)."""
    bus.subscribe(IdentityWithdrawn, revoke_attestations)
    bus.subscribe(IdentityStatusChanged, revoke_on_status)
    bus.subscribe(IdentityUpdated, revoke_on_update)


def revoke_attestations(db: Session, event: IdentityWithdrawn) -> None:
    """A withdrawn (or merged) UIN's attestations state what is no longer true: each is revoked, with the reason."""
    revoke_for_identity(db, event.identity_id, event.reason, event.actor)


def revoke_on_status(db: Session, event: IdentityStatusChanged) -> None:
    """A suspended or deactivated identity's attestations no longer vouch for anyone a bank may rely on: each is
    revoked (status list), with the status and reason code; a reactivation revives none (a bank asks again)."""
    if event.ends_use:
        revoke_for_identity(db, event.identity_id, f"identity {event.status}: {event.reason}", event.actor)


def revoke_on_update(db: Session, event: IdentityUpdated) -> None:
    """A corrected record makes untrue what attestations stated of the changed fields: those stating any of
    their claims (``verified_claims:family_name``...) are revoked, with the fields' names; an attestation stating
    none of them (a change of phone against one of name and birth date) still holds and stays valid."""
    claims = {CONSENT_PREFIX + claim for name in event.fields for claim in RECORD_FIELD_CLAIMS.get(name, (name,))}
    revoke_stating(db, event.identity_id, claims, f"record updated: {', '.join(event.fields)}", event.actor)
