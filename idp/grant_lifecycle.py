"""Ending grants: a grant revoked takes every access and refresh token issued from it.

A grant (``models.Grant``) is what one authorisation gave one client for one person; it begins with its
authorization code (``idp.codes``) and ends here — at a reused code or refresh token, a client's revocation
request, a logout, a withdrawn consent, a disabled client, or a withdrawn UIN (``idp.subscriptions``). Depends
only on the models and the audit chain, so the token, consent and session modules can all use it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civid import audit
from civid.actor import Actor
from models import AccessToken, Grant, RefreshToken, utcnow


def revoke_grant(db: Session, grant: Grant, reason: str, actor: Actor) -> None:
    """Revoke a grant and every access and refresh token issued from it (same transaction); audit it."""
    now = utcnow()
    first_time = grant.revoked_at is None
    if first_time:
        grant.revoked_at = now
        grant.revoked_reason = reason[:100]
    for model in (AccessToken, RefreshToken):
        db.execute(update(model).where(model.grant_id == grant.id, model.revoked_at.is_(None)).values(revoked_at=now))
    if first_time:
        audit.record(db, actor, "oidc.grant_revoked", "grant", grant.uid, client_id=grant.client_id, reason=reason)


def revoke_grants(db: Session, *where: Any, reason: str, actor: Actor) -> int:
    """Revoke every live grant matching ``where`` (a person's, a client's, one login's…) with all its tokens;
    return how many."""
    grants = db.scalars(select(Grant).where(*where, Grant.revoked_at.is_(None))).all()
    for grant in grants:
        revoke_grant(db, grant, reason, actor)
    return len(grants)
