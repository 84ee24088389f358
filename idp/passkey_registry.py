"""Citizens' passkeys as stored records: listing, adding, finding by credential id, revoking.

Every change is audited in the same transaction; credential ids and public keys never go into the trail
(the passkey's row id and label identify it).
"""

from __future__ import annotations

from datetime import datetime

from fido2.webauthn import AttestedCredentialData
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from models import Identity, Passkey, utcnow

CLONE_SUSPECTED = "clone_suspected"


def of(db: Session, identity_id: int, *, include_revoked: bool = True) -> list[Passkey]:
    """A person's passkeys, oldest first."""
    query = select(Passkey).where(Passkey.identity_id == identity_id)
    if not include_revoked:
        query = query.where(Passkey.revoked_at.is_(None))
    return list(db.scalars(query.order_by(Passkey.id)))


def by_credential_id(db: Session, credential_id: bytes) -> Passkey | None:
    """The passkey with this WebAuthn credential id (revoked ones included: the caller refuses them)."""
    return db.scalars(select(Passkey).where(Passkey.credential_id == credential_id)).first()


def add(
    db: Session,
    identity: Identity,
    credential: AttestedCredentialData,
    *,
    label: str,
    bound_via: str,
    bound_by: str | None,
    actor: Actor,
) -> Passkey:
    """Store a newly registered passkey and audit ``passkey.bound``."""
    row = Passkey(
        identity_id=identity.id,
        credential_id=bytes(credential.credential_id),
        credential_data=bytes(credential),
        sign_count=0,
        label=label,
        bound_via=bound_via,
        bound_by=bound_by,
        created_at=utcnow(),
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor,
        "passkey.bound",
        "identity",
        identity.uin,
        passkey=row.id,
        label=label,
        bound_via=bound_via,
        bound_by=bound_by,
        aaguid=str(credential.aaguid),
    )
    return row


def revoke(db: Session, passkey: Passkey, actor: Actor, reason: str) -> bool:
    """Revoke a passkey (no later login with it); audit ``passkey.revoked``. False if it already was."""
    if passkey.revoked_at is not None:
        return False
    passkey.revoked_at = utcnow()
    passkey.revoked_reason = reason[:200]
    identity = db.get(Identity, passkey.identity_id)
    audit.record(
        db,
        actor,
        "passkey.revoked",
        "identity",
        identity.uin if identity else "?",
        passkey=passkey.id,
        label=passkey.label,
        reason=passkey.revoked_reason,
    )
    return True


def describe(row: Passkey) -> dict[str, object]:
    """A passkey for an officer's screen (no key material)."""

    def iso(moment: datetime | None) -> str | None:
        return audit.as_utc(moment).isoformat() if moment else None

    return {
        "id": row.id,
        "label": row.label,
        "bound_via": row.bound_via,
        "bound_by": row.bound_by,
        "created_at": iso(row.created_at),
        "last_used_at": iso(row.last_used_at),
        "revoked_at": iso(row.revoked_at),
        "revoked_reason": row.revoked_reason,
    }
