"""Marking a signed thing revoked: a KYC attestation (kyc/), an ID card or a wallet credential (credentials/).

Each keeps ``revoked_at``, ``revoked_reason`` and ``revoked_by`` on its row and publishes its bit in a status list;
revocation is final, so a second revocation changes nothing and keeps the first reason.
"""

from __future__ import annotations

from typing import Any

from civid.actor import Actor
from models import utcnow

REASON_MAX = 200
ACTOR_MAX = 100


def stamp_revoked(row: Any, reason: str, actor: Actor) -> str | None:
    """Stamp ``row`` revoked now by ``actor`` for ``reason`` (trimmed, at most 200 characters) and return the
    reason as stored; None when the row already was revoked. Raises ValueError for an empty reason."""
    if row.revoked_at is not None:
        return None
    reason = reason.strip()[:REASON_MAX]
    if not reason:
        raise ValueError("a revocation needs a reason")
    row.revoked_at = utcnow()
    row.revoked_reason = reason
    row.revoked_by = actor.name[:ACTOR_MAX]
    return reason
