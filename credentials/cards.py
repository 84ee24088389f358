"""The ID card's lifecycle: issue, report lost / stolen / damaged, reprint — each in the caller's transaction,
audited (``card.issued``, ``card.reported``, ``card.reprinted``) and, for a revocation, with the card's bit set in
the status list (``credentials.status``) so that a verifier online learns it.

Rules:
- Only an active identity with a kept photo gets a card; at most one active card per identity. The identity's
  row is locked while the card is made (``lock_rows``), and a partial unique index refuses a second active card
  even so, so two desks issuing at once make exactly one card (409 for the other).
- A card's status slot states the record fields it prints (``CLAIMS``): a corrected name, birth date, sex or
  nationality, or a new face, revokes it in the correction's transaction (``credentials.subscriptions``); so does
  a suspension, a deactivation or a withdrawal. Its ``state`` then reads ``revoked`` (settled on the row at the
  next issue).
- Reprint: a new number and a new QR; the old card ends ``replaced`` (when still active) and points at the new.
- The QR is signed once, at issue, and kept sealed with the identifier it prints (``models.id_card``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civid import audit, vid
from civid.actor import Actor
from civid.errors import Conflict, InvalidInput, NotFound
from civid.keyring import KeyRing, Sealed
from civid.uin import normalise_uin
from credentials import card_numbers, claim169, status
from credentials.card_photo import current_photo, renditions
from credentials.runtime import CredentialServices
from enrollment.record import issuing_enrolment
from models import CredentialStatus, Enrolment, IdCard, Identity, VirtualId, utcnow
from models.db import lock_rows

CLAIMS = [
    "given_name",
    "middle_names",
    "family_name",
    "date_of_birth",
    "sex",
    "nationality",
    "face",
]  # what a card states
REPORT_REASONS = ("lost", "stolen", "damaged")
ISSUER_ROLES = ("officer", "adjudicator")
READER_ROLES = ("officer", "adjudicator", "auditor")
REPRINTABLE = ("active", *REPORT_REASONS, "revoked", "expired")


class CardConflict(Conflict):
    """A card action the current state refuses (a second active card, a report of a card no longer active...)."""


@dataclass(frozen=True)
class CardContents:
    """What is printed: the sealed identifier and QR, and the record they were made from."""

    card: IdCard
    identifier: str
    qr: str
    record: Enrolment


def card_aad(number: str) -> bytes:
    """Associated data of a card's sealed contents: a row's ciphertext moved to another card fails to open."""
    return b"civid/card/v1/" + number.encode()


def masked_uin(uin: str) -> str:
    """The UIN as an API answer about a card shows it: its last four digits."""
    return "*" * max(0, len(uin) - 4) + uin[-4:]


def full_name(record: Enrolment) -> str:
    return " ".join(part for part in (record.given_name, record.middle_names, record.family_name) if part)


def state(db: Session, card: IdCard) -> str:
    """The card's state now: its row's, or ``revoked`` / ``expired`` for an active card whose slot says so."""
    if card.state != "active":
        return card.state
    slot = db.get(CredentialStatus, card.status_id)
    assert slot is not None  # noqa: S101 - a card references its slot
    return "active" if status.state(slot) == "valid" else status.state(slot)


def find(db: Session, number: str) -> IdCard:
    """The card with this (typed) number; InvalidInput when malformed, NotFound when unknown."""
    card = db.scalars(select(IdCard).where(IdCard.number == card_numbers.normalise(number))).first()
    if card is None:
        raise NotFound("no ID card with this number")
    return card


def of(db: Session, uin: str) -> list[IdCard]:
    """An identity's cards, newest first (a person reporting a card lost seldom knows its number)."""
    identity = _identity(db, uin)
    return list(db.scalars(select(IdCard).where(IdCard.identity_id == identity.id).order_by(IdCard.id.desc())))


def contents(db: Session, keyring: KeyRing, card: IdCard) -> CardContents:
    """The identifier and QR sealed on the card, and the record in force (what the front prints)."""
    plain = json.loads(
        keyring.open(Sealed(card.sealed_key_id, card.sealed_nonce, card.sealed_ciphertext), card_aad(card.number))
    )
    record = issuing_enrolment(db, card.identity_id)
    assert record is not None  # noqa: S101 - a card is issued from the issuing enrolment
    return CardContents(card, plain["identifier"], plain["qr"], record)


def _identity(db: Session, uin: str) -> Identity:
    number = normalise_uin(uin)
    identity = db.scalars(select(Identity).where(Identity.uin == number)).first()
    if identity is None:
        raise NotFound(f"no identity with UIN {number}")
    return identity


def _settle_active(db: Session, identity_id: int) -> IdCard | None:
    """The identity's card still in force, after marking one whose slot was revoked or expired as such."""
    card = db.scalars(select(IdCard).where(IdCard.identity_id == identity_id, IdCard.state == "active")).first()
    if card is None:
        return None
    now = state(db, card)
    if now != "active":
        card.state = now
        db.flush()
        return None
    return card


def _identifier(db: Session, services: CredentialServices, identity: Identity, actor: Actor) -> tuple[str, int | None]:
    """The number the card prints, and the VID row made for it (``card_identifier``)."""
    if services.settings.card_identifier == "uin":
        return identity.uin, None
    number = vid.create(db, services.settings, identity, vid.PERPETUAL, actor)
    row = db.scalars(select(VirtualId).where(VirtualId.digest == vid.digest(services.settings, number))).one()
    return number, row.id


def _holder(identifier: str, record: Enrolment, photo: bytes, photo_format: str) -> claim169.CardHolder:
    return claim169.CardHolder(
        id=identifier,
        full_name=full_name(record),
        first_name=record.given_name,
        middle_name=record.middle_names,
        last_name=record.family_name,
        date_of_birth=record.date_of_birth,
        sex=record.sex,
        nationality=record.nationality,
        photo=photo,
        photo_format=photo_format,
    )


def _new_number(db: Session) -> str:
    for _ in range(5):  # 9 * 10^8 numbers: a collision is rare and a retry costs nothing
        number = card_numbers.new_number()
        if db.scalar(select(IdCard.id).where(IdCard.number == number)) is None:
            return number
    raise RuntimeError("no free card number after 5 draws")


def _make(db: Session, services: CredentialServices, actor: Actor, identity: Identity) -> IdCard:
    """A new active card for ``identity`` (locked, no active card): photo, slot, identifier, signed QR, row."""
    if identity.status != "active":
        raise CardConflict(f"identity {identity.uin} is {identity.status}: no card is issued", code="card_not_active")
    record = issuing_enrolment(db, identity.id)
    photo = current_photo(db, services.keyring, record) if record is not None else None
    if record is None or photo is None:
        raise CardConflict(
            "the identity has no kept enrolment photo; re-capture the face (biometric update) first",
            code="card_no_photo",
        )
    settings = services.settings
    photos = renditions(
        photo, services.faces, max_side=settings.detection_max_side, min_confidence=settings.detection_min_confidence
    )
    issued = utcnow().replace(microsecond=0)
    expires = issued + timedelta(days=settings.credential_validity_days)
    slot = status.allocate(
        db, settings.status_list_size, identity_id=identity.id, kind="card", claims=CLAIMS, expires_at=expires
    )
    identifier, vid_id = _identifier(db, services, identity, actor)
    number = _new_number(db)
    qr = claim169.encode(
        _holder(identifier, record, photos.qr, photos.qr_format),
        issuer=settings.resolved_issuer,
        card_number=number,
        issued_at=issued,
        expires_at=expires,
        status=status.reference(settings.resolved_issuer, slot),
        keys=services.credential_keys,
        country=settings.kyc_register_country,
    )
    sealed = services.keyring.seal(json.dumps({"identifier": identifier, "qr": qr}).encode(), card_aad(number))
    card = IdCard(
        number=number,
        identity_id=identity.id,
        identifier_kind=settings.card_identifier,
        virtual_id_id=vid_id,
        status_id=slot.id,
        state="active",
        issued_at=issued,
        expires_at=expires,
        issued_by=actor.name[:100],
        sealed_key_id=sealed.key_id,
        sealed_nonce=sealed.nonce,
        sealed_ciphertext=sealed.ciphertext,
    )
    try:
        with db.begin_nested():  # the partial unique index: a second active card, whatever the lock missed
            db.add(card)
            db.flush()
    except IntegrityError as exc:
        raise CardConflict("the identity already has an active ID card", code="card_active") from exc
    return card


def _audit(db: Session, actor: Actor, action: str, card: IdCard, uin: str, **detail: Any) -> None:
    # The full UIN goes in as ``uin``: the audit log's person column is how an auditor and the resident's own
    # access history find events about a person; no name, birth date or photo goes in.
    audit.record(db, actor, action, "card", card.number, uin=uin, identifier_kind=card.identifier_kind, **detail)


def issue(db: Session, services: CredentialServices, actor: Actor, uin: str) -> IdCard:
    """Issue a card to an identity with none active (409 otherwise)."""
    identity = _identity(db, uin)
    lock_rows(db, Identity, [identity.id])
    db.refresh(identity)  # its status as of the lock
    active = _settle_active(db, identity.id)
    if active is not None:
        raise CardConflict(
            f"the identity already has an active ID card ({card_numbers.grouped(active.number)}); report or reprint it",
            code="card_active",
        )
    card = _make(db, services, actor, identity)
    _audit(db, actor, "card.issued", card, identity.uin, expires_at=card.expires_at)
    return card


def _end(db: Session, card: IdCard, new_state: str, reason: str, actor: Actor) -> None:
    """Set the card's state, its status bit, and revoke the VID printed on it (it was shown with the card)."""
    card.state, card.reported_at = new_state, utcnow()
    slot = db.get(CredentialStatus, card.status_id)
    assert slot is not None  # noqa: S101 - a card references its slot
    status.revoke(db, slot, reason, actor)
    if card.virtual_id_id is not None:
        row = db.get(VirtualId, card.virtual_id_id)
        if row is not None:
            vid.revoke(db, row, actor, f"card {new_state}")
    db.flush()


def report(db: Session, actor: Actor, number: str, reason: str) -> IdCard:
    """Report an active card lost, stolen or damaged: revoked now (a verifier online sees it)."""
    if reason not in REPORT_REASONS:
        raise InvalidInput(f"a card is reported {', '.join(REPORT_REASONS)}", code="card_report_reason")
    card = find(db, number)
    identity = db.get(Identity, card.identity_id)
    assert identity is not None  # noqa: S101
    lock_rows(db, Identity, [identity.id])
    db.refresh(card)
    current = state(db, card)
    if current != "active":
        raise CardConflict(f"this card is {current} already", code="card_not_active")
    _end(db, card, reason, f"card {reason}", actor)
    _audit(db, actor, "card.reported", card, identity.uin, reason=reason)
    return card


def reprint(db: Session, services: CredentialServices, actor: Actor, number: str) -> tuple[IdCard, IdCard]:
    """A new card (new number, new QR) in place of this one, which ends ``replaced`` if it was still active."""
    old = find(db, number)
    identity = db.get(Identity, old.identity_id)
    assert identity is not None  # noqa: S101
    lock_rows(db, Identity, [identity.id])
    db.refresh(old)
    current = state(db, old)
    if old.replaced_by is not None or current not in REPRINTABLE:
        raise CardConflict("this card was replaced already", code="card_replaced")
    if current == "active":
        _end(db, old, "replaced", "card replaced", actor)
    elif old.state == "active":  # revoked or expired under the row: settle it
        old.state = current
    other = _settle_active(db, identity.id)
    if other is not None:
        raise CardConflict(
            f"another card is active ({card_numbers.grouped(other.number)}); reprint that one", code="card_active"
        )
    new = _make(db, services, actor, identity)
    old.replaced_by = new.id
    db.flush()
    _audit(db, actor, "card.reprinted", new, identity.uin, replaces=old.number, previous_state=current)
    return old, new


def reencrypt(keyring: KeyRing, session: Session) -> int:
    """Re-seal every card's contents not under the key ring's active key (``civid keys reencrypt-templates``), so a
    retired key strands no card. Returns the count."""
    moved = 0
    for card in session.scalars(select(IdCard).where(IdCard.sealed_key_id != keyring.active)):
        associated = card_aad(card.number)
        plain = keyring.open(Sealed(card.sealed_key_id, card.sealed_nonce, card.sealed_ciphertext), associated)
        sealed = keyring.seal(plain, associated)
        card.sealed_key_id, card.sealed_nonce, card.sealed_ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
        moved += 1
    return moved
