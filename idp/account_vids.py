"""The account page's section where the resident makes and revokes Virtual IDs (``civid.vid``): a number to give
a bank or a counter instead of the UIN.

Same rules as the rest of the page (idp.account): a login session, the CSRF token on every POST, audited with the
citizen as the actor. Making a VID answers with a page showing it once (only its digest is kept: it cannot be
shown again), marked ``no-store`` so the browser does not keep it; revoking redirects back (post/redirect/get).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from civid import vid
from civid.deps import get_services
from civid.errors import NotFound
from civid.input_types import RowId
from civid.web import pages
from civid.web.csrf import check_csrf
from idp import sessions
from idp.runtime import IdpServices
from models import VirtualId, utcnow

router = APIRouter(dependencies=[Depends(pages.html_page)])
ServicesDep = Annotated[IdpServices, Depends(get_services)]
NOTICES = ("vid_revoked",)


def rows(db: Session, identity_id: int) -> list[dict[str, object]]:
    """Each VID for the page: kind, last four digits, dates, and whether it still works."""
    now = utcnow()
    shown: list[dict[str, object]] = []
    for row in vid.of(db, identity_id):
        state = "revoked" if row.revoked_at else "used" if row.used_at else "live" if vid.live(row, now) else "expired"
        shown.append(
            {
                "id": row.id,
                "kind": row.kind,
                "last4": row.last4,
                "created": pages.when(row.created_at),
                "expires": pages.when(row.expires_at) if row.expires_at else None,
                "state": state,
            }
        )
    return shown


@router.post("/account/vids")
def create_vid(
    request: Request,
    services: ServicesDep,
    csrf_token: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
) -> Response:
    """Make a perpetual or temporary VID and show it, once."""
    check_csrf(request, csrf_token)
    with services.sessions.begin() as db:
        found = sessions.signed_in(request, db)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        identity = found[1]
        number = vid.create(db, services.settings, identity, kind, sessions.citizen(identity))
    minutes = services.settings.vid_temporary_ttl_s // 60
    page = pages.render(request, "account_vid_created.html", 201, vid=vid.grouped(number), kind=kind, minutes=minutes)
    page.headers["Cache-Control"] = "no-store"
    return page


@router.post("/account/vids/{vid_id}/revoke")
def revoke_vid(
    request: Request, vid_id: RowId, services: ServicesDep, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Revoke one of the resident's VIDs: from now on it names nobody."""
    check_csrf(request, csrf_token)
    with services.sessions.begin() as db:
        found = sessions.signed_in(request, db)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        identity = found[1]
        row = db.get(VirtualId, vid_id)
        if row is None or row.identity_id != identity.id:
            raise NotFound("no such VID on your account")
        vid.revoke(db, row, sessions.citizen(identity), "revoked by the resident")
    return RedirectResponse("/account?done=vid_revoked", status_code=303)
