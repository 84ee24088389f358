"""The login page: which methods the citizen may use for this request, and the forms for them.

``GET /login/{uid}`` serves an interaction (a portal's authorization request); ``GET /login`` a citizen
signing in to civid itself (afterwards: the account page). The methods offered are the application's
registered login methods (``idp.login_methods``), in registry order, that reach the level the portal asked
for: a passkey always, a face check only when the lower level will do. Each method adds its own fragment
(the face one says plainly why face login is the lower level); the page only says when a method was held
back because the portal demands more.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from civid.deps import get_services
from civid.web import pages
from idp import clients, interactions, login_methods
from idp.runtime import IdpServices
from models import AuthorizationRequest

router = APIRouter(tags=["citizen pages"], dependencies=[Depends(pages.html_page)])


def render_login(
    request: Request,
    services: IdpServices,
    interaction: AuthorizationRequest | None,
    *,
    uin: str | None = None,
    error: str | None = None,
    error_values: dict | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The login page for ``interaction`` (None: civid's own login), with what each offered method's fragment
    needs (the face form's fresh challenge) and, after a failed attempt, the message ``error`` (an i18n key)
    and the UIN typed."""
    params = interaction.params if interaction is not None else {}
    registered = login_methods.of(request)
    methods = registered.allowed(params.get("acr_values") or [])
    uid = interaction.uid if interaction is not None else None
    context: dict[str, Any] = {}
    with services.sessions.begin() as db:
        client = clients.find(db, interaction.client_id) if interaction is not None else None
        for method in methods:
            if method.page_context is not None:
                context.update(method.page_context(db, services.settings, uid))
        client_name = client.name if client is not None else None
    return pages.render(
        request,
        "login.html",
        status=status,
        ui_locales=params.get("ui_locales"),
        interaction_uid=uid,
        client_name=client_name,
        methods=methods,
        restricted=len(methods) < len(registered),
        uin=uin if uin is not None else params.get("login_hint"),
        error=error,
        error_values=error_values or {},
        **context,
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, services: IdpServices = Depends(get_services)) -> HTMLResponse:
    """Sign in to civid itself (to manage passkeys and consents)."""
    return render_login(request, services, None)


@router.get("/login/{uid}", response_class=HTMLResponse)
def interaction_login_page(uid: str, request: Request, services: IdpServices = Depends(get_services)) -> HTMLResponse:
    """Sign in for a portal's authorization request."""
    with services.sessions() as db:
        interaction = interactions.load(db, uid)
        db.expunge(interaction)
    return render_login(request, services, interaction)
