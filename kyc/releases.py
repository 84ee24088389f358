"""The record of every release of a citizen's personal data to a relying party (what, to whom, when, how).

Written in the same transaction as the release (ID token, UserInfo answer, KYC attestation), so the
citizen's account page and an auditor see exactly what left civid. Claim names only, never values.
"""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from models import DataRelease, Identity, utcnow

CHANNELS = ("id_token", "userinfo", "attestation")


def record_release(db: Session, identity_id: int, client_id: str, channel: str, claim_names: Iterable[str], *,
                   verified: bool = False, consent_uid: str | None = None,
                   detail: dict[str, Any] | None = None) -> DataRelease | None:
    """Note one release; nothing is noted when no person claim left (``sub`` alone is not a release).
    A release of verified claims (KYC data) through the ID token or UserInfo is also audited."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown release channel {channel!r}")
    names = sorted(set(claim_names) - {"sub"})
    if not names:
        return None
    row = DataRelease(identity_id=identity_id, client_id=client_id, channel=channel, claims=names,
                      verified=verified, consent_uid=consent_uid, detail=detail, released_at=utcnow())
    db.add(row)
    db.flush()
    if verified and channel != "attestation":  # an attestation is audited as kyc.attestation_issued
        identity = db.get(Identity, identity_id)
        audit.record(db, Actor(None, f"client:{client_id}", "client"), "kyc.verified_claims_released", "identity",
                     identity.uin if identity else str(identity_id), client_id=client_id, channel=channel,
                     claims=names, consent=consent_uid)
    return row


def releases_of(db: Session, identity_id: int, limit: int = 200) -> list[DataRelease]:
    """The citizen's releases, newest first."""
    return list(db.scalars(select(DataRelease).where(DataRelease.identity_id == identity_id)
                           .order_by(DataRelease.id.desc()).limit(limit)))
