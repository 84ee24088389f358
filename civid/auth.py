"""API keys bound to roles, and the FastAPI dependency that checks them on every protected route.

Which role may do what (least privilege; biometric search is not an admin's job):
- officer: enrol, read enrolments, verify 1:1
- adjudicator: read and decide deduplication cases, read enrolments, verify 1:1, identify 1:N
- auditor: read the audit trail
- admin: manage API keys (and OpenID Connect clients and signing keys)
- registrar: register OpenID Connect clients through Dynamic Client Registration (RFC 7591), nothing else
- abis: MOSIP's registration processor using civid as its ABIS (insert, identify, delete... abis/), nothing else
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from civid.deps import get_session
from civid.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from models import ROLES, ApiKey, utcnow

KEY_PREFIX = "civid_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, name: str, role: str, created_by: Actor) -> tuple[ApiKey, str]:
    """Create a key for ``role``; return the row and the secret, which is shown once and never stored."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, role=role, key_hash=hash_key(secret), prefix=secret[:12])
    session.add(row)
    session.flush()
    audit.record(session, created_by, "api_key.created", "api_key", str(row.id), name=name, role=role)
    return row, secret


def revoke_api_key(session: Session, key_id: int, revoked_by: Actor) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"no API key {key_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, revoked_by, "api_key.revoked", "api_key", str(row.id), name=row.name, role=row.role)
    return row


def authenticate(session: Session, presented: str | None) -> Actor:
    """The actor behind a presented key; raise Unauthenticated when missing, unknown or revoked."""
    if not presented:
        raise Unauthenticated("send an API key: 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    row = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(presented))).first()
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("the API key is unknown or revoked")
    return Actor(row.id, row.name, row.role)


def presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("x-api-key")


def require(*roles: str) -> Callable[..., Actor]:
    """A dependency admitting only callers whose key has one of ``roles``."""

    def dependency(request: Request, session: Session = Depends(get_session)) -> Actor:
        actor = authenticate(session, presented_key(request))
        if actor.role not in roles:
            raise Forbidden(f"role {actor.role!r} may not do this; needs {' or '.join(roles)}")
        request.state.actor = actor
        return actor

    return dependency
