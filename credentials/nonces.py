"""The Nonce Endpoint (OpenID4VCI 1.0 §7): a fresh ``c_nonce`` for a wallet's key proof.

Each nonce is random (128 bits), accepted for ``wallet_nonce_ttl_s`` and only once: a proof captured on its way to
the credential endpoint cannot be replayed to bind another credential to the same key. The endpoint needs no
access token (§7.1), so rows are pruned once expired.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from civid.deps import get_services
from credentials.issuer_metadata import NONCE_PATH
from credentials.runtime import CredentialServices
from models import WalletNonce, utcnow
from models.db import affected_rows

NO_STORE = {"Cache-Control": "no-store"}  # §7.2

router = APIRouter(tags=["credentials"])


def issue(db: Session, ttl_s: int) -> str:
    """A fresh c_nonce, stored for ``ttl_s`` seconds (expired ones are pruned here)."""
    now = utcnow()
    db.execute(delete(WalletNonce).where(WalletNonce.expires_at <= now))
    value = secrets.token_urlsafe(16)
    db.add(WalletNonce(value=value, created_at=now, expires_at=now + timedelta(seconds=ttl_s)))
    db.flush()
    return value


def consume(db: Session, value: str) -> bool:
    """Accept ``value`` once: True only for a known, unexpired, unused nonce (a conditional update, so of two
    concurrent proofs with one nonce only one is accepted)."""
    now = utcnow()
    return (
        affected_rows(
            db,
            update(WalletNonce)
            .where(WalletNonce.value == value, WalletNonce.used_at.is_(None), WalletNonce.expires_at > now)
            .values(used_at=now),
        )
        == 1
    )


@router.post(NONCE_PATH)
def nonce(services: CredentialServices = Depends(get_services)) -> JSONResponse:
    """A c_nonce for the next key proof."""
    with services.sessions.begin() as db:
        value = issue(db, services.settings.wallet_nonce_ttl_s)
    return JSONResponse({"c_nonce": value}, headers=NO_STORE)
