"""Adjudicators' pages: the queue of possible duplicates, a case side by side, the decision, its change.

Decisions go through ``enrollment.adjudication.decide`` — the function the API's ``POST /v1/cases/{id}/decision``
runs — and a decided case changes only through ``enrollment.decision_change.change``, a new audited decision.
Enrolment photos (kept encrypted, ``keep_photos``) are served to adjudicators only, only while the case is
open, never cached; fingerprints appear as scores and quality figures, never as images or templates.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from civid import audit
from civid.errors import CividError, Forbidden, NotFound
from civid.input_types import PageNumber, RowIndex
from civid.keyring import Sealed
from civid.web import i18n, pages
from civid.web.csrf import check_csrf
from console.cases import view as case_view
from console.common.error_text import error_text
from console.signin.session import require_staff
from console.staff.accounts import Staff
from enrollment import adjudication, decision_change
from enrollment.schemas import DecisionIn
from enrollment.templates import photo_aad
from models import CaseStatus, DedupCase, Photo

router = APIRouter(prefix="/console/cases", include_in_schema=False)
Adjudicator = Depends(require_staff("adjudicator"))
PAGE_SIZE = 50
PROBLEMS = "cases.problem"  # a refused decision or change, by the error's code (console.common.error_text)
PHOTO_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'",
    "Content-Disposition": "inline",
}


@router.get("")
def queue(
    request: Request, status: str = CaseStatus.OPEN, page: PageNumber = 1, staff: Staff = Adjudicator
) -> Response:
    """Open cases oldest first (the longest wait on top); decided ones newest first, to review or change."""
    status = CaseStatus.DECIDED if status == CaseStatus.DECIDED else CaseStatus.OPEN
    services = request.app.state.services
    lang = pages.language(request)
    order = (
        (DedupCase.created_at, DedupCase.id)
        if status == CaseStatus.OPEN
        else (DedupCase.decided_at.desc(), DedupCase.id.desc())
    )
    with services.sessions() as db:
        total = db.scalar(select(func.count()).select_from(DedupCase).where(DedupCase.status == status)) or 0
        cases = db.scalars(
            select(DedupCase)
            .where(DedupCase.status == status)
            .order_by(*order)
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
            .options(selectinload(DedupCase.candidates), selectinload(DedupCase.enrolment))
        ).all()
        rows = [_queue_row(case, lang) for case in cases]
        audit.record(db, staff.actor("adjudicator"), "case.listed", "case", status)
        db.commit()
    return pages.render(
        request,
        "console_cases.html",
        staff=staff,
        rows=rows,
        case_status=status,
        page=page,
        pages_total=max(1, -(-total // PAGE_SIZE)),
        total=total,
    )


def _queue_row(case: DedupCase, lang: str) -> dict[str, object]:
    fused = [c.fused_llr for c in case.candidates if c.fused_llr is not None]
    best_llr = max(fused) if fused else None
    e = case.enrolment
    return {
        "id": case.public_id,
        "kind": case.kind,
        "age": case_view.age(case.created_at, lang),
        "created": case_view.when(case.created_at),
        "decided": case_view.when(case.decided_at),
        "decision": case.decision,
        "name": f"{e.given_name} {e.family_name}",
        "date_of_birth": e.date_of_birth.isoformat(),
        "candidates": len(case.candidates),
        "best_face": round(max((c.face_score for c in case.candidates), default=0.0), 4),
        "best_llr": round(best_llr, 2) if best_llr is not None else None,
        "best_words": case_view.likelihood_words(best_llr, lang) if best_llr is not None else "",
    }


def render_case(
    request: Request,
    staff: Staff,
    case_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    alert: str | None = None,
    form: dict[str, str] | None = None,
    done: str | None = None,
) -> Response:
    """The case page (with the decision form's errors and values when a submission is refused)."""
    services = request.app.state.services
    with services.sessions() as db:
        case = adjudication.load_case(db, case_id)
        view = case_view.build(db, services, case, pages.language(request))
        conflict = conflict_of_interest(case, staff)
        audit.record(db, staff.actor("adjudicator"), "case.viewed", "case", case_id)
        db.commit()
    return pages.render(
        request,
        "console_case.html",
        status=status,
        staff=staff,
        case=view,
        conflict=conflict,
        errors=errors or {},
        alert=alert,
        form=form or {},
        done=done,
    )


def conflict_of_interest(case: DedupCase, staff: Staff) -> str | None:
    """Four eyes: whoever enrolled the applicant, or is one of the candidates, does not decide the case
    (an officer who is also an adjudicator could otherwise enrol someone twice and approve it). A message key."""
    if case.enrolment.officer_id == staff.api_key_id:
        return "cases.conflict.enrolled"
    if any(c.enrolment.identity is not None and c.enrolment.identity.uin == staff.uin for c in case.candidates):
        return "cases.conflict.candidate"
    return None


def _refuse_conflicted(request: Request, case_id: str, staff: Staff) -> None:
    with request.app.state.services.sessions() as db:
        conflict = conflict_of_interest(adjudication.load_case(db, case_id), staff)
    if conflict is not None:
        raise Forbidden(i18n.translate(conflict, pages.language(request)))


@router.get("/{case_id}")
def case_page(request: Request, case_id: str, done: str | None = None, staff: Staff = Adjudicator) -> Response:
    """The applicant and every candidate side by side, the evidence in words, the decision form."""
    return render_case(request, staff, case_id, done=done if done in ("decided", "changed") else None)


@router.get("/{case_id}/photos/{enrolment_id}/{index}")
def photo(request: Request, case_id: str, enrolment_id: str, index: RowIndex, staff: Staff = Adjudicator) -> Response:
    """One kept photo of the applicant or a candidate of an OPEN case (403 once decided), never cached."""
    services = request.app.state.services
    with services.sessions() as db:
        case = adjudication.load_case(db, case_id)
        if case.status != CaseStatus.OPEN:
            raise Forbidden("photos are shown only while the case is open")
        people = {e.public_id: e for e in [case.enrolment, *(c.enrolment for c in case.candidates)]}
        enrolment = people.get(enrolment_id)
        row = (
            db.scalars(select(Photo).where(Photo.enrolment_id == enrolment.id, Photo.photo_index == index)).first()
            if enrolment is not None
            else None
        )
        if row is None:
            raise NotFound("no such photo in this case")
        data = services.keyring.open(Sealed(row.key_id, row.nonce, row.ciphertext), photo_aad(enrolment_id, index))
        # Biometric data leaving the vault: attributed like any other reading of personal data.
        audit.record(
            db,
            staff.actor("adjudicator"),
            "case.photo_viewed",
            "case",
            case_id,
            enrolment=enrolment_id,
            photo_index=index,
        )
        db.commit()
    return Response(data, media_type=row.content_type, headers=PHOTO_HEADERS)


def _decision_form(decision: str, comment: str, duplicate_of: str) -> tuple[DecisionIn | None, dict[str, str]]:
    """The submitted form as the API's ``DecisionIn``, or the field errors (as message keys)."""
    try:
        body = DecisionIn(
            decision=decision,
            comment=comment.strip(),
            duplicate_of=duplicate_of or None,
        )
        return body, {}
    except ValidationError as exc:
        fields = {str(e["loc"][0]) for e in exc.errors()}
        return None, {f: f"cases.error.{f}" for f in fields & {"decision", "comment", "duplicate_of"}}


@router.post("/{case_id}/decision")
def decide(
    request: Request,
    case_id: str,
    csrf_token: str = Form(""),
    decision: str = Form(""),
    comment: str = Form(""),
    duplicate_of: str = Form(""),
    staff: Staff = Adjudicator,
) -> Response:
    """Decide an open case (the API's function); refused input re-renders the form with its errors."""
    check_csrf(request, csrf_token)
    form = {"decision": decision, "comment": comment, "duplicate_of": duplicate_of}
    _refuse_conflicted(request, case_id, staff)
    body, errors = _decision_form(decision, comment, duplicate_of)
    if body is None:
        return render_case(request, staff, case_id, status=422, errors=errors, form=form)
    try:
        adjudication.decide(request.app.state.services, staff.actor("adjudicator"), case_id, body)
    except NotFound:
        raise
    except CividError as exc:  # already decided, several UINs and none named...: say so on the page
        return render_case(
            request,
            staff,
            case_id,
            status=exc.status,
            form=form,
            alert=error_text(exc, PROBLEMS, pages.language(request)),
        )
    return RedirectResponse(f"/console/cases/{case_id}?done=decided", status_code=303)


@router.post("/{case_id}/decision/change")
def change(
    request: Request,
    case_id: str,
    csrf_token: str = Form(""),
    decision: str = Form(""),
    comment: str = Form(""),
    duplicate_of: str = Form(""),
    confirm: str = Form(""),
    staff: Staff = Adjudicator,
) -> Response:
    """Supersede a decided case's decision with a new, audited one (the old one stays in the history)."""
    check_csrf(request, csrf_token)
    _refuse_conflicted(request, case_id, staff)
    form = {"decision": decision, "comment": comment, "duplicate_of": duplicate_of, "change": "1"}
    body, errors = _decision_form(decision, comment, duplicate_of)
    if confirm != "yes":
        errors["confirm"] = "cases.error.confirm"
    if body is None or errors:
        return render_case(request, staff, case_id, status=422, errors=errors, form=form)
    try:
        decision_change.change(request.app.state.services, staff.actor("adjudicator"), case_id, body)
    except NotFound:
        raise
    except CividError as exc:
        return render_case(
            request,
            staff,
            case_id,
            status=exc.status,
            form=form,
            alert=error_text(exc, PROBLEMS, pages.language(request)),
        )
    return RedirectResponse(f"/console/cases/{case_id}?done=changed", status_code=303)
