"""API keys bound to a role; only a SHA-256 of each key is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

# registrar: an initial access token for OpenID Connect Dynamic Client Registration (RFC 7591 §3), nothing else.
# abis: MOSIP's registration processor (through its queue bridge) calling civid as its ABIS (abis/), nothing else.
ROLES = ("officer", "adjudicator", "auditor", "admin", "registrar", "abis")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    # Keys are 256-bit random tokens, so a plain SHA-256 is enough (no password hashing needed).
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
