"""A resident's Virtual ID (VID): a revocable 16-digit number they give a bank or a counter instead of the UIN.

The VID itself is never stored: ``digest`` is its HMAC-SHA256 under the VID key (``civid.vid``), which is how a
presented VID is looked up, and ``last4`` is what the account page shows. A VID is random, not derived from the
UIN, so two VIDs of one person cannot be linked by anyone without the database and the key.

``kind``: ``perpetual`` (until revoked; one live per person, a new one replaces it) or ``temporary`` (expires
at ``expires_at`` and is spent by the first transaction that presents it, ``used_at``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class VirtualId(Base):
    __tablename__ = "virtual_ids"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    last4: Mapped[str] = mapped_column(String(4))
    kind: Mapped[str] = mapped_column(String(16))  # perpetual | temporary
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_reason: Mapped[str | None] = mapped_column(String(64))
