"""Staff accounts: the people who use the officer console (officers, adjudicators, auditors, admins).

A staff member is a citizen with a UIN who signs in to the console through civid's own OpenID provider
(with a passkey); the account says which roles they hold. Each account is backed by an API-key row with no
usable key (``api_key_id``), so every enrolment, decision and audit event names the same actor whether it
came through the console or the API.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class StaffAccount(Base):
    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uin: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    roles: Mapped[list[str]] = mapped_column(JSON)  # subset of models.access.ROLES (registrar excluded)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column()


class ConsoleSession(Base):
    """A staff member signed in to the console (the browser holds a random token; we keep its hash).
    Ends at sign-out, after ``console_idle_timeout_s`` without a request, or ``console_session_max_s``."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"), index=True)
    acr: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()
