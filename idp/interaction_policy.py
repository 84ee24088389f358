"""What an authorization request needs next from the citizen: a login, a consent, or nothing (a code).

Decided afresh each time the browser comes back (``/authorize``, ``/authorize/resume/{uid}``, after the
consent page), from the validated request, the browser's SSO session and the remembered consent:

- login, when there is no session, or ``prompt=login``/``select_account`` or ``max_age`` demand a fresh
  authentication (a login during this very interaction counts: OIDC Core §3.1.2.1), or the session's level
  is below the ``acr_values`` asked for (as the application's login methods rank them: ``idp.login_methods``),
  or the ``login_hint`` names another person;
- consent, unless the live consent given for the request's stated purpose (OIDC4IDA ``purpose``; for a
  request stating none, the consent given without one) covers every scope and claim asked for and ``prompt``
  lacks ``consent``;
- with ``prompt=none`` any of these is an error instead (OIDC Core §3.1.2.6): ``login_required`` or
  ``consent_required``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from civid import audit
from idp import claims, consent
from idp.claims_extensions import ClaimsExtensions
from idp.errors import AccessDenied, ConsentRequired, LoginRequired, OAuthError
from idp.login_methods import LoginMethods
from idp.server_secrets import ServerSecrets
from idp.subjects import subject_for
from models import Client, Identity, LoginSession, utcnow

LOGIN, CONSENT, CODE, ERROR = "login", "consent", "code", "error"


@dataclass(frozen=True)
class NextStep:
    """``kind`` is login | consent | code | error; ``reason`` says why (for logs and tests)."""

    kind: str
    reason: str | None = None
    error: OAuthError | None = None


def login_needed(
    params: dict[str, Any],
    session: LoginSession | None,
    fresh_session_id: int | None,
    identity: Identity | None,
    methods: LoginMethods,
) -> str | None:
    """Why the citizen must (re-)authenticate for this request, or None when the session will do; ``methods``
    (the application's, ``idp.login_methods.of``) rank the session's acr against the one asked for."""
    if session is None or identity is None:
        return "no_session"
    if identity.status != "active":
        return "identity_inactive"
    fresh = fresh_session_id is not None and session.id == fresh_session_id
    prompt = params.get("prompt") or []
    if not fresh and ("login" in prompt or "select_account" in prompt):
        return "prompt_login"
    max_age = params.get("max_age")
    if not fresh and max_age is not None:
        # OIDC Core §3.1.2.1: re-authenticate when the last authentication is older than max_age seconds.
        if audit.as_utc(session.auth_time) + timedelta(seconds=max_age) <= utcnow():
            return "max_age"
    if not methods.satisfies(session.acr, params.get("acr_values") or []):
        return "acr"
    hint = params.get("login_hint_uin") or params.get("login_hint")  # a VID hint: the UIN it maps to
    if hint and hint != identity.uin and not fresh:
        # A hint, not a demand (OIDC Core §3.1.2.1): an earlier session of someone else is not reused, but
        # whoever logs in during this interaction is who the citizen chose to be.
        return "login_hint"
    return None


def requested_claim_names(client: Client, params: dict[str, Any], extensions: ClaimsExtensions) -> frozenset[str]:
    """The person claims this request asks for (UserInfo and ID token), after the client's entitlements."""
    return claims.requested(client, params.get("scope") or [], params.get("claims"), extensions).all


PURPOSE_STORED_MAX = 500  # Consent.purpose


def requested_purposes(client: Client, params: dict[str, Any], extensions: ClaimsExtensions) -> list[str]:
    """Why the portal asks, as the claims extensions find it in the request (kyc: the OIDC4IDA ``purpose``
    parameter, then the purposes inside the verified_claims it may receive), each once. Shown on the consent
    page as given; none without an extension."""
    asked = claims.requested(client, params.get("scope") or [], params.get("claims"), extensions)
    return extensions.purposes(params, asked.extensions)


def purpose_text(client: Client, params: dict[str, Any], extensions: ClaimsExtensions) -> str | None:
    """The purposes as stored on the consent (joined; the column holds 500 characters)."""
    return " · ".join(requested_purposes(client, params, extensions))[:PURPOSE_STORED_MAX] or None


def consent_needed(
    db: Session, client: Client, params: dict[str, Any], identity: Identity, extensions: ClaimsExtensions
) -> bool:
    """Whether the citizen must be asked (no remembered consent covering the request, a new stated purpose,
    or prompt=consent)."""
    if "consent" in (params.get("prompt") or []):
        return True
    given = consent.client_consent(db, identity.id, client.client_id)
    # A stated purpose is covered only by what was consented for that purpose (the consent page showed that
    # purpose to the citizen); a request stating none, only by what was consented without one.
    return not consent.covers(
        given,
        params.get("scope") or [],
        requested_claim_names(client, params, extensions),
        purpose=purpose_text(client, params, extensions),
    )


def next_step(
    db: Session,
    client: Client,
    params: dict[str, Any],
    session: LoginSession | None,
    fresh_session_id: int | None,
    consent_given: bool = False,
    *,
    secrets: ServerSecrets,
    extensions: ClaimsExtensions,
    methods: LoginMethods,
) -> NextStep:
    """The next step for this request; ``consent_given`` when the citizen has just approved it."""
    identity = db.get(Identity, session.identity_id) if session is not None else None
    silent = "none" in (params.get("prompt") or [])
    reason = login_needed(params, session, fresh_session_id, identity, methods)
    required = params.get("required_sub")
    if reason is None and required and identity is not None and subject_for(secrets, client, identity.uin) != required:
        # OIDC Core §3.1.2.1 / §5.5.1: a positive answer only for the person the request names.
        assert session is not None
        if fresh_session_id is not None and session.id == fresh_session_id:
            return NextStep(
                ERROR, "subject", AccessDenied("the person who logged in is not the one this request names")
            )
        reason = "subject"
    if reason is not None:
        if silent:
            return NextStep(ERROR, reason, LoginRequired(_LOGIN_REQUIRED.get(reason, "the user must log in")))
        return NextStep(LOGIN, reason)
    assert identity is not None
    # A first-party client (civid's own console) is part of the service the person signs in to: nobody is asked
    # to let civid share their data with civid. The consent is recorded when the code is issued (idp.authorize).
    if not consent_given and not client.first_party and consent_needed(db, client, params, identity, extensions):
        if silent:
            return NextStep(ERROR, "consent", ConsentRequired("the user has not consented to this request"))
        return NextStep(CONSENT, "consent")
    return NextStep(CODE)


_LOGIN_REQUIRED = {
    "no_session": "the user is not logged in",
    "identity_inactive": "the user must log in",
    "prompt_login": "the user must log in",
    "max_age": "the user's last login is older than max_age",
    "acr": "the user's login does not meet the requested authentication level",
    "login_hint": "the user logged in is not the one named by login_hint",
    "subject": "the user logged in is not the one named by id_token_hint or the claims parameter",
}
