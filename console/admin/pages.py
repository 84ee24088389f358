"""Admins' pages: staff accounts and roles, relying-party clients, OpenID signing keys.

Each action calls the function the CLI and the admin API call (``console.staff.accounts``, ``idp.clients.register``,
``idp.admin_routes.disable_client``, ``SigningKeys.rotate``), which audit it with the admin as actor; every POST
carries the CSRF token. Two guards against locking everyone out: an admin cannot disable their own account
or drop their own admin role, and the console's own client registration cannot be disabled from the console.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from civid import audit
from civid.errors import CividError, Forbidden, InvalidInput
from civid.input_types import RowId
from civid.web import i18n, pages
from civid.web.csrf import check_csrf
from console.common.error_text import error_text
from console.signin.pages import CONSOLE_CLIENT
from console.signin.session import require_staff
from console.staff import accounts as staff_accounts
from console.staff.accounts import STAFF_ROLES, Staff
from idp import clients
from idp.admin_routes import disable_client
from idp.keys import ALGORITHMS
from models import Client, utcnow

router = APIRouter(prefix="/console/admin", include_in_schema=False)
Admin = Depends(require_staff("admin"))
DONE = ("staff_added", "roles_changed", "staff_disabled", "client_disabled", "keys_rotated")


def _done(value: str | None) -> str | None:
    return value if value in DONE else None


def _say(request: Request, key: str) -> str:
    """One of this page's own refusals, in the page's language."""
    return i18n.translate(key, pages.language(request))


def _error(request: Request, exc: CividError) -> str:
    """A refusal from the account or client registry, in the page's language (``admin.error.<code>``), or its
    English sentence when it has no code the catalogue knows."""
    return error_text(exc, "admin.error", pages.language(request))


# --- staff accounts --------------------------------------------------------------------------------
def render_staff(
    request: Request,
    staff: Staff,
    *,
    status: int = 200,
    alert: str | None = None,
    form: dict[str, Any] | None = None,
    done: str | None = None,
) -> Response:
    with request.app.state.services.sessions() as db:
        accounts = [
            {
                "id": a.id,
                "name": a.name,
                "uin": a.uin,
                "roles": list(a.roles),
                "created_by": a.created_by,
                "created": audit.as_utc(a.created_at).strftime("%Y-%m-%d"),
                "is_me": a.id == staff.account_id,
                "disabled": pages.when(a.disabled_at),
            }
            for a in staff_accounts.listing(db)
        ]
    return pages.render(
        request,
        "console_admin_staff.html",
        status=status,
        staff=staff,
        accounts=accounts,
        roles=STAFF_ROLES,
        alert=alert,
        form=form or {},
        done=done,
        tab="staff",
    )


@router.get("")
def staff_page(request: Request, done: str | None = None, staff: Staff = Admin) -> Response:
    """Staff accounts: who may use the console, with which roles."""
    return render_staff(request, staff, done=_done(done))


@router.post("/staff")
async def add_staff(request: Request, staff: Staff = Admin) -> Response:
    """Give an enrolled person a console account with roles (they sign in with their own identity)."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    uin, name = str(form.get("uin", "")).strip(), str(form.get("name", "")).strip()
    roles = [str(r) for r in form.getlist("roles")]
    values = {"uin": uin, "name": name, "roles": roles}
    try:
        with request.app.state.services.sessions.begin() as db:
            staff_accounts.add(db, uin, name, roles, staff.actor("admin"))
    except CividError as exc:
        return render_staff(request, staff, status=exc.status, alert=_error(request, exc), form=values)
    return RedirectResponse("/console/admin?done=staff_added", status_code=303)


@router.post("/staff/{account_id}/roles")
async def change_roles(request: Request, account_id: RowId, staff: Staff = Admin) -> Response:
    """Replace a staff member's roles (audited with before and after)."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    roles = [str(r) for r in form.getlist("roles")]
    if account_id == staff.account_id and "admin" not in roles:
        return render_staff(request, staff, status=403, alert=_say(request, "admin.refused.own_admin_role"))
    try:
        with request.app.state.services.sessions.begin() as db:
            staff_accounts.set_roles(db, account_id, roles, staff.actor("admin"))
    except CividError as exc:
        return render_staff(request, staff, status=exc.status, alert=_error(request, exc))
    return RedirectResponse("/console/admin?done=roles_changed", status_code=303)


@router.post("/staff/{account_id}/disable")
def disable_staff(
    request: Request, account_id: RowId, csrf_token: str = Form(""), confirm: str = Form(""), staff: Staff = Admin
) -> Response:
    """Stop a staff member from signing in (their sessions end at their next request)."""
    check_csrf(request, csrf_token)
    if account_id == staff.account_id:
        return render_staff(request, staff, status=403, alert=_say(request, "admin.refused.own_account"))
    if confirm != "yes":
        return render_staff(request, staff, status=422, alert=_say(request, "admin.refused.confirm"))
    try:
        with request.app.state.services.sessions.begin() as db:
            staff_accounts.disable(db, account_id, staff.actor("admin"))
    except CividError as exc:
        return render_staff(request, staff, status=exc.status, alert=_error(request, exc))
    return RedirectResponse("/console/admin?done=staff_disabled", status_code=303)


# --- relying-party clients ------------------------------------------------------------------------------
def render_clients(
    request: Request,
    staff: Staff,
    *,
    status: int = 200,
    alert: str | None = None,
    form: dict[str, Any] | None = None,
    done: str | None = None,
    created: dict[str, Any] | None = None,
) -> Response:
    with request.app.state.services.sessions() as db:
        rows = [
            {**clients.describe(row), "is_console": row.registered_by == CONSOLE_CLIENT}
            for row in db.scalars(select(Client).order_by(Client.id))
        ]
    return pages.render(
        request,
        "console_admin_clients.html",
        status=status,
        staff=staff,
        clients=rows,
        alert=alert,
        form=form or {},
        done=done,
        created=created,
        tab="clients",
        auth_methods=clients.AUTH_METHODS,
        scopes=(*clients.STANDARD_SCOPES, "uin"),
        entitlements=clients.ENTITLEMENTS,
        algs=ALGORITHMS,
    )


@router.get("/clients")
def clients_page(request: Request, done: str | None = None, staff: Staff = Admin) -> Response:
    """Portals and banks registered with the OpenID provider (never their secrets)."""
    return render_clients(request, staff, done=_done(done))


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def client_metadata(form: dict[str, Any]) -> clients.ClientMetadata:
    """The form as registration metadata, with the checks ``civid clients add`` makes before registering."""
    auth = form["auth"]
    jwks = None
    if form["jwks"].strip():
        try:
            jwks = json.loads(form["jwks"])
        except ValueError as exc:
            raise InvalidInput(
                f"the JWK Set is not valid JSON: {exc}",
                code="jwks_not_json",
                params={"line": getattr(exc, "lineno", "?"), "column": getattr(exc, "colno", "?")},
            ) from exc
        if isinstance(jwks, dict) and "kty" in jwks:
            jwks = {"keys": [jwks]}  # a single JWK is accepted as a one-key set, as by the CLI
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise InvalidInput('the JWK Set must look like {"keys": [...]}', code="jwks_not_a_set")
        if any(isinstance(key, dict) and "d" in key for key in jwks["keys"]):
            raise InvalidInput(
                "the JWK Set holds a private key; register the portal's public key only", code="jwks_private_key"
            )
    if auth == "private_key_jwt" and bool(form["jwks_uri"]) == bool(jwks):
        raise InvalidInput("private_key_jwt needs exactly one of a JWKS URI or a JWK Set", code="private_key_jwt_keys")
    if auth != "private_key_jwt" and (form["jwks_uri"] or jwks):
        raise InvalidInput("a JWKS URI or JWK Set goes with private_key_jwt only", code="jwks_without_private_key_jwt")
    meta = clients.ClientMetadata(
        name=form["name"],
        redirect_uris=_lines(form["redirect_uris"]),
        token_endpoint_auth_method=auth,
        jwks=jwks,
        jwks_uri=form["jwks_uri"] or None,
        post_logout_redirect_uris=_lines(form["post_logout"]),
        entitlements=form["entitlements"],
        subject_type="public" if form["public_subject"] else "pairwise",
        require_par=bool(form["require_par"]),
        id_token_signed_response_alg=form["id_token_alg"] or None,
        contacts=_lines(form["contacts"]),
        backchannel_logout_uri=form.get("backchannel_logout_uri") or None,
        backchannel_logout_session_required=bool(form.get("backchannel_session")),
        identity_events_uri=form.get("identity_events_uri") or None,
        # RFC 7591 §2: every client redeems codes; refresh tokens only when the admin ticks them.
        grant_types=["authorization_code", *(["refresh_token"] if form.get("refresh_token") else [])],
        require_pkce=not form.get("nonce_instead_of_pkce"),
        require_dpop=bool(form.get("require_dpop")),
    )
    if form["scopes"]:
        meta.allowed_scopes = list(form["scopes"])
    return meta


@router.post("/clients")
async def register_client(request: Request, staff: Staff = Admin) -> Response:
    """Register a portal or bank; its secret is shown once, on the page this answers with."""
    raw = await request.form()
    check_csrf(request, str(raw.get("csrf_token", "")))
    text = {
        name: str(raw.get(name, "")).strip()
        for name in (
            "name",
            "redirect_uris",
            "auth",
            "jwks_uri",
            "jwks",
            "post_logout",
            "id_token_alg",
            "contacts",
            "public_subject",
            "require_par",
            "backchannel_logout_uri",
            "backchannel_session",
            "identity_events_uri",
            "refresh_token",
            "nonce_instead_of_pkce",
            "require_dpop",
        )
    }
    form = {
        **text,
        "scopes": [str(s) for s in raw.getlist("scopes")],
        "entitlements": [str(e) for e in raw.getlist("entitlements")],
    }
    form["auth"] = form["auth"] or "client_secret_basic"
    try:
        meta = client_metadata(form)
        with request.app.state.services.sessions.begin() as db:
            row, secret = clients.register(db, meta, staff.actor("admin"))
            created = {**clients.describe(row), "secret": secret}
    except CividError as exc:
        return render_clients(request, staff, status=exc.status, alert=_error(request, exc), form=form)
    return render_clients(request, staff, status=201, created=created)


@router.post("/clients/{client_id}/disable")
def disable(
    request: Request, client_id: str, csrf_token: str = Form(""), confirm: str = Form(""), staff: Staff = Admin
) -> Response:
    """Stop a client and revoke every grant and token it holds."""
    check_csrf(request, csrf_token)
    if confirm != "yes":
        return render_clients(request, staff, status=422, alert=_say(request, "admin.refused.confirm"))
    try:
        with request.app.state.services.sessions.begin() as db:
            row = db.scalars(select(Client).where(Client.client_id == client_id)).first()
            if row is not None and row.registered_by == CONSOLE_CLIENT:
                raise Forbidden(_say(request, "admin.refused.console_client"))
            disable_client(db, client_id, staff.actor("admin"))
    except CividError as exc:
        return render_clients(request, staff, status=exc.status, alert=_error(request, exc))
    return RedirectResponse("/console/admin/clients?done=client_disabled", status_code=303)


# --- signing keys ------------------------------------------------------------------------------------------
@router.get("/keys")
def keys_page(request: Request, done: str | None = None, staff: Staff = Admin) -> Response:
    """Each OpenID signing key's state, and whether a rotation is due."""
    return render_keys(request, staff, done=_done(done))


def render_keys(
    request: Request, staff: Staff, *, status: int = 200, alert: str | None = None, done: str | None = None
) -> Response:
    services = request.app.state.services
    settings = services.settings
    keys = services.signing_keys.status()
    due_after = timedelta(days=settings.signing_key_lifetime_days)
    rotation_due = [k.kid for k in keys if k.state == "active" and utcnow() - audit.as_utc(k.activates_at) > due_after]
    return pages.render(
        request,
        "console_admin_keys.html",
        status=status,
        staff=staff,
        keys=keys,
        alert=alert,
        done=done,
        tab="keys",
        rotation_due=rotation_due,
        algs=ALGORITHMS,
        lead_minutes=settings.signing_key_publish_lead_s // 60,
        lifetime_days=settings.signing_key_lifetime_days,
        when=lambda moment: pages.when(moment) or "",
    )


@router.post("/keys/rotate")
async def rotate_keys(request: Request, staff: Staff = Admin) -> Response:
    """Rotate: new keys published now, signing after the lead time; old keys kept until their tokens expire."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    algs = tuple(a for a in ALGORITHMS if a in form.getlist("algs")) or ALGORITHMS
    if form.get("confirm") != "yes":
        return render_keys(request, staff, status=422, alert=_say(request, "admin.refused.confirm"))
    services = request.app.state.services
    services.signing_keys.ensure()  # a rotation retires the current keys, so they must exist first
    services.signing_keys.rotate(staff.actor("admin"), algs)
    return RedirectResponse("/console/admin/keys?done=keys_rotated", status_code=303)
