"""Fingerprint templates: one ISO/IEC 19794-2 record per finger, encrypted like face templates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.identity import Enrolment


class FingerSource:
    CAPTURE = "capture"  # extracted by civid (MINDTCT) from an image the officer uploaded
    IMPORT = "import"  # an ISO/IEC 19794-2 record made by another system's extractor


class FingerTemplate(Base):
    """One finger of one enrolment; its ``id`` is its id in the fingerprint index.

    ``ciphertext`` seals the finger's ISO/IEC 19794-2:2005 record (the interoperable template);
    ``features_ciphertext`` seals the derived MCC indexing cylinders (a cache, so that rebuilding the
    index does not recompute them). Both under ``key_id``, each bound to its row by associated data."""

    __tablename__ = "finger_templates"
    __table_args__ = (UniqueConstraint("enrolment_id", "position", name="uq_finger_templates_enrolment_position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # ISO/IEC 19794-2 finger position code 1..10
    source: Mapped[str] = mapped_column(String(16))
    nfiq2: Mapped[int | None] = mapped_column(Integer)  # None for an imported record (no image)
    minutiae_count: Mapped[int] = mapped_column(Integer)
    in_gallery: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    key_id: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    features_nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    features_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    enrolment: Mapped[Enrolment] = relationship(back_populates="fingers")
