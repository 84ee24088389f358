"""OpenID4VP presentation transactions: a relying party (a bank, a counter) asked civid to request a presentation
of the citizen's wallet credential, and civid verifies what the wallet posts back.

One row per request: the DCQL query, the ``nonce`` and ``state`` sent to the wallet, and the outcome. The wallet's
answer is single-use: the first response for a ``state`` moves the row out of ``pending`` (a conditional update),
any later one is refused. The disclosed claim values are kept (``result``) only for the bank to read until the
transaction expires; they never go into the audit trail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class PresentationTransaction(Base):
    """One presentation request and its outcome (pending | verified | failed)."""

    __tablename__ = "presentation_transactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(43), unique=True)  # the bank's handle: /v1/presentations/{uid}
    client_id: Mapped[str] = mapped_column(String(64), index=True)  # the relying party that asked
    request_handle: Mapped[str] = mapped_column(String(43), unique=True)  # names the request_uri
    state: Mapped[str] = mapped_column(String(43), unique=True)  # the wallet's response names it
    nonce: Mapped[str] = mapped_column(String(43))
    dcql_query: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending | verified | failed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    request_fetched_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    # verified: {credential query id: {"claims": {...}, "issuer", "vct", "status"}}; wiped once expired.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    credential_status_id: Mapped[int | None] = mapped_column(ForeignKey("credential_statuses.id"))
