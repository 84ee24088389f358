"""The resident's authentication history on their account page: every login, verification, release and consent
that concerned them (when, what, which portal or bank, which method, how it ended), newest first, and its export
as CSV. The entries come from the features that hold them (``idp.resident_data``).

Needs a login session, like /account. The page shows the newest ``HISTORY_LIMIT`` entries and says so; the
export holds up to ``EXPORT_LIMIT``. Every export is audited with the resident as the actor.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from civid import audit
from civid.deps import get_services
from civid.web import i18n, pages
from idp import sessions
from idp.resident_data import EXPORT_LIMIT, HISTORY_LIMIT, HistoryEntry, ResidentData, from_request
from idp.runtime import IdpServices
from idp.sessions import signed_in
from models import Identity

router = APIRouter(dependencies=[Depends(pages.html_page)])
ServicesDep = Annotated[IdpServices, Depends(get_services)]
SourcesDep = Annotated[ResidentData, Depends(from_request)]
LOGIN_PAGE = "/login"
CSV_COLUMNS = ("when", "what", "who", "method", "outcome")
# A spreadsheet runs a cell starting with one of these as a formula; a portal chooses its own name.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _word(prefix: str, code: str | None, lang: str) -> str:
    """A code in the resident's words where the catalogue has it (``history.method.face``), else the code."""
    if not code:
        return ""
    key = f"{prefix}.{code}"
    return i18n.translate(key, lang) if i18n.has(key) else code


def _row(entry: HistoryEntry, lang: str) -> dict[str, str]:
    return {
        "when": pages.when(entry.occurred_at) or "",
        "what": _word("history.kind", entry.kind, lang),
        "who": _word("history.party", entry.party, lang) if entry.by_role else entry.party or "",
        "method": _word("history.method", entry.method, lang),
        "outcome": _word("history.outcome", entry.outcome, lang),
    }


def _cell(value: str | None) -> str:
    text = value or ""
    return "'" + text if text.startswith(FORMULA_START) else text


@router.get("/account/history")
def history_page(request: Request, services: ServicesDep, sources: SourcesDep) -> Response:
    """The newest entries of the resident's authentication history, as a table."""
    with services.sessions() as db:
        found = signed_in(request, db)
        if found is None:
            return RedirectResponse(LOGIN_PAGE, status_code=303)
        _, identity = found
        return render_history(request, db, sources, identity)


def render_history(
    request: Request, db: Session, sources: ResidentData, identity: Identity, child_name: str | None = None
) -> Response:
    """The history page of ``identity``: the resident's own, or with ``child_name`` a child's for their guardian."""
    lang = pages.language(request)
    entries = sources.history(db, identity, HISTORY_LIMIT)
    return pages.render(
        request,
        "account_history.html",
        entries=[_row(entry, lang) for entry in entries],
        capped=len(entries) >= HISTORY_LIMIT,
        limit=HISTORY_LIMIT,
        child_name=child_name,
    )


@router.get("/account/history.csv")
def history_export(request: Request, services: ServicesDep, sources: SourcesDep) -> Response:
    """The resident's authentication history as a CSV download (codes, ISO times; audited)."""
    with services.sessions.begin() as db:
        found = signed_in(request, db)
        if found is None:
            return RedirectResponse(LOGIN_PAGE, status_code=303)
        _, identity = found
        entries = sources.history(db, identity, EXPORT_LIMIT)
        audit.record(
            db, sessions.citizen(identity), "account.history_exported", "identity", identity.uin, entries=len(entries)
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        values = entry.as_json()
        writer.writerow([_cell(values[column]) for column in CSV_COLUMNS])
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="civid-history-{identity.uin}.csv"',
            "Cache-Control": "no-store",
        },
    )
