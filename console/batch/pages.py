"""Registration-drive pages: upload a ZIP of per-person packages, watch its progress (a polled <progress>
bar with JavaScript, a refreshing page without), pause or resume it, download the per-person results as CSV.

The work itself is ``enrollment.batch.jobs`` (resumable jobs) over ``enrollment.batch.archive`` (ZIP checks and
sealed packages). Progress polling does not count as activity: a desk left watching a batch still signs out
after ``console_idle_timeout_s``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from civid import audit
from civid.audit import Actor
from civid.errors import CividError, Conflict
from civid.web import i18n, pages
from civid.web.csrf import check_csrf
from console.batch import reasons as batch_reasons
from console.batch import report as batch_report
from console.common.auto_refresh import page_officer, polling_officer
from console.signin.session import require_staff
from console.staff.accounts import Staff
from enrollment.batch import archive as batch_archive
from enrollment.batch import jobs as batch_jobs
from enrollment.runtime import EnrolmentServices
from models import BatchJob, BatchRecord, BatchStatus, RecordStatus

router = APIRouter(prefix="/console", include_in_schema=False)
Officer = Depends(require_staff("officer"))
REFRESH_S = 5

EXAMPLE_PERSON = {
    "demographics": {
        "given_name": "María José",
        "family_name": "Ñúñez",
        "date_of_birth": "1988-03-14",
        "sex": "F",
        "place_of_birth": "Orange Walk Town, Belize",
        "nationality": "BLZ",
        "address": {"line1": "12 Albert Street", "locality": "Belize City", "country": "BLZ"},
    },
    "documents": [
        {
            "type": "passport",
            "number": "P01234567",
            "issuer": {"name": "Immigration Department", "country": "BLZ"},
            "date_of_expiry": "2031-05-01",
            "check_methods": ["vpip", "pvp"],
        }
    ],
    "finger_exceptions": [{"position": 7, "reason": "bandaged"}],
}


def _list_page(request: Request, staff: Staff, status: int = 200, problem: str | None = None) -> Response:
    services = request.app.state.services
    settings = services.settings
    lang = pages.language(request)
    with services.sessions() as db:
        jobs = list(
            db.scalars(
                select(BatchJob).where(BatchJob.officer_id == staff.api_key_id).order_by(BatchJob.id.desc()).limit(50)
            )
        )
        rows = [
            {
                "job": job,
                "shown": batch_jobs.shown_status(job, settings.batch_stale_after_s),
                "done": job.total - batch_jobs.counts(db, job)["pending"],
            }
            for job in jobs
        ]
    for row in rows:
        row["of"] = i18n.plural(
            "console.batch.of", row["job"].total, lang, n=row["job"].total, done=row["done"], total=row["job"].total
        )
    size = i18n.size_text
    limits = {
        "archive": size(settings.batch_max_archive_bytes, lang),
        "people": i18n.plural("console.batch.people", settings.batch_max_packages, lang, n=settings.batch_max_packages),
        "files": i18n.plural("console.batch.files", settings.batch_max_members, lang, n=settings.batch_max_members),
        "expanded": size(settings.batch_max_uncompressed_bytes, lang),
        "per_file": size(settings.max_upload_bytes, lang),
        "person": size(batch_archive.MAX_PERSON_BYTES, lang),
    }
    return pages.render(
        request,
        "console_batch.html",
        status=status,
        staff=staff,
        rows=rows,
        problem=problem,
        limits=limits,
        example=json.dumps(EXAMPLE_PERSON, indent=2, ensure_ascii=False),
    )


@router.get("/batch")
def batch_list(request: Request, staff: Staff = Officer) -> Response:
    """The upload form, what an archive must hold, and this officer's batches."""
    return _list_page(request, staff)


@router.post("/batch")
async def batch_upload(request: Request, staff: Staff = Officer) -> Response:
    """Check and store the ZIP, start processing it, and show its progress page."""
    services = request.app.state.services
    lang = pages.language(request)
    async with request.form(max_files=1, max_fields=5) as form:
        check_csrf(request, str(form.get("csrf_token") or ""))
        upload = form.get("archive")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _list_page(
                request,
                staff,
                422,
                i18n.translate("console.batch.refused", lang, detail=batch_reasons.no_archive_text(lang)),
            )
        try:
            public_id = await run_in_threadpool(
                batch_jobs.create, services, staff.actor("officer"), upload.filename, upload.file
            )
        except CividError as exc:
            return _list_page(
                request,
                staff,
                exc.status,
                i18n.translate("console.batch.refused", lang, detail=batch_reasons.problem_text(exc, lang)),
            )
    return RedirectResponse(f"/console/batch/{public_id}", status_code=303)


def _progress(db: Session, job: BatchJob, stale_after_s: int) -> dict[str, Any]:
    counts = batch_jobs.counts(db, job)
    shown = batch_jobs.shown_status(job, stale_after_s)
    return {
        "id": job.public_id,
        "status": shown,
        "total": job.total,
        "processed": job.total - counts["pending"],
        "counts": counts,
        "finished": shown == BatchStatus.COMPLETED,
    }


@router.get("/batch/{public_id}")
def batch_page(public_id: str, request: Request, staff: Staff = Depends(page_officer)) -> Response:
    """Progress, pause/resume, and the result of every package processed so far."""
    return _job_page(request, staff, public_id)


def _job_page(
    request: Request, staff: Staff, public_id: str, status: int = 200, problem: str | None = None
) -> Response:
    services = request.app.state.services
    lang = pages.language(request)
    show = request.query_params.get("show", "all")
    with services.sessions() as db:
        job = batch_jobs.owned(db, staff.actor("officer"), public_id)
        progress = _progress(db, job, services.settings.batch_stale_after_s)
        records = list(
            db.scalars(select(BatchRecord).where(BatchRecord.batch_id == job.id).order_by(BatchRecord.position))
        )
        problems = sum(r.status in RecordStatus.PROBLEMS for r in records)
        if show == "problems":  # what the officer must act on: no UIN and no case
            records = [r for r in records if r.status in RecordStatus.PROBLEMS]
        elif show in RecordStatus.FINAL or show == RecordStatus.PENDING:
            records = [r for r in records if r.status == show]
        else:
            show = "all"
        reasons = batch_reasons.reasons_by_record(db, job, records, services.settings, lang)
        candidates = batch_report.case_candidates(db, {r.case_public_id for r in records} - {None})
    of = {
        "text": i18n.plural(
            "console.batch.of", job.total, lang, n=job.total, done=progress["processed"], total=job.total
        ),
        "template": i18n.plural("console.batch.of", job.total, lang, n=job.total, done="{done}", total="{total}"),
    }
    return pages.render(
        request,
        "console_batch_job.html",
        status=status,
        staff=staff,
        job=job,
        progress=progress,
        records=records,
        reasons=reasons,
        candidates=candidates,
        show=show,
        problems=problems,
        of=of,
        refresh=progress["status"] == "running",
        refresh_s=REFRESH_S,
        problem=problem,
    )


@router.get("/batch/{public_id}/status")
def batch_status(public_id: str, request: Request, staff: Staff = Depends(polling_officer)) -> Response:
    """JSON for the progress bar: status, processed of total, records per outcome."""
    services = request.app.state.services
    with services.sessions() as db:
        job = batch_jobs.owned(db, staff.actor("officer"), public_id)
        body = _progress(db, job, services.settings.batch_stale_after_s)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def _action(
    request: Request, staff: Staff, public_id: str, action: Callable[[EnrolmentServices, Actor, str], object]
) -> Response:
    async with request.form(max_files=0, max_fields=5) as form:
        check_csrf(request, str(form.get("csrf_token") or ""))
    try:
        await run_in_threadpool(action, request.app.state.services, staff.actor("officer"), public_id)
    except Conflict as exc:
        lang = pages.language(request)
        problem = i18n.translate("console.batch.cannot", lang, detail=batch_reasons.problem_text(exc, lang))
        return _job_page(request, staff, public_id, status=409, problem=problem)
    return RedirectResponse(f"/console/batch/{public_id}", status_code=303)


@router.post("/batch/{public_id}/pause")
async def batch_pause(public_id: str, request: Request, staff: Staff = Officer) -> Response:
    """Stop after the person being enrolled now; resumable."""
    return await _action(request, staff, public_id, batch_jobs.pause)


@router.post("/batch/{public_id}/resume")
async def batch_resume(public_id: str, request: Request, staff: Staff = Officer) -> Response:
    """Go on with a paused or interrupted batch: its pending packages only, none enrolled twice."""
    return await _action(request, staff, public_id, batch_jobs.resume)


@router.get("/batch/{public_id}/report.csv")
def batch_report_csv(public_id: str, request: Request, staff: Staff = Officer) -> Response:
    """The per-package results as CSV (so far, if the batch is still running); the download is audited."""
    services = request.app.state.services
    with services.sessions() as db:
        job = batch_jobs.owned(db, staff.actor("officer"), public_id)
        body = batch_report.report_csv(db, job, services.settings, pages.language(request))
        audit.record(db, staff.actor("officer"), "batch.report_downloaded", "batch", public_id)
        db.commit()
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="batch-{public_id}.csv"', "Cache-Control": "no-store"},
    )
