"""Staff sign-in: the console is a relying party of civid's own OpenID provider, like any portal.

``/console/login`` sends the browser to ``/authorize`` (code flow, PKCE S256, ``state``, ``nonce``,
``prompt=login`` so a desk never inherits someone's earlier session, and the passkey ``acr``);
``/console/callback`` checks ``state`` and ``iss`` (RFC 9207), redeems the code (the same grant code the
token endpoint runs, in-process: the console and the provider are one service), verifies the ID token
(signature against the JWKS, audience, nonce, acr) and maps its ``uin`` claim to a staff account. The
provider's single sign-on session ends there: the console session, with its idle timeout, is the desk's only one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import jwt
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import SYSTEM, Actor
from civid.errors import Forbidden, InvalidInput
from civid.web import pages
from civid.web.csrf import check_csrf
from console.signin import session as console_session
from console.staff import accounts as staff_accounts
from idp import acr, claims_extensions, clients, login_methods
from idp import sessions as idp_sessions
from idp.grants import authorization_code
from idp.runtime import IdpServices
from models import Client

router = APIRouter(prefix="/console", include_in_schema=False, dependencies=[Depends(pages.html_page)])
CONSOLE_CLIENT = "civid:console"  # Client.registered_by of the console's own registration
LOGIN_STATE_COOKIE = "civid_console_login"
LOGIN_STATE_TTL_S = 600


def console_client(services: IdpServices, db: Session) -> Client:
    """The console's client registration, created on first use and kept in step with the issuer URL."""
    redirect_uri = services.settings.resolved_issuer + "/console/callback"
    row = db.scalars(select(Client).where(Client.registered_by == CONSOLE_CLIENT)).first()
    if row is None:
        row, _ = clients.register(
            db,
            clients.ClientMetadata(
                name="civid officer console",
                redirect_uris=[redirect_uri],
                allowed_scopes=["openid", "uin"],
                entitlements=["uin"],
                subject_type="pairwise",
                default_acr_values=[acr.ACR_PASSKEY] if services.settings.console_require_passkey else [],
            ),
            SYSTEM,
            registered_by=CONSOLE_CLIENT,
        )  # its secret is discarded: redemption is in-process
    elif row.redirect_uris != [redirect_uri]:
        row.redirect_uris = [redirect_uri]
    # The console is part of civid: staff are not asked to consent to it (a "Do not allow" locked them out).
    row.first_party = True
    return row


def _seal(services: IdpServices, payload: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    return body + "." + services.idp_secrets.mac("console-login", body)


def _unseal(services: IdpServices, value: str | None) -> dict[str, Any] | None:
    if not value or "." not in value:
        return None
    body, mac = value.rsplit(".", 1)
    if not secrets.compare_digest(mac, services.idp_secrets.mac("console-login", body)):
        return None
    payload = json.loads(base64.urlsafe_b64decode(body))
    return payload if payload.get("exp", 0) > time.time() else None


def _safe_next(value: str | None) -> str:
    """Only a console path may follow sign-in (no open redirect)."""
    return value if value and value.startswith("/console") and not value.startswith("//") else "/console"


@router.get("/login")
def login(request: Request, next: str | None = None) -> Response:
    """Start the code flow at civid's own authorization endpoint."""
    services = request.app.state.services
    with services.sessions.begin() as db:
        client = console_client(services, db)
        client_id, redirect_uri = client.client_id, client.redirect_uris[0]
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "openid uin",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "prompt": "login",
        "ui_locales": pages.language(request),
        "claims": json.dumps({"id_token": {"uin": {"essential": True}}}),
    }
    if services.settings.console_require_passkey:
        params["acr_values"] = acr.ACR_PASSKEY
    response = RedirectResponse("/authorize?" + urlencode(params), status_code=303)
    sealed = _seal(
        services,
        {
            "state": state,
            "nonce": nonce,
            "verifier": verifier,
            "next": _safe_next(next),
            "exp": time.time() + LOGIN_STATE_TTL_S,
        },
    )
    response.set_cookie(
        LOGIN_STATE_COOKIE,
        sealed,
        max_age=LOGIN_STATE_TTL_S,
        path="/console",
        httponly=True,
        samesite="lax",
        secure=services.settings.resolved_cookie_secure,
    )
    return response


@router.get("/callback")
def callback(
    request: Request,
    state: str | None = None,
    code: str | None = None,
    iss: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    """Back from the provider: check, redeem, verify, map the UIN to a staff account, open the session."""
    services = request.app.state.services
    pending = _unseal(services, request.cookies.get(LOGIN_STATE_COOKIE))
    if pending is None or not state or not secrets.compare_digest(state, pending["state"]):
        raise InvalidInput("this sign-in has expired or was not started here; start again", code="sign_in_expired")
    if iss != services.settings.resolved_issuer:  # RFC 9207: the answer must come from our provider
        raise InvalidInput("the sign-in answer did not come from this identity provider", code="sign_in_foreign")
    if error:
        raise Forbidden(f"sign-in was not completed: {error_description or error}", code="sign_in_incomplete")
    if not code:
        raise InvalidInput("the sign-in answer carries no code", code="sign_in_incomplete")
    with services.sessions.begin() as db:
        client = console_client(services, db)
        tokens = authorization_code.create_token_response(
            db,
            services,
            claims_extensions.of(request.app),
            client,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": client.redirect_uris[0],
                "code_verifier": pending["verifier"],
            },
        )
        client_id = client.client_id
    try:
        claims = services.signing_keys.verify(tokens["id_token"], audience=client_id)
    except jwt.InvalidTokenError as exc:
        raise Forbidden(f"the ID token is not valid: {exc}", code="sign_in_refused") from exc
    if not secrets.compare_digest(str(claims.get("nonce", "")), pending["nonce"]):
        raise Forbidden("the ID token's nonce does not match this sign-in", code="sign_in_refused")
    passkey_level = login_methods.of(request).satisfies(claims.get("acr", ""), [acr.ACR_PASSKEY])
    if services.settings.console_require_passkey and not passkey_level:
        raise Forbidden("staff must sign in with a passkey", code="passkey_required")
    response = RedirectResponse(pending["next"], status_code=303)
    response.delete_cookie(LOGIN_STATE_COOKIE, path="/console")
    with services.sessions.begin() as db:
        account = staff_accounts.active_by_uin(db, str(claims.get("uin", "")))
        if account is None:
            audit.record(
                db,
                Actor(None, f"citizen:{claims.get('uin')}", "citizen"),
                "console.sign_in_refused",
                "identity",
                str(claims.get("uin")),
                reason="no staff account",
            )
            refused = Forbidden(
                "you signed in, but you have no staff account; ask an administrator", code="no_staff_account"
            )
            db.commit()
            raise refused
        console_session.start(request, response, db, account, claims.get("acr", ""))
        actor = Actor(account.api_key_id, account.name, account.roles[0])
        # The provider's single sign-on session has done its job: left alive (8 h) it would outlast the
        # console's idle timeout, and whoever sat at the unattended desk would be this officer at civid's
        # own account page and at every portal. The console session is the desk's only sign-in.
        idp_sessions.end(request, response, db, actor)
        audit.record(db, actor, "console.signed_in", "staff", str(account.id), uin=account.uin, acr=claims.get("acr"))
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("")) -> Response:
    """Sign out of the console (CSRF-protected); the provider's own session is ended too (if one is left)."""
    check_csrf(request, csrf_token)
    services = request.app.state.services
    response = RedirectResponse("/console/signed-out", status_code=303)
    with services.sessions.begin() as db:
        account = console_session.end(request, response, db)
        idp_sessions.end(request, response, db)
        if account is not None:
            audit.record(
                db,
                Actor(account.api_key_id, account.name, account.roles[0]),
                "console.signed_out",
                "staff",
                str(account.id),
                uin=account.uin,
            )
    return response


@router.get("/signed-out")
def signed_out(request: Request) -> Response:
    return pages.render(request, "console_signed_out.html")
