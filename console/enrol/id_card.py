"""The "Print the ID card" action of an issued enrolment's page: the officer who enrolled the person (or found
them at the desk, ``console.find``) gets the card's PDF — the identity's active card, or a new one issued now
(``credentials.cards.issue``: the same rules, audit and one-active-card guarantee as the API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from civid import audit
from civid.errors import Conflict
from civid.web import i18n, pages
from civid.web.csrf import check_csrf
from console.enrol.pages import _enrolment
from console.signin.session import require_staff
from console.staff.accounts import Staff
from credentials import cards
from credentials.card_print import card_pdf
from models import EnrolmentStatus, IdCard

router = APIRouter(prefix="/console", include_in_schema=False)
Officer = Depends(require_staff("officer"))


@router.post("/enrolments/{public_id}/card")
def print_card(
    public_id: str, request: Request, csrf_token: Annotated[str, Form()] = "", staff: Staff = Officer
) -> Response:
    """The PDF of the person's active ID card, issued first when they have none."""
    check_csrf(request, csrf_token)
    services = request.app.state.services
    actor = staff.actor("officer")
    with services.sessions.begin() as db:
        enrolment = _enrolment(db, public_id, staff, found_too=True)
        if enrolment.status != EnrolmentStatus.ISSUED or enrolment.identity is None:
            raise Conflict(i18n.translate("console.card.not_issued", pages.language(request)))
        identity = enrolment.identity
        card = db.scalars(select(IdCard).where(IdCard.identity_id == identity.id, IdCard.state == "active")).first()
        if card is None or cards.state(db, card) != "active":
            card = cards.issue(db, services, actor, identity.uin)
        pdf = card_pdf(db, services, card)
        audit.record(db, actor, "card.printed", "card", card.number, uin=identity.uin)
        number = card.number
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="id-card-{number}.pdf"'},
    )
