"""Identities (one per person, holding the UIN) and the enrolments that create or attach to them."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow

if TYPE_CHECKING:  # models.fingerprint imports this module
    from models.fingerprint import FingerTemplate


class EnrolmentStatus:
    # Stored with its templates, searchable, its dedup job not yet decided (models/dedup_job.py).
    PENDING_DEDUP = "pending_dedup"
    ISSUED = "issued"
    PENDING = "pending_adjudication"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    # Templates of these enrolments are in the 1:N gallery: a pending applicant is searched too,
    # so the same person applying twice while a case is open is caught; so is one not yet deduplicated
    # (insert-then-identify: two enrolments of one person at once find each other).
    IN_GALLERY = (PENDING_DEDUP, ISSUED, PENDING)
    DECIDED_IN_GALLERY = (ISSUED, PENDING)


class Identity(Base):
    """One person, one UIN. Rows are never deleted, so a UIN is never reused."""

    __tablename__ = "identities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uin: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    enrolments: Mapped[list[Enrolment]] = relationship(back_populates="identity", foreign_keys="Enrolment.identity_id")


class Enrolment(Base):
    """One enrolment attempt by an officer: demographics, photos' quality, and the outcome."""

    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("officer_id", "idempotency_key", name="uq_enrolments_officer_idempotency"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    # SHA-256 of the request stored under the key (enrollment.idempotency.request_digest): a replay with another
    # digest is refused. NULL for enrolments stored before migration 0011, whose keys replay without the check.
    request_digest: Mapped[str | None] = mapped_column(String(64))

    given_name: Mapped[str] = mapped_column(String(100))
    middle_names: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    place_of_birth: Mapped[str] = mapped_column(String(200))
    nationality: Mapped[str] = mapped_column(String(3))
    address: Mapped[dict[str, Any]] = mapped_column(JSON)
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))

    quality: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Per finger position: the quality report of an accepted/rejected finger, or why none was taken
    # ({"position", "status": "captured"|"imported"|"rejected"|"unavailable", "reason"?, "nfiq2"?, ...}).
    fingerprints: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=list)
    # Which modalities the 1:N deduplication compared ("face", "finger"): the record says when a
    # person was deduplicated on the face alone.
    dedup_modalities: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    rejection_reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # A minor's guardian, verified 1:1 at the desk (enrollment.guardian_proof): linked to the child's identity
    # when the UIN is issued (models/guardianship.py). NULL for an adult.
    guardian_identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    guardian_relationship: Mapped[str | None] = mapped_column(String(16))
    # A child under child_face_only_below_age was enrolled with the face only: their fingers are owed at a later
    # biometric update.
    fingers_deferred: Mapped[bool] = mapped_column(Boolean, default=False)
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()

    identity: Mapped[Identity | None] = relationship(back_populates="enrolments", foreign_keys=[identity_id])
    templates: Mapped[list[FaceTemplate]] = relationship(
        back_populates="enrolment", order_by="FaceTemplate.photo_index"
    )
    fingers: Mapped[list[FingerTemplate]] = relationship(back_populates="enrolment", order_by="FingerTemplate.position")


class FaceTemplate(Base):
    """A 128-d face descriptor, AES-256-GCM encrypted; its ``id`` is its id in the FAISS gallery."""

    __tablename__ = "face_templates"
    __table_args__ = (UniqueConstraint("enrolment_id", "photo_index", name="uq_face_templates_enrolment_photo"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    photo_index: Mapped[int] = mapped_column(Integer)
    # in_gallery mirrors EnrolmentStatus.IN_GALLERY, kept on the row so a rebuild is one indexed scan.
    in_gallery: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    key_id: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    quality_score: Mapped[float] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    enrolment: Mapped[Enrolment] = relationship(back_populates="templates")


class Photo(Base):
    """An enrolment photo, kept only when ``keep_photos`` is set; encrypted like templates."""

    __tablename__ = "photos"
    __table_args__ = (UniqueConstraint("enrolment_id", "photo_index", name="uq_photos_enrolment_photo"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    photo_index: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(32))
    key_id: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
