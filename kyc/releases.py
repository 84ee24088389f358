"""The record of every release of a citizen's personal data to a relying party (what, to whom, when, how).

Written in the same transaction as the release (ID token, UserInfo answer, KYC attestation), so the
citizen's account page and an auditor see exactly what left civid, and under which consent: the uids of the
consent rows that cover the released claims (not merely the client's newest row, which may hold none of them).
Claim names only, never values.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from models import DataRelease, Identity, utcnow

if TYPE_CHECKING:
    from idp.claims_extensions import ReleaseConsent

CHANNELS = ("id_token", "userinfo", "attestation")


def record_release(
    db: Session,
    identity_id: int,
    client_id: str,
    channel: str,
    claim_names: Iterable[str],
    *,
    verified: bool = False,
    consent: ReleaseConsent | None = None,
    detail: dict[str, Any] | None = None,
) -> DataRelease | None:
    """Note one release under ``consent`` (the grant's own live consent, ``idp.consent.consent_for_grant``),
    naming the rows of it that cover the released claims; nothing is noted when no person claim left (``sub``
    alone is not a release). A release of verified claims (KYC data) through the ID token or UserInfo is also
    audited."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown release channel {channel!r}")
    names = sorted(set(claim_names) - {"sub"})
    if not names:
        return None
    consent_uids = consent.covering(names) if consent is not None else None
    row = DataRelease(
        identity_id=identity_id,
        client_id=client_id,
        channel=channel,
        claims=names,
        verified=verified,
        consent_uids=consent_uids or None,
        detail=detail,
        released_at=utcnow(),
    )
    db.add(row)
    db.flush()
    if verified and channel != "attestation":  # an attestation is audited as kyc.attestation_issued
        identity = db.get(Identity, identity_id)
        audit.record(
            db,
            Actor(None, f"client:{client_id}", "client"),
            "kyc.verified_claims_released",
            "identity",
            identity.uin if identity else str(identity_id),
            client_id=client_id,
            channel=channel,
            claims=names,
            consents=consent_uids,
        )
    return row


def releases_of(db: Session, identity_id: int, limit: int = 200) -> list[DataRelease]:
    """The citizen's releases, newest first."""
    return list(
        db.scalars(
            select(DataRelease)
            .where(DataRelease.identity_id == identity_id)
            .order_by(DataRelease.id.desc())
            .limit(limit)
        )
    )
