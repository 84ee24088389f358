"""Interactions: a validated authorization request waiting for the citizen (login, consent), stored as an
``AuthorizationRequest`` row whose ``uid`` names it in URLs (``/authorize/resume/{uid}``, ``/login/{uid}``,
``/consent/{uid}``). Pushed requests (RFC 9126) are rows of the same table with ``pushed`` set.

The uid is a 256-bit random value: it is the only handle on the interaction, so it cannot be guessed.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civid import audit
from idp.errors import InvalidRequest
from models import AuthorizationRequest, utcnow
from models.db import affected_rows

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"  # RFC 9126 §2.2


class InteractionGone(InvalidRequest):
    """The interaction is unknown, expired or already finished: the citizen starts again at the portal."""

    code = "interaction_gone"
    message_catalogue = "error"


def new_uid() -> str:
    """A fresh 256-bit interaction (or request_uri) identifier."""
    return secrets.token_urlsafe(32)


def create(
    db: Session, client_id: str, params: dict[str, Any], ttl_s: int, *, pushed: bool = False
) -> AuthorizationRequest:
    """Store a validated authorization request; it must be finished within ``ttl_s`` seconds."""
    now = utcnow()
    row = AuthorizationRequest(
        uid=new_uid(),
        client_id=client_id,
        params=params,
        pushed=pushed,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
    )
    db.add(row)
    db.flush()
    return row


def find(db: Session, uid: str, *, pushed: bool = False) -> AuthorizationRequest | None:
    """The stored request with this uid and kind (pushed or interaction), whatever its state."""
    return db.scalars(
        select(AuthorizationRequest).where(AuthorizationRequest.uid == uid, AuthorizationRequest.pushed.is_(pushed))
    ).first()


def is_live(row: AuthorizationRequest) -> bool:
    """Not consumed and not expired."""
    return row.consumed_at is None and audit.as_utc(row.expires_at) > utcnow()


def load(db: Session, uid: str) -> AuthorizationRequest:
    """The live interaction ``uid``; ``InteractionGone`` if it is unknown, expired or finished."""
    row = find(db, uid)
    if row is None or not is_live(row):
        raise InteractionGone("this sign-in request has expired or was already used; start again from the service")
    return row


def consume(db: Session, row: AuthorizationRequest) -> bool:
    """Mark the request used, atomically: True for the one caller that wins, False if it was already used
    (two tabs, a replayed resume URL, a second use of a request_uri)."""
    now = utcnow()
    consumed = affected_rows(
        db,
        update(AuthorizationRequest)
        .where(AuthorizationRequest.id == row.id, AuthorizationRequest.consumed_at.is_(None))
        .values(consumed_at=now)
        .execution_options(synchronize_session=False),
    )
    if consumed != 1:
        return False
    row.consumed_at = now
    return True
