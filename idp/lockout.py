"""Lockout and rate limiting of citizen logins, per identity and per source address.

Failures are counted in a sliding window (``login_failure_window_s``): an identity with
``login_max_failures_per_identity`` failures, or a source with ``login_max_failures_per_source``, is refused
for ``login_lockout_s`` after its latest failure, before any biometric or passkey check runs. Counting
is in the database, so it holds across processes and restarts. Every failure is audited.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from civid.errors import CividError
from civid.settings import Settings
from models import Identity, LoginAttempt, utcnow


class LoginLocked(CividError):
    """Too many failed logins for this identity or from this address (RFC 6585 §4)."""

    status = 429
    type_slug = "login-locked"
    title = "Too many failed attempts"
    code = "locked"
    message_catalogue = "error"


def source_of(request: Request, settings: Settings) -> str:
    """The client address, from X-Forwarded-For only when the deployment says a proxy sets it."""
    if settings.trust_forwarded_for:
        # The last value is the one our proxy appended; earlier ones are whatever the client sent, and trusting
        # them would let an attacker pick a fresh "address" per attempt and never reach the per-address lockout.
        forwarded = request.headers.get("x-forwarded-for", "").split(",")[-1].strip()
        if forwarded:
            return forwarded[:64]
    return (request.client.host if request.client else "unknown")[:64]


def _locked_for(db: Session, settings: Settings, where: ColumnElement[bool], limit: int) -> int:
    """Seconds left of a lockout for the attempts matching ``where``, 0 when not locked."""
    now = utcnow()
    since = now - timedelta(seconds=settings.login_failure_window_s)
    failures, latest = db.execute(
        select(func.count(), func.max(LoginAttempt.occurred_at)).where(
            where, LoginAttempt.success.is_(False), LoginAttempt.occurred_at >= since
        )
    ).one()
    if failures < limit or latest is None:
        return 0
    remaining = audit.as_utc(latest) + timedelta(seconds=settings.login_lockout_s) - now
    return max(1, int(remaining.total_seconds()))


def check(db: Session, settings: Settings, identity_id: int | None, source: str) -> None:
    """Raise ``LoginLocked`` when this identity or this source must wait."""
    waits = [_locked_for(db, settings, LoginAttempt.source == source, settings.login_max_failures_per_source)]
    if identity_id is not None:
        waits.append(
            _locked_for(db, settings, LoginAttempt.identity_id == identity_id, settings.login_max_failures_per_identity)
        )
    wait = max(waits)
    if wait:
        minutes = max(1, round(wait / 60))
        raise LoginLocked(f"too many failed attempts; try again in {minutes} minutes", retry_after=wait)


def record(
    db: Session,
    settings: Settings,
    identity: Identity | None,
    source: str,
    method: str,
    success: bool,
    reason: str | None = None,
) -> None:
    """Store one attempt; audit a failure (a success is audited when the session is established)."""
    db.add(
        LoginAttempt(
            identity_id=identity.id if identity else None,
            source=source,
            method=method,
            success=success,
            occurred_at=utcnow(),
        )
    )
    if not success:
        actor = Actor(None, f"citizen:{identity.uin}" if identity else "anonymous", "citizen")
        audit.record(
            db,
            actor,
            "login.failed",
            "identity",
            identity.uin if identity else "-",
            method=method,
            reason=reason,
            source=source,
        )
    db.flush()
