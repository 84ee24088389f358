"""What a citizen carries: the revocation status of each ID card and wallet credential civid signed.

One row per issued credential, whatever its kind, holds its slot in a Token Status List (``list_number``,
``list_index``: one bit, 1 = revoked) and what it states (``claims``: record fields), so a corrected record revokes
only the credentials that state a changed field. The card's and the wallet credential's own rows refer to it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class CredentialStatus(Base):
    """The status-list slot of one credential civid issued (an ID card's QR, a wallet credential)."""

    __tablename__ = "credential_statuses"
    __table_args__ = (UniqueConstraint("list_number", "list_index", name="uq_credential_statuses_slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # card | wallet
    list_number: Mapped[int] = mapped_column(Integer, index=True)
    list_index: Mapped[int] = mapped_column(Integer)
    # The record fields the credential states (given_name, family_name, date_of_birth, sex, address, photo, ...).
    claims: Mapped[list[str]] = mapped_column(JSON, default=list)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_reason: Mapped[str | None] = mapped_column(String(200))
    revoked_by: Mapped[str | None] = mapped_column(String(100))
