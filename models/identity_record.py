"""Every version of an identity's record (its demographics): who proposed it, with what evidence, who approved it.

The issued enrolment's columns (``Enrolment.given_name`` ...) hold the record in force, which every reader
(claims, verified claims, the console) already reads; this table is its history, one row per version, never
deleted. A row holds the whole record as it is (or would be) after the version, so any version reads alone.
Version 1 is the record as enrolled, written when the record is first updated (``enrollment.record_update``).

``status``: ``applied`` (in force, or was), ``pending`` (a sensitive change awaiting a second person's approval)
or ``rejected``. At most one pending version per identity: a partial unique index, so two concurrent proposals
cannot both wait (the second is a conflict), and ``(identity_id, version)`` is unique.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class RecordVersionStatus:
    APPLIED = "applied"
    PENDING = "pending"
    REJECTED = "rejected"


class IdentityRecordVersion(Base):
    __tablename__ = "identity_record_versions"
    __table_args__ = (
        UniqueConstraint("identity_id", "version", name="uq_identity_record_versions_identity_version"),
        Index(
            "uq_identity_record_versions_one_pending",
            "identity_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    # The record fields this version changed (names only; empty for version 1, the record as enrolled).
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)

    # The record after this version: the same columns and types as the enrolment's demographics.
    given_name: Mapped[str] = mapped_column(String(100))
    middle_names: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    address: Mapped[dict[str, Any]] = mapped_column(JSON)
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))

    # The document that proves the change (none for version 1, whose evidence is the enrolment's documents).
    # Its number is sealed under the key ring like an enrolment document's (``enrollment.record_update``).
    evidence_type: Mapped[str | None] = mapped_column(String(32))
    evidence_issuer_name: Mapped[str | None] = mapped_column(String(200))
    evidence_issuer_country: Mapped[str | None] = mapped_column(String(3))
    evidence_date_of_issuance: Mapped[date | None] = mapped_column(Date)
    evidence_check_methods: Mapped[list[str] | None] = mapped_column(JSON)
    evidence_number_key_id: Mapped[str | None] = mapped_column(String(32))
    evidence_number_nonce: Mapped[bytes | None] = mapped_column(LargeBinary(12))
    evidence_number_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    evidence_number_last4: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(500))

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    created_by_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Who approved (or rejected) a pending version, when, and why a rejection; for a version applied at once,
    # nobody: ``decided_at`` is then its creation.
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    decided_by_name: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column()
    decision_note: Mapped[str | None] = mapped_column(String(500))
