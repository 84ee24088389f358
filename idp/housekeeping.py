"""Deleting the OP's short-lived records once they can no longer matter.

Challenges, pending authorization requests, client-assertion ``jti`` values and codes are only needed
until they expire (a replay after expiry fails on the expiry itself); login attempts only within the
lockout window; face-probe hashes (replay of the same photo file) for ``FACE_PROBE_RETENTION``. Grants,
consents, sessions and passkeys are kept: they are the record of what was authorised.
Run hourly by the service (``idp.app``) and by ``civid idp prune``.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from civid.settings import Settings
from models import (AuthorizationCode, AuthorizationRequest, ClientAssertion, FaceChallenge, FaceProbe, LoginAttempt,
                    WebAuthnChallenge, utcnow)

FACE_PROBE_RETENTION = timedelta(days=90)


def prune(db: Session, settings: Settings) -> dict[str, int]:
    """Delete expired rows; return how many per table."""
    now = utcnow()
    # Codes point at grants; a used code's row is no longer needed once expired either.
    attempts_until = now - timedelta(seconds=max(settings.login_failure_window_s, settings.login_lockout_s) * 2)
    statements = {
        "authorization_codes": delete(AuthorizationCode).where(AuthorizationCode.expires_at < now),
        "authorization_requests": delete(AuthorizationRequest).where(AuthorizationRequest.expires_at < now),
        "face_challenges": delete(FaceChallenge).where(FaceChallenge.expires_at < now),
        "webauthn_challenges": delete(WebAuthnChallenge).where(WebAuthnChallenge.expires_at < now),
        "client_assertions": delete(ClientAssertion).where(ClientAssertion.expires_at < now),
        "login_attempts": delete(LoginAttempt).where(LoginAttempt.occurred_at < attempts_until),
        "face_probes": delete(FaceProbe).where(FaceProbe.used_at < now - FACE_PROBE_RETENTION),
    }
    return {table: db.execute(statement).rowcount or 0 for table, statement in statements.items()}
