"""The officer's "find a person" page: someone who lost their UIN stands at the desk. The officer takes their
photo and types the family name or date of birth they state; ``enrollment.uin_recovery.find_at_desk`` (what the
API's ``POST /v1/identities/find`` runs) shows only the candidates those agree with, and the officer reprints the
receipt of the one who is the person in front of them.

A receipt is otherwise reprinted only by the officer who enrolled the person (``console.enrol.pages``); here,
the officer who found the person may reprint it for ``REPRINT_WINDOW`` after the search, which the audit trail
shows (``identity.found_at_desk`` names the UINs found), so a reprint is always traceable to a search.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid.errors import CividError
from civid.web import i18n, pages
from civid.web.csrf import check_csrf
from console.common.error_text import error_text
from console.signin.session import require_staff
from console.staff.accounts import Staff
from enrollment.routes import read_upload
from enrollment.uin_recovery import find_at_desk
from models import AuditEvent, utcnow

router = APIRouter(prefix="/console", include_in_schema=False)
Officer = Depends(require_staff("officer"))
REPRINT_WINDOW = timedelta(minutes=30)
PROBLEMS = "find.problem"


def found_recently(db: Session, staff: Staff, uin: str | None) -> bool:
    """Whether this officer's desk search found ``uin`` within the reprint window."""
    if uin is None:
        return False
    searches = db.scalars(
        select(AuditEvent.detail).where(
            AuditEvent.action == "identity.found_at_desk",
            AuditEvent.actor_id == staff.api_key_id,
            AuditEvent.occurred_at >= utcnow() - REPRINT_WINDOW,
        )
    )
    return any(uin in (detail or {}).get("uins", []) for detail in searches)


def _render(request: Request, staff: Staff, status: int = 200, **context: Any) -> Response:
    return pages.render(request, "console_find.html", status, staff=staff, **context)


@router.get("/find")
def find_form(request: Request, staff: Staff = Officer) -> Response:
    """The search form: a photo, and the family name or date of birth the person states."""
    return _render(request, staff, values={})


@router.post("/find")
def find(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    family_name: Annotated[str, Form(max_length=100)] = "",
    date_of_birth: Annotated[str, Form(max_length=10)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
    staff: Staff = Officer,
) -> Response:
    """Search; show the candidates the stated demographics agree with."""
    check_csrf(request, csrf_token)
    services = request.app.state.services
    lang = pages.language(request)
    values = {"family_name": family_name, "date_of_birth": date_of_birth}
    try:
        born = date.fromisoformat(date_of_birth) if date_of_birth.strip() else None
    except ValueError:
        return _render(request, staff, 422, values=values, alert=i18n.translate(f"{PROBLEMS}.date_invalid", lang))
    upload = read_upload(photo, services.settings.max_upload_bytes) if photo is not None and photo.filename else None
    try:
        matches = find_at_desk(services, staff.actor("officer"), upload, [], family_name, born)
    except CividError as exc:
        return _render(request, staff, exc.status, values=values, alert=error_text(exc, PROBLEMS, lang))
    return _render(request, staff, values=values, matches=matches, searched=True)
