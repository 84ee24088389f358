"""``/recover-uin``: a person who lost their UIN proves who they are online — a face photo and their date of
birth — and the UIN is sent to the email or phone on their record (``enrollment.uin_recovery``), never shown.

Whatever happened (found, not found, two people, no contact on the record, a photo file already spent), the page
answers the same sentence with the same status, and every attempt counts the same against the source, so neither
the page nor the lockout's timing reveals a UIN or whether a face is enrolled. Guarded as face login is: the CSRF
token, a matched photo file spent (``FaceProbe``: sent again, it is not compared and nothing is sent), attempts
counted per source (``idp.lockout``: a sender of many faces is locked out), a photo the quality gate refuses
explained and not counted.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from civid.deps import get_services
from civid.errors import CividError
from civid.web import pages
from civid.web.csrf import check_csrf
from enrollment.uin_recovery import recover_online
from enrollment.workflow import PhotoUpload
from idp import lockout
from idp.face_login import photo_problem
from idp.runtime import IdpServices
from models import FaceProbe

router = APIRouter(dependencies=[Depends(pages.html_page)])
ServicesDep = Annotated[IdpServices, Depends(get_services)]
METHOD = "uin_recovery"


def _form(request: Request, error: str | None = None, status: int = 200, **values: Any) -> Response:
    return pages.render(request, "uin_recovery.html", status, error=error, **values)


@router.get("/recover-uin")
def recover_form(request: Request) -> Response:
    """The form: a face photo and the date of birth."""
    return _form(request)


@router.post("/recover-uin")
def recover(
    request: Request,
    services: ServicesDep,
    csrf_token: Annotated[str, Form()] = "",
    date_of_birth: Annotated[str, Form()] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Check the face and date of birth; send the UIN to the record's contacts if they name one person."""
    settings = services.settings
    check_csrf(request, csrf_token)
    source = lockout.source_of(request, settings)
    with services.sessions() as db:
        lockout.check(db, settings, None, source)  # a 429 page with Retry-After before anything is compared
    try:
        born = date.fromisoformat(date_of_birth.strip())
    except ValueError:
        return _form(request, "recover.date_invalid", 422, date_of_birth=date_of_birth)
    data = photo.file.read(settings.max_upload_bytes + 1) if photo is not None else b""
    if photo is None or not data:
        return _form(request, "face.photo_missing", 422, date_of_birth=date_of_birth)
    photo_hash = hashlib.sha256(data).hexdigest()
    with services.sessions() as db:
        replayed = db.scalar(select(FaceProbe.id).where(FaceProbe.photo_hash == photo_hash)) is not None
    found = None
    if not replayed:  # a file already spent is not compared again, and is answered like any other attempt
        upload = PhotoUpload(data, photo.filename or "photo", photo.content_type)
        try:
            found = recover_online(services, upload, born)
        except CividError as exc:  # the quality gate: explained, not counted (as face login: idp.face_login)
            return _form(request, photo_problem(exc), 422, date_of_birth=date_of_birth)
    # Every compared (or replayed) attempt counts against the source the same way, found or not: a lockout
    # that counted only misses would tell a stranger, by when it comes, which photo matched.
    with services.sessions.begin() as db:
        lockout.record(db, settings, None, source, METHOD, False, "uin_recovery_attempt")
    if found is not None:
        try:
            with services.sessions.begin() as db:
                db.add(FaceProbe(photo_hash=photo_hash, identity_id=found))  # the matched file is spent
        except IntegrityError:
            pass  # the same file sent twice at once: spent by the other request
    return pages.render(request, "uin_recovery_sent.html")
