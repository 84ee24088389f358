"""MOSIP ABIS references: the records MOSIP inserts into civid acting as its ABIS, apart from civid's own identities.

A reference is MOSIP's ``referenceId`` (one registration record kept in MOSIP); civid keeps only the templates it
extracted from the record's CBEFF, sealed with the template key ring like every other template. The face and finger
indexes of the references are caches rebuilt from ``abis_templates``; a template's ``id`` is its id there.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class AbisModality:
    FACE = "face"
    FINGER = "finger"


class AbisReference(Base):
    """One MOSIP referenceId held by civid's ABIS; ``request_id`` is the insert request that created it."""

    __tablename__ = "abis_references"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # MOSIP sends UUIDs, but its own examples carry 9-digit first groups ("987654321-89AB-..."): any string up to 64.
    reference_id: Mapped[str] = mapped_column(String(64), unique=True)
    request_id: Mapped[str] = mapped_column(String(64))
    inserted_at: Mapped[datetime] = mapped_column(default=utcnow)


class AbisTemplate(Base):
    """One face descriptor or one finger of a reference, sealed and bound to (reference, modality, position).

    Face: ``ciphertext`` seals the (128,) float32 descriptor; ``position`` counts the record's face images.
    Finger: ``ciphertext`` seals the finger's ISO/IEC 19794-2:2005 record, ``features_ciphertext`` its MCC
    indexing cylinders; ``position`` is the ISO finger position 1-10."""

    __tablename__ = "abis_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference_pk: Mapped[int] = mapped_column(ForeignKey("abis_references.id", ondelete="CASCADE"), index=True)
    modality: Mapped[str] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    features_nonce: Mapped[bytes | None] = mapped_column(LargeBinary(12))
    features_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
