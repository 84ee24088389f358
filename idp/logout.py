"""RP-Initiated Logout (OpenID Connect RP-Initiated Logout 1.0): ``GET``/``POST /logout``, the
``end_session_endpoint``.

- ``id_token_hint``: an ID token civid issued (signature checked, expiry not: §2 allows an expired one)
  whose audience is the client; ``client_id`` must then be that audience.
- ``post_logout_redirect_uri``: followed only when it exactly matches one registered for the client
  identified by ``client_id`` or the hint (§3); otherwise the citizen sees the signed-out page.
- ``state``: returned with the redirect (§3).
- The citizen is asked to confirm (a CSRF-protected button, §2 and §6 recommend it) unless the hint names
  the person of this browser's session, so another site cannot sign people out by sending them here.

A portal's POST is cross-site, so the browser does not send civid's SameSite=Lax cookies with it: civid
cannot see the session then, and always answers with the confirmation page (whose POST is same-site).
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from civid import audit
from civid.deps import get_services
from civid.web import pages
from civid.web.csrf import check_csrf
from idp import authorization_response, clients, sessions
from idp.authorize import query_parameters
from idp.errors import InvalidRequest
from idp.form import oauth_form
from idp.runtime import IdpServices
from idp.subjects import subject_for
from models import Client, Identity, LoginSession

router = APIRouter(tags=["openid"], dependencies=[Depends(pages.html_page)])


@dataclass(frozen=True)
class LogoutRequest:
    """A validated logout request: where (if anywhere) to send the browser afterwards."""

    client: Client | None
    redirect_uri: str | None  # a registered post_logout_redirect_uri, or None: show the page
    state: str | None
    hint_sub: str | None  # the sub of a valid id_token_hint
    ui_locales: list[str]


def _parse(db: Session, services: IdpServices, params: dict[str, str]) -> LogoutRequest:
    client_id = params.get("client_id")
    hint_sub = None
    if params.get("id_token_hint"):
        try:
            claims = services.signing_keys.verify(params["id_token_hint"], typ="JWT", verify_exp=False)
        except jwt.InvalidTokenError as exc:
            raise InvalidRequest("id_token_hint is not an ID token issued by civid") from exc
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if client_id and client_id not in audiences:
            raise InvalidRequest("client_id is not the audience of id_token_hint")  # RP-Initiated Logout §2
        client_id = client_id or claims.get("azp") or (audiences[0] if len(audiences) == 1 else None)
        hint_sub = claims.get("sub")
    client = clients.find(db, client_id)
    uri = params.get("post_logout_redirect_uri")
    # RP-Initiated Logout §3: exact match with one registered for this client, or no redirect at all.
    redirect_uri = uri if client is not None and uri and uri in client.post_logout_redirect_uris else None
    return LogoutRequest(client, redirect_uri, params.get("state"), hint_sub, params.get("ui_locales", "").split())


def _hint_names_session(services: IdpServices, db: Session, request_: LogoutRequest, session: LoginSession) -> bool:
    if request_.hint_sub is None or request_.client is None:
        return False
    identity = db.get(Identity, session.identity_id)
    if identity is None:
        return False
    return subject_for(services.idp_secrets, request_.client, identity.uin) == request_.hint_sub


@router.get("/logout")
def logout(request: Request, services: IdpServices = Depends(get_services)) -> Response:
    """RP-Initiated Logout §2, HTTP GET."""
    with services.sessions.begin() as db:
        parsed = _parse(db, services, query_parameters(request))
        session = sessions.current(request, db)
        if session is not None and not _hint_names_session(services, db, parsed, session):
            return _confirmation(request, parsed)
        return _sign_out(request, db, services, parsed)


@router.post("/logout")
def logout_form(
    request: Request, form: dict[str, str] = Depends(oauth_form), services: IdpServices = Depends(get_services)
) -> Response:
    """RP-Initiated Logout §2, HTTP POST; and the confirmation form's answer (``confirm`` + CSRF token)."""
    with services.sessions.begin() as db:
        if "confirm" not in form:
            return _confirmation(request, _parse(db, services, form))  # a portal's cross-site POST
        check_csrf(request, form.get("csrf_token"))
        # The confirmation form carries client_id and the redirect URI, checked again here.
        parsed = _parse(db, services, {k: v for k, v in form.items() if k != "id_token_hint"})
        return _sign_out(request, db, services, parsed)


def _confirmation(request: Request, parsed: LogoutRequest) -> Response:
    return pages.render(
        request,
        "logout_confirm.html",
        ui_locales=parsed.ui_locales,
        client_name=parsed.client.name if parsed.client else None,
        client_id=parsed.client.client_id if parsed.client else None,
        post_logout_redirect_uri=parsed.redirect_uri,
        state=parsed.state,
        ui_locales_value=" ".join(parsed.ui_locales),
    )


def _sign_out(request: Request, db: Session, services: IdpServices, parsed: LogoutRequest) -> Response:
    """End the session, then redirect to the portal (when allowed) or show the signed-out page."""
    if parsed.redirect_uri is not None:
        response: Response = authorization_response.redirect(
            authorization_response.with_query(parsed.redirect_uri, {"state": parsed.state})
        )
    else:
        response = pages.render(
            request,
            "logged_out.html",
            ui_locales=parsed.ui_locales,
            client_name=parsed.client.name if parsed.client else None,
        )
    ended = sessions.end(request, response, db)
    if parsed.client is not None:
        actor = audit.Actor(None, f"client:{parsed.client.client_id}", "client")
        audit.record(
            db,
            actor,
            "oidc.rp_logout",
            "client",
            parsed.client.client_id,
            session_ended=ended is not None,
            sid=ended.sid if ended else None,
            redirected=parsed.redirect_uri is not None,
        )
    return response
