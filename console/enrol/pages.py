"""The officer's enrolment pages: the form, immediate quality feedback, the outcome and a printable receipt.

Submitting runs ``enrollment.workflow.enrol`` — the function the API runs — as the signed-in officer
(``staff.actor("officer")``: enrolments name the officer's actor row, ``staff.api_key_id``). The form carries
an idempotency key made when it was shown, so a double click or a resubmission enrols the person once and
lands on the same outcome. The outcome is a page of its own (post/redirect/get): reloading it enrols nothing.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from civid import audit, problems
from civid.errors import CividError, Conflict, IdempotencyKeyReused, InvalidInput, NotFound
from civid.web import i18n, pages
from civid.web.csrf import check_csrf
from console.common.auto_refresh import is_automatic, page_officer
from console.enrol import form as enrol_form
from console.enrol import quality_feedback
from console.find.pages import found_recently
from console.signin.session import require_staff
from console.staff.accounts import Staff
from enrollment import workflow
from enrollment.documents import CHECK_METHODS, DOCUMENT_TYPES
from enrollment.fingerprint import EXCEPTION_REASONS
from enrollment.guardian_proof import verify_guardian
from enrollment.present import demographics_of, enrolment_out
from enrollment.runtime import EnrolmentServices
from models import Enrolment, EnrolmentStatus

router = APIRouter(prefix="/console", include_in_schema=False)
Officer = Depends(require_staff("officer"))
OUTCOME_REFRESH_S = 2  # how often a pending_dedup outcome page reloads itself until the worker decides
KEY_PREFIX = "console:"  # the workflow's idempotency keys of console forms (batches use "batch:")


def _render_form(
    request: Request,
    staff: Staff,
    form: enrol_form.EnrolForm | None = None,
    status: int = 200,
    values: dict[str, Any] | None = None,
    problem: str | None = None,
) -> Response:
    """The enrolment form, blank or with the officer's values and the errors next to their fields."""
    return pages.render(
        request,
        "console_enrol.html",
        status=status,
        staff=staff,
        values=form.values if form else (values or enrol_form.blank_values()),
        errors=form.errors if form else {},
        files_again=bool(form and form.had_files and (form.errors or problem)),
        problem=problem,
        idempotency_key=secrets.token_urlsafe(24),
        sexes=enrol_form.SEXES,
        document_types=DOCUMENT_TYPES,
        check_methods=CHECK_METHODS,
        ages=request.app.state.services.settings.ages,
        exception_reasons=EXCEPTION_REASONS,
        finger_positions=enrol_form.FINGER_POSITIONS,
    )


@router.get("/enrol")
def enrol_page(request: Request, staff: Staff = Officer) -> Response:
    """A blank form, or (``?from=<enrolment>``) one filled with the details of this officer's earlier attempt."""
    previous = request.query_params.get("from")
    if previous:
        with request.app.state.services.sessions() as db:
            row = _enrolment(db, previous, staff)
            return _render_form(
                request, staff, values=enrol_form.values_from(demographics_of(row), list(row.fingerprints or []))
            )
    return _render_form(request, staff)


@router.post("/enrol")
async def enrol_submit(request: Request, staff: Staff = Officer) -> Response:
    """Validate, enrol through the workflow, and go to the outcome page (or back to the form with errors)."""
    services = request.app.state.services
    lang = pages.language(request)
    async with request.form(max_files=12, max_fields=100) as form:
        check_csrf(request, str(form.get("csrf_token") or ""))
        parsed = await run_in_threadpool(enrol_form.parse, form, services.settings, lang)
    if parsed.valid:
        # The verdict the page showed is enforced: a photo the quality gate refuses is not sent to the workflow,
        # which would store a rejected enrolment; the officer retakes it while the person is still there.
        await run_in_threadpool(_refuse_photo_the_gate_refuses, services, parsed, lang)
    if not parsed.valid:
        return _render_form(request, staff, parsed, status=422)
    assert parsed.demographics is not None, "a valid form has its demographics"
    key = KEY_PREFIX + parsed.idempotency_key
    actor = staff.actor("officer")
    try:
        guardian = None
        if parsed.guardian_uin:  # the guardian proves who they are first: nothing of the child is stored else
            guardian = await run_in_threadpool(
                verify_guardian,
                services,
                actor,
                parsed.demographics.date_of_birth,
                parsed.guardian_uin,
                parsed.guardian_relationship,
                parsed.guardian_photo,
                [],
            )
        enrolment = await run_in_threadpool(
            workflow.enrol,
            services,
            actor,
            parsed.demographics,
            parsed.photos,
            key,
            fingers=parsed.fingers,
            finger_exceptions=parsed.finger_exceptions,
            documents=parsed.documents,
            guardian=guardian,
        )
    except (Conflict, IntegrityError):
        # The same form sent twice at once (a double click): the other request stored it; show that one.
        stored = _by_key(services, staff, key)
        if stored is None:
            raise
        enrolment = stored
    except IdempotencyKeyReused:
        # This form's key already enrolled other details (the form sent, then changed and sent again, e.g. after
        # Back): nothing new was stored. The form shown again carries a fresh key, so sending it enrols these.
        return _render_form(
            request, staff, parsed, status=422, problem=i18n.translate("console.enrol.key_reused", lang)
        )
    except CividError as exc:  # a file the workflow could not use, a guardian refused: nothing was stored
        return _render_form(
            request,
            staff,
            parsed,
            status=exc.status,
            problem=i18n.translate("console.enrol.not_enrolled", lang, detail=_refusal_text(exc, lang)),
        )
    return RedirectResponse(f"/console/enrolments/{enrolment.public_id}", status_code=303)


def _refusal_text(exc: CividError, lang: str) -> str:
    """Why the workflow or the guardian's check refused, in ``lang``: a guardian rule by its code
    (``console.guardian.<code>``), anything else as the file errors say it."""
    key = f"console.guardian.{exc.code}"
    if exc.code and i18n.has(key):
        return i18n.translate(key, lang, **exc.params)
    return quality_feedback.named_error_text(exc, lang)


def _refuse_photo_the_gate_refuses(services: EnrolmentServices, parsed: enrol_form.EnrolForm, lang: str) -> None:
    """Put the gate's reasons on the photo field when the photo would be refused (a file that cannot be read is
    left to the workflow, which names it)."""
    photo = parsed.photos[0]
    try:
        verdict = quality_feedback.face(services, photo.data, photo.filename, photo.content_type, lang)
    except CividError:
        return
    if not verdict["passed"]:
        parsed.errors["photo"] = " ".join([verdict["summary"], *(issue["message"] for issue in verdict["issues"])])


def _by_key(services: EnrolmentServices, staff: Staff, key: str) -> Enrolment | None:
    with services.sessions() as db:
        return db.scalars(
            select(Enrolment).where(Enrolment.officer_id == staff.api_key_id, Enrolment.idempotency_key == key)
        ).first()


def _enrolment(db: Session, public_id: str, staff: Staff, *, found_too: bool = False) -> Enrolment:
    """The enrolment, if this officer made it (others get 404: another desk's applicant is not theirs to see), or,
    with ``found_too``, if this officer's desk search just found its person (console.find.pages: a lost UIN)."""
    row = db.scalars(select(Enrolment).where(Enrolment.public_id == public_id)).first()
    if row is not None and row.officer_id == staff.api_key_id:
        return row
    uin = row.identity.uin if row is not None and row.identity is not None else None
    if row is not None and found_too and row.status == EnrolmentStatus.ISSUED and found_recently(db, staff, uin):
        return row
    raise NotFound(f"no enrolment {public_id} of yours")


async def _one_file(request: Request, name: str) -> tuple[UploadFile, dict[str, str]]:
    """The single uploaded file ``name`` of a JSON quality request, read after the CSRF header is checked."""
    request.state.html_errors = False  # a script asked: errors answer as problem+json
    check_csrf(request, None)
    form = await request.form(max_files=1, max_fields=5)
    upload = form.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise InvalidInput(f"send the file as the form field {name!r}")
    return upload, {k: v for k, v in form.items() if isinstance(v, str)}


def _quality_problem(request: Request, exc: CividError, lang: str) -> Response:
    return problems.problem(
        exc.status,
        exc.title,
        exc.detail,
        exc.type_uri,
        request.url.path,
        message=quality_feedback.error_text(exc, lang),
    )


@router.post("/enrol/quality/face")
async def face_quality(request: Request, staff: Staff = Officer) -> Response:
    """JSON: is this face photo good enough? Face found, eye distance, sharpness, pose, reasons (localised)."""
    services, lang = request.app.state.services, pages.language(request)
    upload, _ = await _one_file(request, "photo")
    limit = services.settings.max_upload_bytes
    try:
        result = await run_in_threadpool(
            lambda: quality_feedback.face(
                services, upload.file.read(limit + 1), upload.filename or "photo", upload.content_type, lang
            )
        )
    except CividError as exc:
        return _quality_problem(request, exc, lang)
    return _json(result)


@router.post("/enrol/quality/finger")
async def finger_quality(request: Request, staff: Staff = Officer) -> Response:
    """JSON: this finger image's NFIQ 2 score and minutiae, and why it would be refused (localised)."""
    services, lang = request.app.state.services, pages.language(request)
    upload, fields = await _one_file(request, "finger")
    try:
        position = int(fields.get("position", ""))
        if position not in enrol_form.FINGER_POSITIONS:
            raise ValueError
    except ValueError:
        return _quality_problem(request, InvalidInput("position must be a finger position 1-10"), lang)
    limit = services.settings.max_upload_bytes
    try:
        result = await run_in_threadpool(
            lambda: quality_feedback.finger(
                services,
                position,
                upload.file.read(limit + 1),
                upload.filename or f"finger-{position}",
                upload.content_type,
                lang,
            )
        )
    except CividError as exc:
        return _quality_problem(request, exc, lang)
    return _json(result)


def _json(body: dict[str, Any]) -> Response:
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _outcome_context(request: Request, staff: Staff, public_id: str, action: str) -> dict[str, Any]:
    """The enrolment as officers see it (numbers masked, never templates), its access audited."""
    services = request.app.state.services
    lang = pages.language(request)
    with services.sessions() as db:
        found_too = action == "enrolment.receipt_printed"
        enrolment = enrolment_out(db, _enrolment(db, public_id, staff, found_too=found_too))
        if action == "enrolment.receipt_printed" and enrolment.status == EnrolmentStatus.REJECTED:
            raise Conflict(i18n.translate("console.receipt.none", lang))
        # A page reloading itself while the deduplication is pending shows nothing new: only the reload that
        # shows the outcome is a view to audit (else a long queue writes one event every few seconds).
        if not (is_automatic(request) and enrolment.status == EnrolmentStatus.PENDING_DEDUP):
            audit.record(db, staff.actor("officer"), action, "enrolment", public_id, uin=enrolment.uin)
            db.commit()
    data = enrolment.model_dump(mode="json")
    reasons = quality_feedback.explain_enrolment(
        data["rejection_reasons"], data["quality"], data["fingerprints"], services.settings, lang
    )
    return {"staff": staff, "enrolment": enrolment, "reasons": reasons}


@router.get("/enrolments/{public_id}")
def outcome(public_id: str, request: Request, staff: Staff = Depends(page_officer)) -> Response:
    """What became of an enrolment: UIN issued, case opened, or rejected with the reasons; while still being
    deduplicated, a page that reloads itself (``?auto=1``: not the officer's activity) until the outcome is known."""
    context = _outcome_context(request, staff, public_id, "enrolment.viewed")
    return pages.render(request, "console_enrolment.html", refresh_s=OUTCOME_REFRESH_S, **context)


@router.get("/enrolments/{public_id}/receipt")
def receipt(public_id: str, request: Request, staff: Staff = Officer) -> Response:
    """The receipt handed to the person: name, UIN (or 'after review'), date, officer, enrolment number."""
    context = _outcome_context(request, staff, public_id, "enrolment.receipt_printed")
    register = request.app.state.services.settings.kyc_register_name
    return pages.render(request, "console_receipt.html", register=register, **context)
