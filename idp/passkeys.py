"""Passkeys (FIDO2/WebAuthn): a citizen binds one after proving who they are (a desk code from an officer,
or a recent face login), then logs in with it, username-less, at the higher assurance level.

Routes (JSON ones carry the CSRF token in ``X-CSRF-Token``; the ceremony itself is in /static/idp/webauthn.js):
- ``GET/POST /passkeys/bind``: the page where the citizen types the officer's code and names the device;
- ``POST /passkeys/register/options`` and ``/passkeys/register/verify``: the registration ceremony;
- ``POST /login/passkey/options`` and ``/login/passkey/verify``: the login ceremony.
The officer's desk API is in ``idp.passkey_bindings``; fido2 and the stored challenges in ``idp.passkey_ceremony``.
``PASSKEY`` declares the login method to the registry (``idp.login_methods``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import delete, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Delete

from civid import audit, auth_method_locks
from civid.actor import Actor
from civid.deps import get_services
from civid.errors import CividError
from civid.settings import Settings
from civid.web import i18n, pages
from civid.web.csrf import check_csrf
from idp import claims, interactions, lockout, passkey_bindings, passkey_ceremony, passkey_registry, sessions
from idp.login_methods import LoginMethod
from idp.passkey_ceremony import PasskeyRejected
from idp.runtime import IdpServices
from models import Identity, LoginSession, Passkey, PasskeyBinding, WebAuthnChallenge, utcnow
from models.db import affected_rows

router = APIRouter()
router.include_router(passkey_bindings.router)
ServicesDep = Annotated[IdpServices, Depends(get_services)]
Credential = Annotated[dict[str, Any], Body(description="The PublicKeyCredential as WebAuthn JSON (base64url fields)")]
METHOD = "passkey"
ACR = "urn:civid:acr:passkey"


class RegisterOptionsIn(BaseModel):
    code: str | None = Field(None, max_length=40, description="The officer's binding code (desk binding)")
    label: str = Field("", max_length=100, description="The citizen's name for the device")


class LoginOptionsIn(BaseModel):
    interaction: str | None = Field(None, max_length=64, description="The authorization request's uid, if any")


# --- helpers -----------------------------------------------------------------------------------
def _csrf(request: Request) -> str:
    """Check the X-CSRF-Token header; return it (ceremonies are bound to it, and so to this browser)."""
    presented = request.headers.get("x-csrf-token")
    check_csrf(request, presented)
    return presented or ""


@contextmanager
def _explained(request: Request) -> Iterator[None]:
    """Add the citizen-facing ``message`` (in the page's language) to errors of the JSON endpoints."""
    try:
        yield
    except CividError as exc:
        # A passkey failure's sentence is in the passkey catalogue, the citizen pages' shared ones (a lockout, a
        # CSRF refusal, a finished interaction) in the error catalogue: each class says which (message_catalogue).
        key = exc.message_key("passkey.error", "error")
        if key and i18n.has(key):
            minutes = max(1, round(int(exc.extra.get("retry_after") or 60) / 60))
            address = passkey_ceremony.issuer_origin(request.app.state.services.settings.resolved_issuer)
            exc.extra["message"] = i18n.translate(key, pages.language(request), minutes=minutes, address=address)
        raise


def face_session_for_binding(request: Request, db: Session, max_age_s: int) -> LoginSession:
    """The browser's login session if it is a face login recent enough to bind a passkey online."""
    session = sessions.current(request, db)
    if session is None or "face" not in (session.amr or []):
        raise PasskeyRejected(
            "adding a passkey online needs a face verification; log in with your face first", code="face_needed"
        )
    if utcnow() - audit.as_utc(session.auth_time) > timedelta(seconds=max_age_s):
        raise PasskeyRejected(
            "your face verification is too old to add a passkey; log in with your face again", code="face_needed"
        )
    identity = db.get(Identity, session.identity_id)
    if identity is not None and passkey_bindings.has_staff_account(db, identity):
        # A staff passkey signs in to the console with the member's roles. A face login has no presentation-attack
        # detection, so a good photo of an administrator must not be enough to mint one: staff get a code from an
        # administrator instead (passkey_bindings.authorise).
        raise PasskeyRejected(
            "a staff member's passkey is added only with a code from an administrator, never online after a face check",
            code="staff_needs_code",
        )
    return session


def _display_name(db: Session, identity: Identity) -> str:
    return str(claims.claim_values(db, identity).get("name") or f"UIN {identity.uin}")[:64]


def _label(request: Request, typed: str | None) -> str:
    label = " ".join((typed or "").split())[:100]
    return label or i18n.translate("passkey.default_label", pages.language(request))


def _live_interaction(db: Session, uid: str | None) -> str | None:
    if not uid:
        return None
    row = interactions.find(db, uid)  # an interaction, never a pushed request's uid
    if row is None or not interactions.is_live(row):
        raise PasskeyRejected(
            "this sign-in request has expired; go back to the service and start again", code="interaction"
        )
    return uid


# --- the binding page -------------------------------------------------------------------------
@router.get("/passkeys/bind", response_class=HTMLResponse, dependencies=[Depends(pages.html_page)])
def bind_page(request: Request) -> HTMLResponse:
    """Step 1: the citizen types the code the officer gave them and a name for the device."""
    return pages.render(request, "passkey_bind.html", step="code", code="", label="", error_key=None)


@router.post("/passkeys/bind", response_class=HTMLResponse, dependencies=[Depends(pages.html_page)])
def bind_code(
    request: Request,
    services: ServicesDep,
    csrf_token: Annotated[str, Form()] = "",
    code: Annotated[str, Form(max_length=40)] = "",
    label: Annotated[str, Form(max_length=100)] = "",
) -> HTMLResponse:
    """Step 2 (works without JavaScript up to here): the code is checked, then the device creates the passkey."""
    check_csrf(request, csrf_token)
    with services.sessions() as db:
        try:
            passkey_bindings.usable_binding(db, services.idp_secrets, code)
        except PasskeyRejected as exc:
            return pages.render(
                request,
                "passkey_bind.html",
                status=400,
                step="code",
                code=code,
                label=label,
                error_key=f"passkey.error.{exc.code}" if exc.code else None,
            )
    return pages.render(
        request,
        "passkey_bind.html",
        step="create",
        code=passkey_bindings.normalise_code(code),
        label=_label(request, label),
        error_key=None,
    )


# --- registration ceremony ---------------------------------------------------------------------
@router.post("/passkeys/register/options")
def register_options(request: Request, body: RegisterOptionsIn, services: ServicesDep) -> JSONResponse:
    """Creation options for a new passkey: for the holder of a desk code, or a recent face login."""
    with _explained(request):
        csrf = _csrf(request)
        settings = services.settings
        with services.sessions.begin() as db:
            if body.code:
                binding = passkey_bindings.usable_binding(db, services.idp_secrets, body.code)
                identity, via, binding_id = db.get(Identity, binding.identity_id), "desk", binding.id
            else:
                session = face_session_for_binding(request, db, settings.passkey_binding_face_max_age_s)
                identity, via, binding_id = db.get(Identity, session.identity_id), "face", None
            if identity is None or identity.status != "active":
                raise PasskeyRejected("this identity cannot bind a passkey", code="register")
            options = passkey_ceremony.begin_registration(
                db,
                settings,
                services.idp_secrets,
                csrf,
                identity_id=identity.id,
                uin=identity.uin,
                display_name=_display_name(db, identity),
                bound_via=via,
                binding_id=binding_id,
                existing=passkey_registry.of(db, identity.id, include_revoked=False),
                label=_label(request, body.label),
            )
    return JSONResponse(options, headers={"Cache-Control": "no-store"})


@router.post("/passkeys/register/verify")
def register_verify(request: Request, credential: Credential, services: ServicesDep) -> JSONResponse:
    """Check the new credential and bind it; the desk code is spent now (single use)."""
    with _explained(request):
        csrf = _csrf(request)
        settings = services.settings
        with services.sessions.begin() as db:
            ceremony = passkey_ceremony.take(db, credential, passkey_ceremony.REGISTER, csrf)
        with services.sessions.begin() as db:
            identity = db.get(Identity, ceremony.identity_id)
            bound_by = None
            if ceremony.bound_via == "desk":
                # Spend the code with a conditional update: of two ceremonies racing on one code, one binds.
                spent = affected_rows(
                    db,
                    update(PasskeyBinding)
                    .where(
                        PasskeyBinding.id == ceremony.binding_id,
                        PasskeyBinding.used_at.is_(None),
                        PasskeyBinding.expires_at > utcnow(),
                    )
                    .values(used_at=utcnow()),
                )
                binding = db.get(PasskeyBinding, ceremony.binding_id)
                if spent != 1 or binding is None:
                    raise PasskeyRejected(
                        "this code has already been used or has expired; ask an officer for a new one", code="code_used"
                    )
                bound_by = passkey_bindings.officer_name(db, binding)
            else:
                session = face_session_for_binding(request, db, settings.passkey_binding_face_max_age_s)
                if session.identity_id != ceremony.identity_id:
                    raise PasskeyRejected("you are no longer logged in as the same person", code="face_needed")
            credential_data = passkey_ceremony.complete_registration(settings, ceremony, credential)
            if passkey_registry.by_credential_id(db, bytes(credential_data.credential_id)) is not None:
                raise PasskeyRejected("this passkey is already registered", code="duplicate")
            assert identity is not None  # noqa: S101 - the ceremony row references it
            row = passkey_registry.add(
                db,
                identity,
                credential_data,
                label=ceremony.label or "passkey",
                bound_via=ceremony.bound_via or "desk",
                bound_by=bound_by,
                actor=sessions.citizen(identity),
            )
            result = {
                "passkey": {"id": row.id, "label": row.label, "bound_via": row.bound_via},
                "message": i18n.translate("passkey.bind.done", pages.language(request)),
                "next": "/account" if ceremony.bound_via == "face" else "/login",
            }
    return JSONResponse(result, status_code=201, headers={"Cache-Control": "no-store"})


# --- login ceremony ----------------------------------------------------------------------------
@router.post("/login/passkey/options")
def login_options(request: Request, body: LoginOptionsIn, services: ServicesDep) -> JSONResponse:
    """Request options for a username-less passkey login (optionally inside an authorization request)."""
    with _explained(request):
        csrf = _csrf(request)
        settings = services.settings
        with services.sessions.begin() as db:
            lockout.check(db, settings, None, lockout.source_of(request, settings))
            uid = _live_interaction(db, body.interaction)
            options = passkey_ceremony.begin_login(db, settings, csrf, uid)
    return JSONResponse(options, headers={"Cache-Control": "no-store"})


class _Failure(Exception):
    """A refused login, recorded (and the passkey possibly revoked) in its own transaction."""

    def __init__(self, reason: str, code: str, identity_id: int | None = None, revoke_passkey: int | None = None):
        super().__init__(reason)
        self.reason, self.code = reason, code
        self.identity_id, self.revoke_passkey = identity_id, revoke_passkey


@router.post("/login/passkey/verify")
def login_verify(request: Request, credential: Credential, services: ServicesDep) -> JSONResponse:
    """Verify the assertion, then open the SSO session; JSON ``{"redirect": url}`` for the page to follow."""
    with _explained(request):
        csrf = _csrf(request)
        settings = services.settings
        source = lockout.source_of(request, settings)
        assertion = passkey_ceremony.parse_assertion(credential)
        try:
            with services.sessions.begin() as db:
                ceremony = passkey_ceremony.take(db, credential, passkey_ceremony.LOGIN, csrf)
        except PasskeyRejected:
            # A replayed, expired or foreign response counts against this source like a wrong key.
            _record_failure(services, _Failure("challenge_invalid", "expired"), source)
            raise
        try:
            with services.sessions.begin() as db:
                response = _login(request, db, services, ceremony, assertion, source)
            return response
        except auth_method_locks.MethodLocked as refusal:
            with services.sessions.begin() as db:
                auth_method_locks.record_refusal(db, Actor(None, f"citizen:{refusal.uin}", "citizen"), refusal)
            raise
        except _Failure as failure:
            _record_failure(services, failure, source)
            raise PasskeyRejected(f"the passkey was not accepted: {failure.reason}", code=failure.code) from None


def _login(
    request: Request,
    db: Session,
    services: IdpServices,
    ceremony: passkey_ceremony.Ceremony,
    assertion: Any,
    source: str,
) -> JSONResponse:
    settings = services.settings
    lockout.check(db, settings, None, source)
    passkey = passkey_registry.by_credential_id(db, bytes(assertion.raw_id))
    if passkey is None:
        raise _Failure("unknown_credential", "unknown_key")
    lockout.check(db, settings, passkey.identity_id, source)
    identity = db.get(Identity, passkey.identity_id)
    if passkey.revoked_at is not None:
        # Say which: a citizen whose passkey was blocked as a suspected copy must know to get help, not to retry.
        blocked = passkey.revoked_reason == passkey_registry.CLONE_SUSPECTED
        raise _Failure("passkey_revoked", "clone" if blocked else "revoked", passkey.identity_id)
    if identity is None or identity.status != "active":
        raise _Failure("identity_inactive", "failed", passkey.identity_id)
    handle = assertion.response.user_handle
    if handle is not None and bytes(handle) != passkey_ceremony.user_handle(services.idp_secrets, identity.uin):
        raise _Failure("user_handle_mismatch", "failed", identity.id)
    try:
        passkey_ceremony.refuse_other_address(settings, assertion.response.client_data)
    except PasskeyRejected as exc:
        raise _Failure("wrong_origin", "wrong_domain", identity.id) from exc
    try:
        auth_data = passkey_ceremony.verify_assertion(settings, ceremony, passkey, assertion)
    except ValueError as exc:
        raise _Failure(f"assertion_invalid: {exc}", "failed", identity.id) from exc
    # Only after the signature checks: a forged assertion must not be able to get a passkey revoked.
    if passkey_ceremony.counter_regressed(passkey.sign_count, auth_data.counter):
        raise _Failure(passkey_registry.CLONE_SUSPECTED, "clone", identity.id, revoke_passkey=passkey.id)
    first_use = passkey.last_used_at is None
    # After the signature: only the key's holder learns that its owner locked passkey login.
    auth_method_locks.refuse_if_locked(db, identity, auth_method_locks.PASSKEY)
    passkey.sign_count = auth_data.counter
    passkey.last_used_at = utcnow()
    lockout.record(db, settings, identity, source, METHOD, True)
    response = JSONResponse(
        {"redirect": sessions.after_login_url(ceremony.interaction_uid)}, headers={"Cache-Control": "no-store"}
    )
    sessions.establish(
        request,
        response,
        db,
        services,
        identity,
        PASSKEY,
        ceremony.interaction_uid,
        new_device=first_use,
        passkey=passkey.id,
    )
    return response


def _record_failure(services: IdpServices, failure: _Failure, source: str) -> None:
    """Count the failure for lockout (and revoke a suspected clone), committed before the error is raised."""
    with services.sessions.begin() as db:
        identity = db.get(Identity, failure.identity_id) if failure.identity_id else None
        if failure.revoke_passkey is not None:
            passkey = db.get(Passkey, failure.revoke_passkey)
            if passkey is not None:
                actor = audit.SYSTEM
                passkey_registry.revoke(db, passkey, actor, passkey_registry.CLONE_SUSPECTED)
                audit.record(
                    db,
                    actor,
                    "passkey.clone_suspected",
                    "identity",
                    identity.uin if identity else "?",
                    passkey=passkey.id,
                    stored_count=passkey.sign_count,
                )
        lockout.record(db, services.settings, identity, source, METHOD, False, failure.reason)


def _prune(settings: Settings, now: datetime) -> Mapping[str, Delete]:
    """Expired registration and login ceremonies."""
    return {"webauthn_challenges": delete(WebAuthnChallenge).where(WebAuthnChallenge.expires_at < now)}


# RFC 8176: a hardware-bound key ("hwk") unlocked by user verification ("user").
PASSKEY = LoginMethod(
    name=METHOD,
    acr=ACR,
    level=2,
    amr=("hwk", "user"),
    router=router,
    fragment="passkey_login_section.html",
    prune=_prune,
)
