"""Printed ID cards: one row per card civid issued, with the number printed on it and what became of it.

A card's revocation bit is its ``credential_statuses`` row (``status_id``): a verifier reading the QR checks the
status list, not this table. ``state`` is the card's own story for the registration office (active, then lost,
stolen, damaged, replaced or revoked). At most one card per identity is ``active``: a partial unique index, so
two desks issuing at once cannot both succeed on SQLite or PostgreSQL.

The QR text (signed once, at issue) and the identifier printed are kept sealed under the template key ring
(``sealed_*``, associated data bound to the card number): drawing the PDF again shows exactly the QR that was
issued, and a VID card's VID exists nowhere else (``virtual_ids`` keeps only its HMAC). Both hold personal data
(names, birth date, the small photo), hence sealed like a kept photo, and re-sealed by ``civid keys reencrypt``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

CARD_STATES = ("active", "lost", "stolen", "damaged", "replaced", "revoked", "expired")


class IdCard(Base):
    """One printed ID card."""

    __tablename__ = "id_cards"
    __table_args__ = (
        Index(
            "uq_id_cards_one_active",
            "identity_id",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # 9 random digits and a check letter (credentials.card_numbers): printed, read out on the phone when lost.
    number: Mapped[str] = mapped_column(String(10), unique=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    identifier_kind: Mapped[str] = mapped_column(String(8))  # uin | vid: what the card prints
    # With "vid": the perpetual VID made for this card (its number is not stored, only on the card and in the QR).
    virtual_id_id: Mapped[int | None] = mapped_column(ForeignKey("virtual_ids.id"))
    status_id: Mapped[int] = mapped_column(ForeignKey("credential_statuses.id"), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="active")
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    issued_by: Mapped[str] = mapped_column(String(100))
    reported_at: Mapped[datetime | None] = mapped_column()
    replaced_by: Mapped[int | None] = mapped_column(ForeignKey("id_cards.id"))
    # JSON {"identifier", "qr"} sealed with the key ring (credentials.cards.card_aad).
    sealed_key_id: Mapped[str] = mapped_column(String(32))
    sealed_nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    sealed_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
