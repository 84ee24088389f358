"""Citizens' consent to release claims to a relying party: granted on the consent page, remembered per
client until it expires, revocable by the citizen. Every release of personal data checks it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from models import Client, Consent, Grant, Identity, utcnow


def active_consent(db: Session, identity_id: int, client_id: str) -> Consent | None:
    """The citizen's live consent for this client (latest granted, not revoked, not expired)."""
    now = utcnow()
    rows = db.scalars(select(Consent).where(Consent.identity_id == identity_id, Consent.client_id == client_id,
                                            Consent.revoked_at.is_(None)).order_by(Consent.id.desc()))
    return next((row for row in rows if audit.as_utc(row.expires_at) > now), None)


def covers(consent: Consent | None, scopes: Iterable[str], claim_names: Iterable[str]) -> bool:
    """Whether ``consent`` already includes every scope and claim asked for (else ask the citizen)."""
    if consent is None:
        return False
    return set(scopes) <= set(consent.scopes) and set(claim_names) <= set(consent.claims)


def grant_consent(db: Session, identity: Identity, client: Client, scopes: Iterable[str], claim_names: Iterable[str],
                  purpose: str | None, actor: Actor, ttl_days: int) -> Consent:
    """Record the citizen's consent (replacing any earlier one for this client) and audit it."""
    now = utcnow()
    for old in db.scalars(select(Consent).where(Consent.identity_id == identity.id, Consent.client_id == client.client_id,
                                                Consent.revoked_at.is_(None))):
        old.revoked_at = now
    row = Consent(uid=secrets.token_urlsafe(12), identity_id=identity.id, client_id=client.client_id,
                  scopes=sorted(set(scopes)), claims=sorted(set(claim_names)), purpose=purpose, granted_at=now,
                  expires_at=now + timedelta(days=ttl_days))
    db.add(row)
    db.flush()
    audit.record(db, actor, "consent.granted", "identity", identity.uin, client_id=client.client_id,
                 client_name=client.name, scopes=row.scopes, claims=row.claims, consent=row.uid,
                 expires_at=row.expires_at.isoformat())
    return row


def revoke_consent(db: Session, consent: Consent, actor: Actor) -> int:
    """Revoke a consent and every grant (and so every token) the client holds for this person; return
    how many grants were revoked."""
    from idp.tokens import revoke_grants  # tokens imports consent: imported here to avoid the cycle

    consent.revoked_at = utcnow()
    revoked = revoke_grants(db, Grant.identity_id == consent.identity_id, Grant.client_id == consent.client_id,
                            reason="consent_revoked", actor=actor)
    identity = db.get(Identity, consent.identity_id)
    audit.record(db, actor, "consent.revoked", "identity", identity.uin if identity else "?",
                 client_id=consent.client_id, consent=consent.uid, grants_revoked=revoked)
    return revoked


def consents_of(db: Session, identity_id: int) -> list[Consent]:
    """Every consent the citizen has given, newest first (for the account page)."""
    return list(db.scalars(select(Consent).where(Consent.identity_id == identity_id).order_by(Consent.id.desc())))
