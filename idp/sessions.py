"""The citizen's single sign-on session at civid.

The *session* cookie is HttpOnly and SameSite=Lax (sent on a portal's top-level redirect to /authorize, never
on a cross-site POST), Secure with the ``__Host-`` prefix when the issuer is https, like the *browser* cookie
that CSRF tokens are bound to (``civid.web.csrf``): a random 256-bit token; the database keeps only its
SHA-256 (``LoginSession``).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from fastapi import Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from civid.events import SignedInAnew
from civid.web.csrf import cookie_name, set_cookie
from idp.grant_lifecycle import revoke_grants
from idp.login_methods import LoginMethod
from idp.runtime import IdpServices
from idp.server_secrets import sha256_hex
from models import AuthorizationRequest, Grant, Identity, LoginSession, utcnow


def _name(request: Request) -> str:
    return cookie_name(request, "civid_session")


def citizen(identity: Identity) -> Actor:
    """The audit actor for a citizen acting on their own behalf."""
    return Actor(None, f"citizen:{identity.uin}", "citizen")


# --- login sessions --------------------------------------------------------------------------
def current(request: Request, db: Session) -> LoginSession | None:
    """The live SSO session of this browser, or None (expired, ended or absent)."""
    name = _name(request)
    token = request.cookies.get(name)
    if not token:
        return None
    row = db.scalars(select(LoginSession).where(LoginSession.token_hash == sha256_hex(token))).first()
    if row is None or row.ended_at is not None or audit.as_utc(row.expires_at) <= utcnow():
        return None
    return row


def signed_in(request: Request, db: Session) -> tuple[LoginSession, Identity] | None:
    """The resident's live session and identity (the account pages); None when nobody is signed in."""
    session = current(request, db)
    if session is None:
        return None
    identity = db.get(Identity, session.identity_id)
    assert identity is not None  # noqa: S101 - a session references its identity
    return session, identity


def establish(
    request: Request,
    response: Response,
    db: Session,
    services: IdpServices,
    identity: Identity,
    method: LoginMethod,
    interaction_uid: str | None = None,
    *,
    new_device: bool = False,
    **audit_detail: object,
) -> LoginSession:
    """Start a new SSO session after a successful login by ``method`` (at its acr and amr); the old one of
    this browser ends (a new login never inherits an earlier person's session). The same person logging in
    again (step-up, ``prompt=login``, ``max_age``) replaces it, and the portals signed in from it stay signed
    in until the new one ends; another person signing in on this browser logs the previous one out of
    them (``_log_out``)."""
    previous = current(request, db)
    now = utcnow()
    if previous is not None:
        previous.ended_at = now
    token = secrets.token_urlsafe(32)
    row = LoginSession(
        sid=secrets.token_urlsafe(16),
        token_hash=sha256_hex(token),
        identity_id=identity.id,
        auth_time=now,
        acr=method.acr,
        amr=list(method.amr),
        created_at=now,
        expires_at=now + timedelta(seconds=services.settings.login_session_ttl_s),
    )
    # Told to the person (``civid.events.SignedInAnew``): the first sign-in by this method, or by a new passkey.
    method_is_new = (
        db.scalar(
            select(LoginSession.id)
            .where(LoginSession.identity_id == identity.id, LoginSession.acr == method.acr)
            .limit(1)
        )
        is None
    )
    db.add(row)
    db.flush()
    if method_is_new or new_device:
        services.events.publish(
            db,
            SignedInAnew(
                identity_id=identity.id,
                uin=identity.uin,
                actor=citizen(identity),
                method=method.name,
                new_device=new_device,
            ),
        )
    if previous is not None and previous.identity_id == identity.id:
        previous.replaced_by_id = row.id
    elif previous is not None:
        _log_out(request, db, previous, reason="another person signed in on this browser")
    if interaction_uid:
        interaction = db.scalars(
            select(AuthorizationRequest).where(AuthorizationRequest.uid == interaction_uid)
        ).first()
        if interaction is not None:
            interaction.login_session_id = row.id
    audit.record(
        db,
        citizen(identity),
        "login.succeeded",
        "identity",
        identity.uin,
        method=method.name,
        acr=row.acr,
        sid=row.sid,
        interaction=interaction_uid,
        **audit_detail,
    )
    name = _name(request)
    set_cookie(request, response, name, token, max_age=services.settings.login_session_ttl_s)
    return row


def _log_out(
    request: Request, db: Session, row: LoginSession, actor: Actor | None = None, reason: str | None = None
) -> None:
    """The person of the ended session ``row`` is logged out of every portal signed in from it, or from the
    earlier sessions it replaced: their grants are revoked and back-channel logout tokens queued."""
    from idp import backchannel_logout  # imported here to keep sessions light

    ended = [row]
    frontier = [row.id]
    while frontier:  # the chain of re-authentications that ``row`` ended
        earlier = list(db.scalars(select(LoginSession).where(LoginSession.replaced_by_id.in_(frontier))))
        ended += earlier
        frontier = [s.id for s in earlier]
    identity = db.get(Identity, row.identity_id)
    who = actor or (citizen(identity) if identity else audit.SYSTEM)
    # Tokens issued from this login die with it: a portal's refresh token must not outlive the citizen's
    # logout — unless the citizen granted offline_access (OIDC Core §11: asked with prompt=consent, the
    # consent page saying so); that grant ends when they withdraw the consent.
    revoked = revoke_grants(
        db,
        Grant.login_session_id.in_([s.id for s in ended]),
        ~Grant.scope.contains("offline_access", autoescape=True),
        reason="logout",
        actor=who,
    )
    # Portals holding these sessions' tokens are told server to server (OIDC Back-Channel Logout), after commit;
    # each with the sid of the session it signed in from.
    notifier = request.app.state.services.backchannel_logout
    notified = sum(backchannel_logout.enqueue(db, s, notifier) for s in ended)
    audit.record(
        db,
        who,
        "logout",
        "identity",
        identity.uin if identity else "?",
        sid=row.sid,
        grants_revoked=revoked,
        backchannel_logouts=notified,
        **({"earlier_sids": [s.sid for s in ended[1:]]} if len(ended) > 1 else {}),
        **({"reason": reason} if reason else {}),
    )


def after_login_url(interaction_uid: str | None) -> str:
    """Where the browser goes after logging in: back to the authorization request, or the account page."""
    return f"/authorize/resume/{interaction_uid}" if interaction_uid else "/account"


def end(request: Request, response: Response, db: Session, actor: Actor | None = None) -> LoginSession | None:
    """End this browser's session (logout), revoke the grants issued from it and from the earlier sessions it
    replaced, queue back-channel logout tokens for the portals they signed in to, and clear the cookie; return
    the ended session if there was one."""
    row = current(request, db)
    if row is not None:
        row.ended_at = utcnow()
        _log_out(request, db, row, actor)
    name = _name(request)
    response.delete_cookie(
        name, path="/", secure=request.app.state.services.settings.resolved_cookie_secure, httponly=True, samesite="lax"
    )
    return row
