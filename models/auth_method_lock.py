"""A resident's lock on one of their authentication methods (MOSIP Resident Services' "auth type lock").

One row per identity and method, created on the first change: no row means unlocked. ``locked`` is the
resident's choice; ``unlocked_until`` is a temporary unlock of a locked method, which works until then and is
locked again without anyone writing (the check compares it with the clock). The methods are named in
``civid.auth_method_locks.METHODS``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class AuthMethodLock(Base):
    __tablename__ = "auth_method_locks"
    __table_args__ = (UniqueConstraint("identity_id", "method"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    method: Mapped[str] = mapped_column(String(32))  # face | passkey | officer_verification
    locked: Mapped[bool] = mapped_column(default=False)
    unlocked_until: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100))  # the actor's name (the citizen, an officer)
