"""An issued card's PDF: the sealed identifier and QR, the record in force and the current photo, drawn by
``credentials.card_pdf``. Only an active card prints (a reported, replaced or revoked one is reprinted instead)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from civid import vid
from credentials import card_numbers, cards
from credentials.card_pdf import CardFace, render
from credentials.card_photo import current_photo, renditions
from credentials.runtime import CredentialServices
from models import IdCard

VERIFY_PATH = "/verify"


def card_pdf(db: Session, services: CredentialServices, card: IdCard) -> bytes:
    """The PDF of an active card (CardConflict otherwise, or when its photo is no longer kept)."""
    current = cards.state(db, card)
    if current != "active":
        raise cards.CardConflict(f"this card is {current}: reprint it instead", code="card_not_active")
    held = cards.contents(db, services.keyring, card)
    photo = current_photo(db, services.keyring, held.record)
    if photo is None:
        raise cards.CardConflict("the identity's photo is no longer kept", code="card_no_photo")
    settings = services.settings
    photos = renditions(
        photo, services.faces, max_side=settings.detection_max_side, min_confidence=settings.detection_min_confidence
    )
    record = held.record
    shown = vid.grouped(held.identifier) if card.identifier_kind == "vid" else held.identifier
    face = CardFace(
        authority=settings.kyc_register_name,
        country=settings.kyc_register_country,
        given_names=" ".join(part for part in (record.given_name, record.middle_names) if part),
        family_name=record.family_name,
        identifier_label=card.identifier_kind.upper(),
        identifier=shown,
        date_of_birth=record.date_of_birth,
        sex=record.sex,
        issued_on=card.issued_at.date(),
        expires_on=card.expires_at.date(),
        card_number=card_numbers.grouped(card.number),
        photo_jpeg=photos.printed,
        qr_text=held.qr,
        verify_url=settings.resolved_issuer + VERIFY_PATH,
    )
    return render(face)
