"""A guardianship: an adult identity who may act for a child's identity until the child's age of majority.

Made when a child enrolled with a guardian verified at the desk is issued a UIN (``enrollment.guardianship``):
the enrolment names the guardian, and the link exists only once the child has an identity of their own (a child
whose enrolment is decided a duplicate of someone gets no link). ``ended_at`` ends a link early (a court order, a
guardian replaced); reaching the age of majority ends what it allows without writing anything, since the date of
birth on the record decides it at each use.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class GuardianRelationship:
    PARENT = "parent"
    LEGAL_GUARDIAN = "legal_guardian"
    ALL = (PARENT, LEGAL_GUARDIAN)


class Guardianship(Base):
    __tablename__ = "guardianships"
    __table_args__ = (UniqueConstraint("guardian_identity_id", "child_identity_id", name="uq_guardianships_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guardian_identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    child_identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    relationship: Mapped[str] = mapped_column(String(16))  # GuardianRelationship: parent | legal_guardian
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"))  # the child's enrolment that made it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128))  # the officer's actor name (the desk that verified both)
    ended_at: Mapped[datetime | None] = mapped_column()
