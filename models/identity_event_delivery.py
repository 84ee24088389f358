"""Security Event Tokens still to be pushed to a client about one person (the outbox of ``idp.identity_events``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class IdentityEventDelivery(Base):
    """One SET for one client, queued in the change's own transaction and deleted once delivered or given up (the
    audit trail keeps the outcome). ``jti`` is fixed at queueing, so a resend after a lost answer is the same SET
    and the receiver can drop it (RFC 8935 §2); the token is signed afresh at each attempt."""

    __tablename__ = "identity_event_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(200))
    claims: Mapped[list[str]] = mapped_column(JSON)  # the changed claims' names this client consented to
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)  # while an attempt runs: its lease's end
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
