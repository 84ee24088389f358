"""The history of an identity's status: every suspension, deactivation and reactivation, who, when and why.

``Identity.status`` holds the current status; this table is its trail, one row per transition, never updated
or deleted. A reactivation sets the status back to ``active`` and is kept here as a ``reactivated`` row, so
"was this person ever suspended?" is one query and every check elsewhere stays ``status == "active"``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class IdentityStatusChange(Base):
    __tablename__ = "identity_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    transition: Mapped[str] = mapped_column(String(16))  # suspended | deactivated | reactivated
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))  # a reason code (enrollment.identity_status.REASONS)
    # What proves it: a court order's number, a death registration number, a case id; never personal data.
    evidence_reference: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(500))
    actor_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
