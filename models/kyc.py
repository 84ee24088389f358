"""Know-your-customer records: the identity evidence an officer checked at enrolment, KYC attestations
issued to banks (with their revocation status), and every release of personal data to a relying party.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.identity import Enrolment


class IdentityDocument(Base):
    """A document the officer examined at enrolment (OIDC4IDA ``evidence`` of type ``document``).

    The full document number is personal data: sealed under the key ring (associated data binds it to
    this row's enrolment); ``number_last4`` is what audit events and screens may show."""

    __tablename__ = "identity_documents"
    __table_args__ = (UniqueConstraint("enrolment_id", "position", name="uq_identity_documents_enrolment_position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id"), index=True)
    # Index in the officer's list (0, 1, ...): part of the sealed number's associated data
    # (f"document:{enrolment.public_id}:{position}"), so numbers cannot be swapped between rows.
    position: Mapped[int] = mapped_column(Integer, default=0)
    # OIDC4IDA document types: idcard | passport | driving_permit | residence_permit | birth_certificate | ...
    type: Mapped[str] = mapped_column(String(32))
    number_key_id: Mapped[str] = mapped_column(String(32))
    number_nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    number_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    number_last4: Mapped[str] = mapped_column(String(8))
    issuer_name: Mapped[str] = mapped_column(String(200))
    issuer_country: Mapped[str] = mapped_column(String(3))  # ISO 3166-1 alpha-3 (or alpha-2)
    date_of_issuance: Mapped[date | None] = mapped_column(Date)
    date_of_expiry: Mapped[date | None] = mapped_column(Date)
    # OIDC4IDA check methods the officer applied: ["vpip"] (physical document inspected), ["pvp"] (photo
    # compared with the person present), ...
    check_methods: Mapped[list[str]] = mapped_column(JSON)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)

    enrolment: Mapped[Enrolment] = relationship()


class Attestation(Base):
    """A signed KYC attestation issued to a bank; its revocation is published in a status list."""

    __tablename__ = "kyc_attestations"
    __table_args__ = (UniqueConstraint("status_list", "status_index", name="uq_kyc_attestations_status_slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)  # the attestation id (its `jti`)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("oidc_grants.id"))
    format: Mapped[str] = mapped_column(String(16))  # jwt | sd-jwt
    claims: Mapped[list[str]] = mapped_column(JSON)  # names released (values are in the signed token only)
    trust_framework: Mapped[str] = mapped_column(String(100))
    assurance_level: Mapped[str] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    status_list: Mapped[int] = mapped_column(Integer, default=1)
    status_index: Mapped[int] = mapped_column(Integer)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_reason: Mapped[str | None] = mapped_column(String(200))
    revoked_by: Mapped[str | None] = mapped_column(String(100))


class DataRelease(Base):
    """One release of personal data to a relying party: who, which claims, through what, when, under
    which consent. The citizen's account page lists these."""

    __tablename__ = "data_releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # id_token | userinfo | attestation
    claims: Mapped[list[str]] = mapped_column(JSON)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)  # verified_claims included
    # The consent rows (uids, newest first) that cover the claims released: each claim is in at least one.
    consent_uids: Mapped[list[str] | None] = mapped_column(JSON)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # e.g. {"attestation": uid}
    released_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
