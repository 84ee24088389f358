"""The resident's "My data": everything civid holds about them as a JSON download and as a readable PDF, each
assembled from the features that hold it (``idp.resident_data``). Biometric templates and photos are described
(modality, finger position, date, what they serve), never exported; no other person's data (officers appear by
role only).

Needs a login session, and a recent one: the whole record is worth more to a thief of an unlocked browser than
any one page, so a session older than ``resident_data_login_max_age_s`` is sent to sign in again (a fresh login
then leads back to /account). Every download is audited with the resident as the actor.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from civid import audit
from civid.web import pages
from idp import sessions
from idp.account_history import LOGIN_PAGE, ServicesDep, SourcesDep
from idp.my_data_pdf import render_pdf
from idp.resident_data import ResidentData
from idp.runtime import IdpServices
from idp.sessions import signed_in
from models import Identity, LoginSession, utcnow

router = APIRouter(dependencies=[Depends(pages.html_page)])
FORMAT_VERSION = 1


def _document(sections: dict[str, Any]) -> dict[str, Any]:
    header = {"format": "civid-resident-data", "version": FORMAT_VERSION, "generated_at": utcnow().isoformat()}
    return {**header, **sections}


def _is_recent(session: LoginSession, max_age_s: int) -> bool:
    """Whether the login is recent enough to download a whole record (``resident_data_login_max_age_s``)."""
    return utcnow() - audit.as_utc(session.auth_time) <= timedelta(seconds=max_age_s)


# Whose record a download is of, given the signed-in resident: themselves, or a child they act for (which may
# refuse: idp.account_children).
Subject = Callable[[Session, Identity], Identity]


def download(
    request: Request, services: IdpServices, sources: ResidentData, kind: str, action: str, subject: Subject
) -> Response:
    """``subject``'s data as ``kind`` (json | pdf) for the signed-in resident, audited as ``action`` with the
    resident as the actor; a redirect to sign in (again) without a login recent enough."""
    with services.sessions.begin() as db:
        found = signed_in(request, db)
        if found is None:
            return RedirectResponse(LOGIN_PAGE, status_code=303)
        session, resident = found
        if not _is_recent(session, services.settings.resident_data_login_max_age_s):
            return RedirectResponse(LOGIN_PAGE, status_code=303)
        person = subject(db, resident)
        document = sources.export(db, person)
        audit.record(db, sessions.citizen(resident), action, "identity", person.uin, format=kind)
    return _data_response(request, document, person.uin, kind)


def _themselves(db: Session, resident: Identity) -> Identity:
    return resident


def _download(request: Request, services: IdpServices, sources: ResidentData, kind: str) -> Response:
    return download(request, services, sources, kind, "account.data_downloaded", _themselves)


def _data_response(request: Request, sections: dict[str, Any], uin: str, kind: str) -> Response:
    """One person's exported ``sections`` as the ``kind`` (json | pdf) attachment, never cached."""
    document = _document(sections)
    headers = {
        "Content-Disposition": f'attachment; filename="civid-my-data-{uin}.{kind}"',
        "Cache-Control": "no-store",
    }
    if kind == "pdf":
        return Response(render_pdf(document, pages.language(request)), media_type="application/pdf", headers=headers)
    body = json.dumps(document, ensure_ascii=False, indent=2)
    return Response(body, media_type="application/json", headers=headers)


@router.get("/account/my-data.json")
def my_data_json(request: Request, services: ServicesDep, sources: SourcesDep) -> Response:
    """Everything civid holds about the signed-in resident, as JSON (an attachment)."""
    return _download(request, services, sources, "json")


@router.get("/account/my-data.pdf")
def my_data_pdf(request: Request, services: ServicesDep, sources: SourcesDep) -> Response:
    """The same, as a readable PDF in the resident's language."""
    return _download(request, services, sources, "pdf")
