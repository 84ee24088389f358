"""Revoking KYC attestations, and what an attestation's status is now.

An attestation is revoked when what it states is no longer true or never was: the person's record was
corrected (an explicit, audited update of the record; a re-application decided "duplicate" never changes
it: ``enrollment.record``), the UIN was withdrawn, or fraud was found.
Revocation is final (the status list's INVALID); it is audited and shows in the signed status list at the
next poll. Depends only on the models and the audit chain: a withdrawn UIN's attestations are revoked in
enrolment's own transaction, by the subscriber to its identity event (``kyc.subscriptions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid import revocation as revocation_rules
from civid.audit import Actor
from civid.revocation import stamp_revoked
from models import Attestation, Identity, utcnow

REASON_MAX = revocation_rules.REASON_MAX


@dataclass(frozen=True)
class AttestationStatus:
    """What a bank or an auditor is told about one attestation."""

    status: str  # valid | revoked | expired
    revoked_at: datetime | None
    reason: str | None
    expires_at: datetime

    def response(self) -> dict[str, object]:
        """The JSON body of the status endpoint."""
        return {
            "status": self.status,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "reason": self.reason,
            "expires_at": self.expires_at.isoformat(),
        }


def status_of(row: Attestation) -> AttestationStatus:
    """Revoked wins over expired: a bank must learn that an expired attestation was also withdrawn."""
    expires_at = audit.as_utc(row.expires_at)
    revoked_at = audit.as_utc(row.revoked_at) if row.revoked_at else None
    if revoked_at is not None:
        state = "revoked"
    elif expires_at <= utcnow():
        state = "expired"
    else:
        state = "valid"
    return AttestationStatus(state, revoked_at, row.revoked_reason, expires_at)


def revoke(db: Session, row: Attestation, reason: str, actor: Actor) -> bool:
    """Revoke one attestation (same transaction as the caller) and audit it; False if it already was."""
    stamped = stamp_revoked(row, reason, actor)
    if stamped is None:
        return False
    reason = stamped
    identity = db.get(Identity, row.identity_id)
    audit.record(
        db,
        actor,
        "kyc.attestation_revoked",
        "attestation",
        row.uid,
        client_id=row.client_id,
        uin=identity.uin if identity else None,
        status_list=row.status_list,
        status_index=row.status_index,
        reason=reason,
    )
    return True


def revoke_for_identity(db: Session, identity_id: int, reason: str, actor: Actor) -> list[str]:
    """Revoke every unexpired, unrevoked attestation about one person (record corrected, fraud found);
    return the revoked attestations' ids."""
    now = utcnow()
    rows = db.scalars(
        select(Attestation).where(Attestation.identity_id == identity_id, Attestation.revoked_at.is_(None))
    ).all()
    revoked = [row.uid for row in rows if audit.as_utc(row.expires_at) > now and revoke(db, row, reason, actor)]
    db.flush()
    return revoked


def revoke_stating(db: Session, identity_id: int, claims: set[str], reason: str, actor: Actor) -> list[str]:
    """Revoke the person's live attestations that state any of ``claims`` (their stored claim names, e.g.
    ``verified_claims:family_name``); return the revoked attestations' ids."""
    now = utcnow()
    rows = db.scalars(
        select(Attestation).where(Attestation.identity_id == identity_id, Attestation.revoked_at.is_(None))
    ).all()
    revoked = [
        row.uid
        for row in rows
        if claims & set(row.claims or []) and audit.as_utc(row.expires_at) > now and revoke(db, row, reason, actor)
    ]
    db.flush()
    return revoked
