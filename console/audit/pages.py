"""Auditors' pages: search the audit trail, verify its hash chain, export a search as CSV, see the log's newest
signed checkpoint and verify that one event is in it (an inclusion proof checked against that checkpoint).

Search by person (UIN), officer or any actor (name contains), relying-party client, action (exact, or a
family such as ``case``) and time range (UTC); newest first, 50 a page. The trail never holds biometric
data (``civid.audit`` refuses it), so nothing here can show any. Exports and chain checks are themselves
audited, and so is a search by person: reading someone's history is reading personal data.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from civid import audit
from civid.errors import CividError, InvalidUin, NotFound
from civid.input_types import INT32_MAX, PageNumber
from civid.uin import normalise_uin
from civid.web import pages
from civid.web.csrf import check_csrf
from console.common.csv_cells import csv_cell
from console.signin.session import require_staff
from console.staff.accounts import Staff
from models import ROLES, AuditEvent, utcnow

router = APIRouter(prefix="/console/audit", include_in_schema=False)
Auditor = Depends(require_staff("auditor"))
PAGE_SIZE = 50
CSV_COLUMNS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_name",
    "actor_role",
    "action",
    "subject_type",
    "subject_id",
    "person",
    "client_id",
    "detail",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class AuditSearch:
    """The auditor's filters as typed (empty string: no filter); ``check`` validates and normalises them."""

    person: str = ""
    actor: str = ""
    client: str = ""
    action: str = ""
    since: str = ""
    until: str = ""

    def check(self) -> tuple[AuditSearch, dict[str, str]]:
        """The normalised search, and field errors as message keys."""
        errors: dict[str, str] = {}
        person = self.person.strip()
        if person:
            try:
                person = normalise_uin(person)
            except InvalidUin:
                errors["person"] = "audit.error.person"
        moments = {}
        for name in ("since", "until"):
            value = getattr(self, name).strip()
            if value and _moment(value, name) is None:
                errors[name] = "audit.error.time"
            moments[name] = value
        clean = AuditSearch(
            person, self.actor.strip(), self.client.strip(), self.action.strip(), moments["since"], moments["until"]
        )
        return clean, errors

    def query(self) -> Select[AuditEvent]:
        """Matching events, newest first (the search must have passed ``check``)."""
        query = select(AuditEvent).order_by(AuditEvent.id.desc())
        if self.person:
            query = query.where(AuditEvent.person == self.person)
        if self.actor:
            pattern = "%" + self.actor.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(func.lower(AuditEvent.actor_name).like(pattern, escape="\\"))
        if self.client:
            query = query.where(AuditEvent.client_id == self.client)
        if self.action:  # "case" finds case.decided, case.viewed...; "case.decided" only itself
            query = query.where(or_(AuditEvent.action == self.action, AuditEvent.action.startswith(self.action + ".")))
        # In UTC, the zone every time is stored in (SQLite compares the stored wall-clock text).
        since, until = _moment(self.since, "since"), _moment(self.until, "until")
        if since is not None:
            query = query.where(AuditEvent.occurred_at >= audit.as_utc(since))
        if until is not None:
            query = query.where(AuditEvent.occurred_at < audit.as_utc(until))
        return query

    def params(self, **extra: Any) -> str:
        """The search as a query string (for paging and the CSV link)."""
        return urlencode({k: v for k, v in {**asdict(self), **extra}.items() if v not in ("", None)})

    @property
    def empty(self) -> bool:
        return not any(asdict(self).values())


def _moment(value: str, name: str) -> datetime | None:
    """A typed date or date-time (UTC); a bare 'until' date includes that whole day."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if name == "until" and "T" not in value and " " not in value:
        moment += timedelta(days=1)
    return moment


def detail_text(detail: dict[str, Any]) -> str:
    """An event's detail on one line: key=value, nested values as compact JSON."""
    return ", ".join(
        f"{k}={v if isinstance(v, (str, int, float)) else json.dumps(v, ensure_ascii=False)}"
        for k, v in sorted(detail.items())
    )


def _row(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "when": audit.as_utc(event.occurred_at).strftime("%Y-%m-%d %H:%M:%S"),
        "actor": event.actor_name,
        "role": event.actor_role,
        "action": event.action,
        "subject": f"{event.subject_type} {event.subject_id}",
        "person": event.person or "",
        "client": event.client_id or "",
        "detail": detail_text(event.detail or {}),
        "hash": (event.hash or "")[:12],
    }


def _choices(db: Session) -> dict[str, list[str]]:
    """Known actions and actor names, offered as suggestions in the search form."""
    actions = db.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action).limit(300))
    # Staff and API keys only: citizens' and clients' actor names would list UINs and client ids.
    actors = db.scalars(
        select(AuditEvent.actor_name)
        .where(AuditEvent.actor_role.in_(ROLES))
        .distinct()
        .order_by(AuditEvent.actor_name)
        .limit(300)
    )
    return {"actions": list(actions), "actors": list(actors)}


def _search_form(
    person: str = "", actor: str = "", client: str = "", action: str = "", since: str = "", until: str = ""
) -> AuditSearch:
    return AuditSearch(person, actor, client, action, since, until)


def render_search(
    request: Request,
    staff: Staff,
    search: AuditSearch,
    page: int = 1,
    chain: dict[str, Any] | None = None,
    inclusion: dict[str, Any] | None = None,
) -> Response:
    """The search page: the form, and the results when the search is valid."""
    clean, errors = search.check()
    page = max(page, 1)
    rows: list[dict[str, Any]] = []
    total = 0
    with request.app.state.services.sessions() as db:
        if not errors:
            query = clean.query()
            total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
            rows = [_row(e) for e in db.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))]
            if clean.person:
                audit.record(
                    db, staff.actor("auditor"), "audit.searched", "audit", "search", uin=clean.person, results=total
                )
                db.commit()
        choices = _choices(db)
    checkpoint = request.app.state.services.audit_log.latest_checkpoint()
    status = 422 if errors or (inclusion and inclusion.get("invalid")) else 200
    return pages.render(
        request,
        "console_audit.html",
        status=status,
        staff=staff,
        search=search if errors else clean,
        errors=errors,
        rows=rows,
        total=total,
        page=page,
        pages_total=max(1, -(-total // PAGE_SIZE)),
        chain=chain,
        choices=choices,
        checkpoint=checkpoint,
        inclusion=inclusion,
    )


@router.get("")
def search_page(
    request: Request, page: PageNumber = 1, search: AuditSearch = Depends(_search_form), staff: Staff = Auditor
) -> Response:
    """Search the trail (newest first); with no filter, the latest events."""
    return render_search(request, staff, search, page)


@router.post("/verify")
def verify(
    request: Request,
    csrf_token: str = Form(""),
    person: str = Form(""),
    actor: str = Form(""),
    client: str = Form(""),
    action: str = Form(""),
    since: str = Form(""),
    until: str = Form(""),
    staff: Staff = Auditor,
) -> Response:
    """Walk the whole hash chain: intact, or the first event whose content or link was altered."""
    check_csrf(request, csrf_token)
    request.app.state.services.audit_log.sequencer.now()  # every committed event linked before the walk
    with request.app.state.services.sessions() as db:
        checked, broken = audit.verify_chain(db)
        broken_row = _row(db.get(AuditEvent, broken)) if broken is not None else None
        audit.record(
            db,
            staff.actor("auditor"),
            "audit.chain_verified",
            "audit",
            "chain",
            events_checked=checked,
            intact=broken is None,
            first_broken_event=broken,
        )
        db.commit()
    chain = {"checked": checked, "intact": broken is None, "broken": broken_row}
    return render_search(request, staff, AuditSearch(person, actor, client, action, since, until), chain=chain)


@router.post("/inclusion")
def inclusion(
    request: Request, csrf_token: str = Form(""), event_id: str = Form(""), staff: Staff = Auditor
) -> Response:
    """Prove one event is in the log, and check the proof against the newest checkpoint and the audit key."""
    check_csrf(request, csrf_token)
    services = request.app.state.services
    text = event_id.strip()
    if not text.isdigit() or not 1 <= int(text) <= INT32_MAX:
        result: dict[str, Any] = {"invalid": True, "key": "audit.inclusion.invalid_id"}
        return render_search(request, staff, AuditSearch(), inclusion=result)
    number = int(text)
    try:
        proof = services.audit_log.inclusion(number)
        signed = services.audit_log.check_note(proof.checkpoint or "")
        holds = proof.holds() and (signed.size, signed.root) == (proof.tree_size, proof.root)
        result = {"key": "audit.inclusion.ok" if holds else "audit.inclusion.failed", "ok": holds}
        result.update(id=number, leaf=proof.leaf_index, size=proof.tree_size)
    except NotFound:
        result = {"key": "audit.inclusion.not_found", "ok": False, "id": number}
    except CividError:  # a checkpoint the audit key did not sign is a failed proof, shown as such
        result = {"key": "audit.inclusion.failed", "ok": False, "id": number}
    with services.sessions.begin() as db:
        audit.record(
            db, staff.actor("auditor"), "audit.inclusion_checked", "audit_event", str(number), included=result["ok"]
        )
    return render_search(request, staff, AuditSearch(), inclusion=result)


@router.get("/export.csv")
def export(request: Request, search: AuditSearch = Depends(_search_form), staff: Staff = Auditor) -> Response:
    """The current search, every matching event (not only one page), as CSV."""
    clean, errors = search.check()
    if errors:
        return render_search(request, staff, search)
    services = request.app.state.services
    with services.sessions() as db:
        total = db.scalar(select(func.count()).select_from(clean.query().order_by(None).subquery())) or 0
        filters = {k: v for k, v in asdict(clean).items() if v and k != "person"}
        audit.record(
            db,
            staff.actor("auditor"),
            "audit.exported",
            "audit",
            "export",
            rows=total,
            filters=filters,
            **({"uin": clean.person} if clean.person else {}),
        )
        db.commit()
    stamp = utcnow().strftime("%Y%m%d-%H%M%SZ")
    return StreamingResponse(
        _csv_lines(services, clean),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="civid-audit-{stamp}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _csv_lines(services: Any, search: AuditSearch) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + flush()  # a byte-order mark: spreadsheets then read the accents right
    with services.sessions() as db:
        for event in db.scalars(search.query().execution_options(yield_per=1000)):
            writer.writerow(
                [
                    csv_cell(v)
                    for v in (
                        event.id,
                        audit.as_utc(event.occurred_at).isoformat(),
                        event.actor_id,
                        event.actor_name,
                        event.actor_role,
                        event.action,
                        event.subject_type,
                        event.subject_id,
                        event.person,
                        event.client_id,
                        json.dumps(event.detail, ensure_ascii=False, sort_keys=True),
                        event.prev_hash,
                        event.hash,
                    )
                ]
            )
            if buffer.tell() > 64 * 1024:
                yield flush()
    yield flush()
