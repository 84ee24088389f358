"""Wallet credentials (OpenID4VCI, credentials/): the offers an officer makes at a desk, the nonces a wallet's key
proofs must carry, and each credential issued.

Secrets are stored only as hashes: the pre-authorized code (SHA-256), the transaction code (SHA-256 of the code and
the transaction code together, so six digits alone never identify an offer), and the offer's access token. An
issued credential's row names what it states (claim names, never values), the holder key's thumbprint and its
status-list slot (``CredentialStatus``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class WalletOffer(Base):
    """A credential offer with a pre-authorized code, made by an officer for one identity: short-lived, redeemed once
    at the token endpoint (with its transaction code), then its access token may fetch one credential."""

    __tablename__ = "wallet_offers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tx_code_hash: Mapped[str] = mapped_column(String(64))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    redeemed_at: Mapped[datetime | None] = mapped_column()
    locked_at: Mapped[datetime | None] = mapped_column()  # too many wrong transaction codes
    access_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    access_token_expires_at: Mapped[datetime | None] = mapped_column()
    credential_issued_at: Mapped[datetime | None] = mapped_column()  # the token fetches one credential


class WalletNonce(Base):
    """A ``c_nonce`` from the Nonce Endpoint: a key proof must carry one, fresh, and each is accepted once."""

    __tablename__ = "wallet_nonces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None] = mapped_column()


class WalletCredential(Base):
    """One SD-JWT VC issued to a wallet: for whom, bound to which key, stating which claims, with which status."""

    __tablename__ = "wallet_credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    status_id: Mapped[int] = mapped_column(ForeignKey("credential_statuses.id"), unique=True)
    vct: Mapped[str] = mapped_column(String(200))
    flow: Mapped[str] = mapped_column(String(32))  # pre-authorized_code | authorization_code
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("wallet_offers.id"))
    client_id: Mapped[str | None] = mapped_column(String(64))
    holder_jkt: Mapped[str] = mapped_column(String(64))  # RFC 7638 thumbprint of the cnf key
    claims: Mapped[list[str]] = mapped_column(JSON, default=list)  # the claim names it states, never values
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
