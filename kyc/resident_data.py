"""kyc's part of what civid holds about a resident (``idp.resident_data``): every release of their data to a
portal or bank (``kyc.releases``, through the ID token, UserInfo or an attestation), the attestations issued to
banks, and the metadata of the identity documents an officer examined at enrolment (the last four characters
of a number only: the full number stays sealed). Registered by ``kyc.app.install``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.resident_data import HistoryEntry
from idp.resident_sources import client_names, iso
from kyc.releases import releases_of
from kyc.revocation import status_of
from models import Attestation, DataRelease, Enrolment, Identity, IdentityDocument


class KycRecords:
    """Releases and attestations (history and export), examined documents (export)."""

    name = "kyc"

    def history(self, db: Session, identity: Identity, limit: int) -> list[HistoryEntry]:
        """One entry per release, named by its channel; an attestation is a release to a bank."""
        releases = releases_of(db, identity.id, limit)
        names = client_names(db, (row.client_id for row in releases))
        return [
            HistoryEntry(
                row.released_at,
                "attestation" if row.channel == "attestation" else "release",
                names.get(row.client_id, row.client_id),
                row.channel,
                "released",
            )
            for row in releases
        ]

    def export(self, db: Session, identity: Identity) -> Mapping[str, Any]:
        """Releases (names of the data, never values), attestations with their status, and documents."""
        releases: list[DataRelease] = releases_of(db, identity.id, 100_000)
        attestations = list(
            db.scalars(select(Attestation).where(Attestation.identity_id == identity.id).order_by(Attestation.id))
        )
        documents = db.scalars(
            select(IdentityDocument)
            .join(Enrolment, Enrolment.id == IdentityDocument.enrolment_id)
            .where(Enrolment.identity_id == identity.id)
            .order_by(IdentityDocument.id)
        )
        names = client_names(db, {row.client_id for row in releases} | {row.client_id for row in attestations})
        return {
            "releases": [
                {
                    "to": names.get(row.client_id, row.client_id),
                    "channel": row.channel,
                    "claims": row.claims,
                    "verified": row.verified,
                    "released_at": iso(row.released_at),
                }
                for row in releases
            ],
            "attestations": [
                {
                    "bank": names.get(row.client_id, row.client_id),
                    "claims": row.claims,
                    "format": row.format,
                    "issued_at": iso(row.issued_at),
                    "expires_at": iso(row.expires_at),
                    "status": status_of(row).status,
                    "revoked_at": iso(row.revoked_at),
                }
                for row in attestations
            ],
            "documents": [
                {
                    "type": row.type,
                    "number_ending": row.number_last4,
                    "issuer": row.issuer_name,
                    "issuer_country": row.issuer_country,
                    "issued_on": row.date_of_issuance.isoformat() if row.date_of_issuance else None,
                    "expires_on": row.date_of_expiry.isoformat() if row.date_of_expiry else None,
                    "checks": row.check_methods,
                    "checked_at": iso(row.checked_at),
                }
                for row in documents
            ],
        }
