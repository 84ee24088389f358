"""Adjudicators' pages for record updates (``enrollment.record_update``): the changes waiting for a second
person's approval, and one identity's versions with the pending one side by side with the record in force.

The approval and rejection go through ``record_update.approve`` / ``reject`` — what the API's
``POST /v1/identities/{uin}/record-updates/{version}/approve|reject`` runs — so the four-eyes rule (whoever
proposed a change may not approve it) holds here too; the page says so to the proposer instead of offering the
button. An auditor sees the same pages read-only. Every page view is audited, as the API's versions listing is.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from civid import audit
from civid.errors import CividError, NotFound
from civid.input_types import UinPath
from civid.web import pages
from civid.web.csrf import check_csrf
from console.common.error_text import error_text
from console.signin.session import require_staff
from console.staff.accounts import Staff
from enrollment import record_update
from models import Identity, IdentityRecordVersion, RecordVersionStatus

router = APIRouter(prefix="/console/record-updates", include_in_schema=False)
Reviewer = Depends(require_staff("adjudicator", "auditor"))
Adjudicator = Depends(require_staff("adjudicator"))
PROBLEMS = "records.problem"  # a refused approval or rejection, by the error's code (console.common.error_text)
DONE = ("approved", "rejected")


def _role(staff: Staff) -> str:
    return "adjudicator" if staff.has("adjudicator") else "auditor"


@router.get("")
def queue(request: Request, staff: Staff = Reviewer) -> Response:
    """Every version waiting for approval, the longest wait first."""
    services = request.app.state.services
    with services.sessions() as db:
        waiting = db.execute(
            select(IdentityRecordVersion, Identity.uin)
            .join(Identity, Identity.id == IdentityRecordVersion.identity_id)
            .where(IdentityRecordVersion.status == RecordVersionStatus.PENDING)
            .order_by(IdentityRecordVersion.created_at, IdentityRecordVersion.id)
        ).all()
        rows = [
            {
                "uin": uin,
                "version": row.version,
                "fields": list(row.fields),
                "proposed_by": row.created_by_name,
                "proposed": pages.when(row.created_at),
                "mine": row.created_by_id == staff.api_key_id,
            }
            for row, uin in waiting
        ]
        audit.record(db, staff.actor(_role(staff)), "identity.record_updates_listed", "identity", "pending")
        db.commit()
    return pages.render(request, "console_record_updates.html", staff=staff, rows=rows)


def _render_identity(
    request: Request, staff: Staff, uin: str, *, status: int = 200, alert: str | None = None, done: str | None = None
) -> Response:
    services = request.app.state.services
    with services.sessions() as db:
        number, listed = record_update.versions(db, uin)
        in_force = next((v for v in reversed(listed) if v.status == RecordVersionStatus.APPLIED), listed[0])
        pending = next((v for v in listed if v.status == RecordVersionStatus.PENDING), None)
        proposer_id = None
        if pending is not None:
            proposer_id = db.scalar(
                select(IdentityRecordVersion.created_by_id)
                .join(Identity, Identity.id == IdentityRecordVersion.identity_id)
                .where(Identity.uin == number, IdentityRecordVersion.version == pending.version)
            )
        audit.record(db, staff.actor(_role(staff)), "identity.record_versions_viewed", "identity", number)
        db.commit()
    return pages.render(
        request,
        "console_record_update.html",
        status,
        staff=staff,
        uin=number,
        versions=list(reversed(listed)),
        in_force=in_force,
        pending=pending,
        changes=_changes(in_force.record, pending.record, pending.fields) if pending else [],
        can_decide=staff.has("adjudicator") and pending is not None and proposer_id != staff.api_key_id,
        proposed_by_me=pending is not None and proposer_id == staff.api_key_id,
        alert=alert,
        done=done,
    )


def _changes(now: dict[str, Any], proposed: dict[str, Any], fields: list[str]) -> list[dict[str, Any]]:
    """Each changed field: its value in force and the one proposed (an address shown as one line)."""

    def shown(value: Any) -> str:
        if isinstance(value, dict):
            return ", ".join(str(v) for v in value.values() if v)
        return "" if value is None else str(value)

    return [{"field": f, "now": shown(now.get(f)), "proposed": shown(proposed.get(f))} for f in fields]


@router.get("/{uin}")
def identity_versions(request: Request, uin: UinPath, done: str | None = None, staff: Staff = Reviewer) -> Response:
    """One identity's record versions, newest first, and the pending change with its evidence."""
    return _render_identity(request, staff, uin, done=done if done in DONE else None)


@router.post("/{uin}/{version}/{decision}")
def decide(
    request: Request,
    uin: UinPath,
    version: Annotated[int, Path(ge=1, le=1_000_000)],
    decision: str,
    csrf_token: Annotated[str, Form()] = "",
    note: Annotated[str, Form(max_length=500)] = "",
    staff: Staff = Adjudicator,
) -> Response:
    """Approve or reject the pending version (a second adjudicator); a refusal is shown on the page."""
    check_csrf(request, csrf_token)
    if decision not in ("approve", "reject"):
        raise NotFound(f"no decision {decision!r}: approve or reject")
    services = request.app.state.services
    actor = staff.actor("adjudicator")
    try:
        with services.sessions.begin() as db:
            if decision == "approve":
                record_update.approve(db, services.events, actor, uin, version)
            else:
                record_update.reject(db, actor, uin, version, note.strip() or None)
    except CividError as exc:
        lang = pages.language(request)
        return _render_identity(request, staff, uin, status=exc.status, alert=error_text(exc, PROBLEMS, lang))
    return RedirectResponse(f"/console/record-updates/{uin}?done={decision}d", status_code=303)
