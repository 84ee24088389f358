"""Deleting the OP's short-lived records once they can no longer matter.

Pending authorization requests, client-assertion and DPoP-proof ``jti`` values and codes are only needed until they
expire (a replay after expiry fails on the expiry itself); login attempts only within the lockout window;
each login method prunes its own records (``LoginMethod.prune``: challenges, the face probes' photo hashes).
Grants, consents, sessions and passkeys are kept: they are the record of what was authorised.
Run hourly by the service (``idp.app``) and by ``civid idp prune``.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from civid.settings import Settings
from idp import acr, dpop
from idp.login_methods import LoginMethods
from models import AuthorizationCode, AuthorizationRequest, ClientAssertion, LoginAttempt, utcnow
from models.db import affected_rows


def prune(db: Session, settings: Settings, methods: LoginMethods = acr.BUILT_IN) -> dict[str, int]:
    """Delete expired rows (``methods``' included); return how many per table."""
    now = utcnow()
    # Codes point at grants; a used code's row is no longer needed once expired either.
    attempts_until = now - timedelta(seconds=max(settings.login_failure_window_s, settings.login_lockout_s) * 2)
    statements = {
        "authorization_codes": delete(AuthorizationCode).where(AuthorizationCode.expires_at < now),
        "authorization_requests": delete(AuthorizationRequest).where(AuthorizationRequest.expires_at < now),
        **methods.prune_statements(settings, now),
        "client_assertions": delete(ClientAssertion).where(ClientAssertion.expires_at < now),
        "dpop_proofs": dpop.prune_statement(),
        "login_attempts": delete(LoginAttempt).where(LoginAttempt.occurred_at < attempts_until),
    }
    return {table: affected_rows(db, statement) or 0 for table, statement in statements.items()}
