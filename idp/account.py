"""The citizen's account page: their passkeys (add, revoke), the consents they gave portals (revoke), and
who received their data (releases and KYC attestations: ``kyc.citizen_view``).

Needs a login session (otherwise to the login page). Every change is a POST with the CSRF token, answered
with a redirect back to the page (post/redirect/get), and audited with the citizen as the actor.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.deps import get_services
from civid.errors import NotFound
from civid.input_types import RowId
from idp.runtime import IdpServices
from idp import claims, consent, i18n, pages, passkey_bindings, passkey_registry, sessions
from idp.consent_page import CLAIM_ITEMS, verified_items
from kyc import citizen_view
from kyc.verified_claims_request import CONSENT_PREFIX
from models import Client, Consent, Identity, LoginSession, Passkey, utcnow

router = APIRouter(dependencies=[Depends(pages.html_page)])
ServicesDep = Annotated[IdpServices, Depends(get_services)]
LOGIN_PAGE = "/login"
NOTICES = ("passkey_added", "passkey_revoked", "consent_revoked")


def _session(request: Request, db: Session) -> LoginSession | None:
    return sessions.current(request, db)


def _can_bind_online(session: LoginSession, max_age_s: int) -> bool:
    """Same rule as the registration endpoint (idp.passkeys): a face login at most ``max_age_s`` old."""
    recent = utcnow() - audit.as_utc(session.auth_time) <= timedelta(seconds=max_age_s)
    return "face" in (session.amr or []) and recent


def _claim_items(names: list[str], lang: str) -> list[str]:
    """The consented claims in the consent page's plain words (``idp.consent_page.CLAIM_ITEMS``, and its
    verified-data section for ``verified_claims:…`` names), never the internal names."""
    asked = set(names)
    shown = [i18n.translate(key, lang) for key, members in CLAIM_ITEMS if members & asked]
    if "uin" in asked:
        shown.append(i18n.translate("consent.claim.uin", lang))
    verified = verified_items(frozenset(asked))
    if verified:
        title = i18n.translate("consent.verified.title", lang)
        shown += [f"{title}: {i18n.translate(key, lang)}" for key in verified]
    known = set().union(*(members for _, members in CLAIM_ITEMS)) | {"uin"}
    return shown + sorted(name for name in asked - known if not name.startswith(CONSENT_PREFIX))


def _consent_rows(db: Session, identity_id: int) -> list[dict[str, object]]:
    now = utcnow()
    rows = []
    for row in consent.consents_of(db, identity_id):
        client = db.scalars(select(Client).where(Client.client_id == row.client_id)).first()
        expired = audit.as_utc(row.expires_at) <= now
        status = "revoked" if row.revoked_at else "expired" if expired else "active"
        rows.append({"uid": row.uid, "client": client.name if client else row.client_id, "claims": row.claims,
                     "scopes": row.scopes, "granted": pages.when(row.granted_at), "expires": pages.when(row.expires_at),
                     "revoked": pages.when(row.revoked_at), "status": status})
    return rows


def _passkey_rows(db: Session, identity_id: int) -> list[dict[str, object]]:
    return [{"id": row.id, "label": row.label, "bound_via": row.bound_via, "created": pages.when(row.created_at),
             "last_used": pages.when(row.last_used_at), "revoked": pages.when(row.revoked_at),
             "revoked_reason": row.revoked_reason} for row in passkey_registry.of(db, identity_id)]


@router.get("/account")
def account_page(request: Request, services: ServicesDep) -> Response:
    """The citizen's passkeys and consents, with the forms to change them."""
    with services.sessions() as db:
        session = _session(request, db)
        if session is None:
            return RedirectResponse(LOGIN_PAGE, status_code=303)
        identity = db.get(Identity, session.identity_id)
        assert identity is not None  # noqa: S101 - a session references its identity
        done = request.query_params.get("done")
        lang = pages.language(request)
        return pages.render(
            request, "account.html", name=claims.claim_values(db, identity).get("name") or identity.uin,
            method=session.amr, auth_time=pages.when(session.auth_time), passkeys=_passkey_rows(db, identity.id),
            consents=_consent_rows(db, identity.id), notice=done if done in NOTICES else None,
            releases=citizen_view.release_rows(db, identity.id, lang),
            attestations=citizen_view.attestation_rows(db, identity.id, lang),
            can_bind=_can_bind_online(session, services.settings.passkey_binding_face_max_age_s)
            and not passkey_bindings.has_staff_account(db, identity),
            claim_items=lambda names: _claim_items(names, pages.language(request)))


@router.post("/account/passkeys/{passkey_id}/revoke")
def revoke_passkey(request: Request, passkey_id: RowId, services: ServicesDep,
                   csrf_token: Annotated[str, Form()] = "") -> Response:
    """The citizen revokes one of their passkeys (a lost or replaced device)."""
    sessions.check_csrf(request, csrf_token)
    with services.sessions.begin() as db:
        session = _session(request, db)
        if session is None:
            return RedirectResponse(LOGIN_PAGE, status_code=303)
        row = db.get(Passkey, passkey_id)
        if row is None or row.identity_id != session.identity_id:
            raise NotFound("no such passkey on your account")
        identity = db.get(Identity, session.identity_id)
        assert identity is not None  # noqa: S101
        passkey_registry.revoke(db, row, sessions.citizen(identity), "revoked by the citizen")
    return RedirectResponse("/account?done=passkey_revoked", status_code=303)


@router.post("/account/consents/{consent_uid}/revoke")
def revoke_consent(request: Request, consent_uid: str, services: ServicesDep,
                   csrf_token: Annotated[str, Form()] = "") -> Response:
    """The citizen withdraws a consent: the portal gets nothing more, and its tokens stop working."""
    sessions.check_csrf(request, csrf_token)
    with services.sessions.begin() as db:
        session = _session(request, db)
        if session is None:
            return RedirectResponse(LOGIN_PAGE, status_code=303)
        row = db.scalars(select(Consent).where(Consent.uid == consent_uid)).first()
        if row is None or row.identity_id != session.identity_id:
            raise NotFound("no such consent on your account")
        identity = db.get(Identity, session.identity_id)
        assert identity is not None  # noqa: S101
        if row.revoked_at is None:
            consent.revoke_consent(db, row, sessions.citizen(identity))
    return RedirectResponse("/account?done=consent_revoked", status_code=303)


i18n.register({
    "account.title": {"en": "Your account", "es": "Su cuenta"},
    "account.signed_in_as": {"en": "Signed in as {name}.", "es": "Sesión iniciada como {name}."},
    "account.logout": {"en": "Sign out", "es": "Cerrar sesión"},
    "account.passkeys": {"en": "Your passkeys", "es": "Sus llaves de acceso"},
    "account.passkeys.none": {"en": "You have no passkey yet.", "es": "Todavía no tiene ninguna llave de acceso."},
    "account.passkey.name": {"en": "Name", "es": "Nombre"},
    "account.passkey.created": {"en": "Added", "es": "Agregada"},
    "account.passkey.last_used": {"en": "Last used", "es": "Último uso"},
    "account.passkey.how": {"en": "How it was added", "es": "Cómo se agregó"},
    "account.passkey.never": {"en": "Never", "es": "Nunca"},
    "account.passkey.via.desk": {"en": "At an enrolment desk", "es": "En una oficina de registro"},
    "account.passkey.via.face": {"en": "Online, after a face check", "es": "En línea, tras verificar su rostro"},
    "account.passkey.revoked": {"en": "Revoked {when}", "es": "Revocada el {when}"},
    "account.passkey.revoked.clone": {"en": "Blocked {when}: it may have been copied",
                                      "es": "Bloqueada el {when}: pudo haber sido copiada"},
    "account.passkey.revoke": {"en": "Revoke", "es": "Revocar"},
    "account.passkey.revoke_named": {"en": "Revoke the passkey “{label}”", "es": "Revocar la llave de acceso «{label}»"},
    "account.add": {"en": "Add a passkey", "es": "Agregar una llave de acceso"},
    "account.add.hint": {"en": "Save a passkey on this device to sign in with your fingerprint, face or PIN.",
                         "es": "Guarde una llave de acceso en este dispositivo para iniciar sesión con su huella, "
                               "rostro o PIN."},
    "account.add.button": {"en": "Add a passkey on this device", "es": "Agregar una llave de acceso en este dispositivo"},
    "account.add.face_needed": {
        "en": "To add a passkey online, civid must check your face first (within the last few minutes). Sign in "
              "again with your face, then come back here. You can also ask an officer at an enrolment desk.",
        "es": "Para agregar una llave de acceso en línea, civid debe verificar antes su rostro (en los últimos "
              "minutos). Inicie sesión de nuevo con su rostro y vuelva aquí. También puede acudir a una oficina."},
    "account.add.face_link": {"en": "Sign in with your face", "es": "Iniciar sesión con su rostro"},
    "account.consents": {"en": "Services you allowed to see your data", "es": "Servicios a los que permitió ver sus datos"},
    "account.consents.none": {"en": "You have not allowed any service yet.", "es": "Todavía no ha autorizado a ningún servicio."},
    "account.consent.service": {"en": "Service", "es": "Servicio"},
    "account.consent.data": {"en": "Data shared", "es": "Datos compartidos"},
    "account.consent.granted": {"en": "Allowed", "es": "Autorizado"},
    "account.consent.expires": {"en": "Until", "es": "Hasta"},
    "account.consent.status.active": {"en": "Active", "es": "Activo"},
    "account.consent.status.revoked": {"en": "Withdrawn", "es": "Retirado"},
    "account.consent.status.expired": {"en": "Expired", "es": "Caducado"},
    "account.consent.revoke": {"en": "Withdraw", "es": "Retirar"},
    "account.consent.revoke_named": {"en": "Withdraw consent for {client}", "es": "Retirar el permiso de {client}"},
    "account.status": {"en": "Status", "es": "Estado"},
    "account.actions": {"en": "Actions", "es": "Acciones"},
    "account.done.passkey_added": {"en": "Your passkey was added.", "es": "Se agregó su llave de acceso."},
    "account.done.passkey_revoked": {"en": "The passkey was revoked. It can no longer be used to sign in.",
                                     "es": "La llave de acceso fue revocada. Ya no sirve para iniciar sesión."},
    "account.done.consent_revoked": {
        "en": "Consent withdrawn. The service can no longer get your data, and its sign-in tokens stopped working.",
        "es": "Permiso retirado. El servicio ya no puede obtener sus datos y sus credenciales dejaron de funcionar."},
})
