"""Identity documents the officer examined at enrolment: the evidence behind verified claims (OIDC4IDA).

The full document number is personal data: sealed under the key ring, bound to its row by the associated
data ``document:{enrolment public id}:{position}`` (position = index in the officer's list), so a ciphertext
copied to another row or enrolment fails to open. Screens and audit events show only ``••••1234``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid.keyring import KeyRing, Sealed
from enrollment.schemas import CheckMethod, DocumentIn, DocumentType
from models import Enrolment, IdentityDocument, utcnow

MASK = "••••"
# OIDC4IDA predefined document types and check methods an officer at the desk can record (see
# enrollment.schemas.DocumentIn for what each check method means).
DOCUMENT_TYPES: tuple[str, ...] = get_args(DocumentType)
CHECK_METHODS: tuple[str, ...] = get_args(CheckMethod)


@dataclass(frozen=True)
class DocumentEvidence:
    """One document as the officer recorded it (validated at the HTTP edge or the CLI)."""

    type: str
    number: str
    issuer_name: str
    issuer_country: str
    date_of_issuance: date | None
    date_of_expiry: date | None
    check_methods: tuple[str, ...]

    @classmethod
    def from_input(cls, d: DocumentIn) -> DocumentEvidence:
        """From the validated HTTP/CLI model (number already normalised)."""
        return cls(
            d.type,
            d.number,
            d.issuer.name,
            d.issuer.country,
            d.date_of_issuance,
            d.date_of_expiry,
            tuple(d.check_methods),
        )


def document_aad(enrolment_public_id: str, position: int) -> bytes:
    """Associated data binding a sealed document number to its enrolment and position."""
    return f"document:{enrolment_public_id}:{position}".encode()


def last4(number: str) -> str:
    """The last four characters of a document number (what screens and audit may show)."""
    return number[-4:]


def masked(last_four: str) -> str:
    """``••••1234``."""
    return MASK + last_four


def store_documents(
    keyring: KeyRing,
    session: Session,
    enrolment: Enrolment,
    documents: list[DocumentEvidence],
    checked_by_id: int | None,
) -> list[IdentityDocument]:
    """Seal and add the documents of a just-flushed enrolment (in its transaction)."""
    now = utcnow()
    rows = []
    for position, doc in enumerate(documents):
        sealed = keyring.seal(doc.number.encode(), document_aad(enrolment.public_id, position))
        rows.append(
            IdentityDocument(
                enrolment_id=enrolment.id,
                position=position,
                type=doc.type,
                number_key_id=sealed.key_id,
                number_nonce=sealed.nonce,
                number_ciphertext=sealed.ciphertext,
                number_last4=last4(doc.number),
                issuer_name=doc.issuer_name,
                issuer_country=doc.issuer_country,
                date_of_issuance=doc.date_of_issuance,
                date_of_expiry=doc.date_of_expiry,
                check_methods=list(doc.check_methods),
                checked_by_id=checked_by_id,
                checked_at=now,
            )
        )
    session.add_all(rows)
    session.flush()
    return rows


def documents_of(session: Session, enrolment_id: int) -> list[IdentityDocument]:
    """The documents recorded with one enrolment, in the officer's order."""
    return list(
        session.scalars(
            select(IdentityDocument)
            .where(IdentityDocument.enrolment_id == enrolment_id)
            .order_by(IdentityDocument.position)
        )
    )


def open_number(keyring: KeyRing, row: IdentityDocument, enrolment_public_id: str) -> str:
    """Decrypt a stored document number (raises ConfigurationError when tampered or swapped)."""
    sealed = Sealed(row.number_key_id, row.number_nonce, row.number_ciphertext)
    return keyring.open(sealed, document_aad(enrolment_public_id, row.position)).decode()


def audit_summary(documents: list[DocumentEvidence]) -> list[dict[str, object]]:
    """What an audit event may say about the documents: type, issuer country, masked number, methods."""
    return [
        {
            "type": d.type,
            "number": masked(last4(d.number)),
            "issuer_country": d.issuer_country,
            "check_methods": list(d.check_methods),
        }
        for d in documents
    ]


def stored_audit_summary(session: Session, enrolment: Enrolment) -> list[dict[str, object]]:
    """``audit_summary`` of the documents stored with ``enrolment`` (for a decision made after the request)."""
    rows = session.scalars(
        select(IdentityDocument)
        .where(IdentityDocument.enrolment_id == enrolment.id)
        .order_by(IdentityDocument.position)
    )
    return [
        {
            "type": row.type,
            "number": masked(row.number_last4),
            "issuer_country": row.issuer_country,
            "check_methods": list(row.check_methods),
        }
        for row in rows
    ]


def reencrypt_document_numbers(keyring: KeyRing, session: Session, batch: int = 1000) -> int:
    """Re-seal document numbers not under the active key (``civid keys reencrypt-templates``); the count."""
    moved = 0
    query = (
        select(IdentityDocument, Enrolment.public_id)
        .join(Enrolment, IdentityDocument.enrolment_id == Enrolment.id)
        .where(IdentityDocument.number_key_id != keyring.active)
        .execution_options(yield_per=batch)
    )
    for row, public_id in session.execute(query):
        associated = document_aad(public_id, row.position)
        sealed = keyring.seal(open_number(keyring, row, public_id).encode(), associated)
        row.number_key_id, row.number_nonce, row.number_ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
        moved += 1
    return moved
