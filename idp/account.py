"""The citizen's account page: their passkeys (add, revoke), the consents they gave portals (revoke), and the
sections the claims extensions add (kyc: who received their data, ``kyc.citizen_view``).

Needs a login session (otherwise to the login page). Every change is a POST with the CSRF token, answered
with a redirect back to the page (post/redirect/get), and audited with the citizen as the actor.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.deps import get_services
from civid.errors import NotFound
from civid.input_types import RowId
from civid.web import i18n, pages
from civid.web.csrf import check_csrf
from idp import (
    account_children,
    account_locks,
    account_vids,
    claims,
    consent,
    passkey_bindings,
    passkey_registry,
    sessions,
)
from idp.claims_extensions import ClaimsExtensions, from_request
from idp.consent_page import CLAIM_ITEMS
from idp.runtime import IdpServices
from models import Client, Consent, Identity, LoginSession, Passkey, utcnow

router = APIRouter(dependencies=[Depends(pages.html_page)])
ServicesDep = Annotated[IdpServices, Depends(get_services)]
ExtensionsDep = Annotated[ClaimsExtensions, Depends(from_request)]
LOGIN_PAGE = "/login"
NOTICES = ("passkey_added", "passkey_revoked", "consent_revoked", *account_locks.NOTICES, *account_vids.NOTICES)
_Row = TypeVar("_Row", Passkey, Consent)  # a row a citizen owns (``identity_id``)


def _theirs(row: _Row | None, identity: Identity, what: str) -> _Row:
    """``row`` when it is the signed-in citizen's own; another's is answered as if it did not exist."""
    if row is None or row.identity_id != identity.id:
        raise NotFound(f"no such {what} on your account")
    return row


def _can_bind_online(session: LoginSession, max_age_s: int) -> bool:
    """Same rule as the registration endpoint (idp.passkeys): a face login at most ``max_age_s`` old."""
    recent = utcnow() - audit.as_utc(session.auth_time) <= timedelta(seconds=max_age_s)
    return "face" in (session.amr or []) and recent


def _claim_items(names: list[str], lang: str, extensions: ClaimsExtensions) -> list[str]:
    """The consented claims in the consent page's plain words (``idp.consent_page.CLAIM_ITEMS``, and the
    extensions' consent-page sections for their consent names), never the internal names."""
    asked = set(names)
    shown = [i18n.translate(key, lang) for key, members in CLAIM_ITEMS if members & asked]
    if "uin" in asked:
        shown.append(i18n.translate("consent.claim.uin", lang))
    for section in extensions.consent_sections(frozenset(asked)):
        title = i18n.translate(section.title, lang)
        shown += [f"{title}: {i18n.translate(key, lang)}" for key in section.items]
    known = set().union(*(members for _, members in CLAIM_ITEMS)) | {"uin"}
    return shown + sorted(name for name in asked - known if not extensions.owns_consent_name(name))


def _consent_rows(db: Session, identity_id: int) -> list[dict[str, object]]:
    now = utcnow()
    rows: list[dict[str, object]] = []
    for row in consent.consents_of(db, identity_id):
        client = db.scalars(select(Client).where(Client.client_id == row.client_id)).first()
        expired = audit.as_utc(row.expires_at) <= now
        status = "revoked" if row.revoked_at else "expired" if expired else "active"
        rows.append(
            {
                "uid": row.uid,
                "client": client.name if client else row.client_id,
                "claims": row.claims,
                "scopes": row.scopes,
                "granted": pages.when(row.granted_at),
                "expires": pages.when(row.expires_at),
                "revoked": pages.when(row.revoked_at),
                "status": status,
            }
        )
    return rows


def _passkey_rows(db: Session, identity_id: int) -> list[dict[str, object]]:
    return [
        {
            "id": row.id,
            "label": row.label,
            "bound_via": row.bound_via,
            "created": pages.when(row.created_at),
            "last_used": pages.when(row.last_used_at),
            "revoked": pages.when(row.revoked_at),
            "revoked_reason": row.revoked_reason,
        }
        for row in passkey_registry.of(db, identity_id)
    ]


@router.get("/account")
def account_page(request: Request, services: ServicesDep, extensions: ExtensionsDep) -> Response:
    """The citizen's passkeys and consents, with the forms to change them."""
    with services.sessions() as db:
        signed_in = sessions.signed_in(request, db)
        if signed_in is None:
            return RedirectResponse(LOGIN_PAGE, status_code=303)
        session, identity = signed_in
        done = request.query_params.get("done")
        lang = pages.language(request)
        return pages.render(
            request,
            "account.html",
            name=claims.claim_values(db, identity).get("name") or identity.uin,
            method=session.amr,
            auth_time=pages.when(session.auth_time),
            passkeys=_passkey_rows(db, identity.id),
            consents=_consent_rows(db, identity.id),
            auth_methods=account_locks.rows(db, identity.id),
            unlock_durations=services.settings.auth_method_unlock_durations_s,
            vids=account_vids.rows(db, identity.id),
            children=account_children.rows(db, identity, services.settings.ages),
            vid_minutes=services.settings.vid_temporary_ttl_s // 60,
            notice=done if done in NOTICES else None,
            extension_sections=extensions.account_sections(db, identity.id, lang),
            can_bind=_can_bind_online(session, services.settings.passkey_binding_face_max_age_s)
            and not passkey_bindings.has_staff_account(db, identity),
            claim_items=lambda names: _claim_items(names, pages.language(request), extensions),
        )


@router.post("/account/passkeys/{passkey_id}/revoke")
def revoke_passkey(
    request: Request, passkey_id: RowId, services: ServicesDep, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """The citizen revokes one of their passkeys (a lost or replaced device)."""
    check_csrf(request, csrf_token)
    with services.sessions.begin() as db:
        signed_in = sessions.signed_in(request, db)
        if signed_in is None:
            return RedirectResponse(LOGIN_PAGE, status_code=303)
        _, identity = signed_in
        row = _theirs(db.get(Passkey, passkey_id), identity, "passkey")
        passkey_registry.revoke(db, row, sessions.citizen(identity), "revoked by the citizen")
    return RedirectResponse("/account?done=passkey_revoked", status_code=303)


@router.post("/account/consents/{consent_uid}/revoke")
def revoke_consent(
    request: Request, consent_uid: str, services: ServicesDep, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """The citizen withdraws a consent: the portal gets nothing more, and its tokens stop working."""
    check_csrf(request, csrf_token)
    with services.sessions.begin() as db:
        signed_in = sessions.signed_in(request, db)
        if signed_in is None:
            return RedirectResponse(LOGIN_PAGE, status_code=303)
        _, identity = signed_in
        row = _theirs(db.scalars(select(Consent).where(Consent.uid == consent_uid)).first(), identity, "consent")
        if row.revoked_at is None:
            consent.revoke_consent(db, row, sessions.citizen(identity))
    return RedirectResponse("/account?done=consent_revoked", status_code=303)
