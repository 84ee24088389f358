"""One-time challenges for face uploads: every face form carries a fresh random value, stored hashed,
usable once, within ``face_challenge_ttl_s``, for the interaction it was issued for. A captured POST
(photo, UIN and all) replayed later therefore fails, even before its photo is looked at.

This stops replay of a *request*; it does not prove liveness (a printed photo or a screen held up to the
camera is a fresh request). That is why face login is the lower assurance level (``idp.acr``).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from idp.server_secrets import sha256_hex
from models import FaceChallenge, utcnow
from models.db import affected_rows


def issue(db: Session, ttl_s: int, purpose: str = "login", interaction_uid: str | None = None) -> str:
    """A new challenge for one face form (``purpose`` login | bind), bound to ``interaction_uid``."""
    value = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(
        FaceChallenge(
            challenge_hash=sha256_hex(value),
            purpose=purpose,
            interaction_uid=interaction_uid,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
    )
    db.flush()
    return value


def consume(db: Session, value: str | None, purpose: str = "login", interaction_uid: str | None = None) -> bool:
    """Use the challenge once: True only for an unused, unexpired challenge issued for this purpose and
    interaction (atomic, so two concurrent posts of one form cannot both pass)."""
    if not value:
        return False
    now = utcnow()
    used = affected_rows(
        db,
        update(FaceChallenge)
        .where(
            FaceChallenge.challenge_hash == sha256_hex(value),
            FaceChallenge.purpose == purpose,
            FaceChallenge.interaction_uid.is_(None)
            if interaction_uid is None
            else FaceChallenge.interaction_uid == interaction_uid,
            FaceChallenge.used_at.is_(None),
            FaceChallenge.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False),
    )
    return used == 1
