"""The ID card API for the registration office: issue a card, read its status, print it, report it lost, stolen
or damaged, reprint it. Thin: parse, authenticate, call ``credentials.cards`` in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from civid.auth import require
from civid.deps import get_services, get_session
from civid.input_types import UinPath
from credentials import card_numbers, cards
from credentials.card_print import card_pdf
from credentials.runtime import CredentialServices
from models import CredentialStatus, IdCard, Identity

router = APIRouter(prefix="/v1", tags=["ID cards"])
Issuer = Annotated[Actor, Depends(require(*cards.ISSUER_ROLES))]
Reader = Annotated[Actor, Depends(require(*cards.READER_ROLES))]
ServicesDep = Annotated[CredentialServices, Depends(get_services)]
SessionDep = Annotated[Session, Depends(get_session)]
CardNumber = Annotated[
    str,
    Path(
        min_length=10,
        max_length=16,
        description="A card number: 9 digits and a check letter (spaces allowed)",
        examples=["481207593K"],
    ),
]
PDF_HEADERS = {"Cache-Control": "no-store"}


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Literal["lost", "stolen", "damaged"]


class StatusSlot(BaseModel):
    list: int
    index: int
    uri: str


class CardOut(BaseModel):
    number: str
    uin: str  # masked: its last four digits
    identifier_kind: str
    state: str  # active | lost | stolen | damaged | replaced | revoked | expired
    issued_at: datetime
    expires_at: datetime
    issued_by: str
    replaced_by: str | None
    status: StatusSlot
    revoked_reason: str | None


class ReprintOut(BaseModel):
    replaced: CardOut
    card: CardOut


def card_out(db: Session, services: CredentialServices, card: IdCard) -> CardOut:
    """A card as the API answers it (no name, no photo, the UIN masked)."""
    identity = db.get(Identity, card.identity_id)
    slot = db.get(CredentialStatus, card.status_id)
    assert identity is not None and slot is not None  # noqa: S101 - a card references both
    successor = db.get(IdCard, card.replaced_by) if card.replaced_by else None
    reference = cards.status.reference(services.settings.resolved_issuer, slot)["status_list"]
    return CardOut(
        number=card.number,
        uin=cards.masked_uin(identity.uin),
        identifier_kind=card.identifier_kind,
        state=cards.state(db, card),
        issued_at=card.issued_at,
        expires_at=card.expires_at,
        issued_by=card.issued_by,
        replaced_by=successor.number if successor else None,
        status=StatusSlot(list=slot.list_number, index=slot.list_index, uri=reference["uri"]),
        revoked_reason=slot.revoked_reason,
    )


@router.post("/identities/{uin}/cards", response_model=CardOut, status_code=201, summary="Issue an ID card")
def issue_card(uin: UinPath, services: ServicesDep, actor: Issuer) -> CardOut:
    """A new card for an active identity with no active card (409 while one is active: report or reprint it)."""
    with services.sessions.begin() as db:
        return card_out(db, services, cards.issue(db, services, actor, uin))


@router.get("/identities/{uin}/cards", response_model=list[CardOut], summary="An identity's ID cards")
def list_cards(uin: UinPath, session: SessionDep, services: ServicesDep, actor: Reader) -> list[CardOut]:
    """Every card issued to the identity, newest first: the number to report when the person does not know it."""
    return [card_out(session, services, card) for card in cards.of(session, uin)]


@router.get("/cards/{number}", response_model=CardOut, summary="An ID card's state")
def get_card(number: CardNumber, session: SessionDep, services: ServicesDep, actor: Reader) -> CardOut:
    """Whether the card is active, reported, replaced or revoked, and its status-list slot."""
    card = cards.find(session, number)
    return card_out(session, services, card)


@router.get(
    "/cards/{number}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The card, front and back, ID-1 size"}},
    summary="Print an ID card",
)
def get_card_pdf(number: CardNumber, services: ServicesDep, actor: Issuer) -> Response:
    """The active card as a PDF to print (its personal data leaving civid: audited ``card.printed``)."""
    with services.sessions.begin() as db:
        card = cards.find(db, number)
        pdf = card_pdf(db, services, card)
        identity = db.get(Identity, card.identity_id)
        assert identity is not None  # noqa: S101
        audit.record(db, actor, "card.printed", "card", card.number, uin=identity.uin)
    filename = f"id-card-{card_numbers.normalise(number)}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={**PDF_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/cards/{number}/report", response_model=CardOut, summary="Report an ID card lost, stolen or damaged")
def report_card(number: CardNumber, body: ReportIn, services: ServicesDep, actor: Issuer) -> CardOut:
    """The card is revoked now (its status-list bit set; the VID it printed, if any, revoked)."""
    with services.sessions.begin() as db:
        return card_out(db, services, cards.report(db, actor, number, body.reason))


@router.post("/cards/{number}/reprint", response_model=ReprintOut, status_code=201, summary="Reprint an ID card")
def reprint_card(number: CardNumber, services: ServicesDep, actor: Issuer) -> ReprintOut:
    """A new card (new number, new QR) in place of this one; this one ends ``replaced`` if it was active."""
    with services.sessions.begin() as db:
        old, new = cards.reprint(db, services, actor, number)
        return ReprintOut(replaced=card_out(db, services, old), card=card_out(db, services, new))
