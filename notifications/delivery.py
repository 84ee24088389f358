"""``Deliverer`` sends due notifications with retries (exponential backoff, then ``failed``).

A claim is a lease: ``next_attempt_at`` moved ahead by ``notification_lease_s`` and ``attempts`` counted, written
by a compare-and-set on the attempt count, so of two processes that read one due row only one claims it (on
PostgreSQL ``FOR UPDATE SKIP LOCKED`` also lets the other pass on to the next row at once). A row whose claimant
died is due again when its lease runs out: delivery survives a restart."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from civid import audit
from civid.settings import Settings
from models import Identity, Notification, utcnow
from models.db import claim_due
from notifications.channels import DeliveryFailed, send


class Deliverer:
    """Sends due notifications; ``deliver_due`` is one pass (the serve process runs it in a loop)."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions

    def _claim(self, due_by: datetime | None = None) -> Notification | None:
        now = utcnow()
        lease_until = now + timedelta(seconds=self.settings.notification_lease_s)
        with self.sessions.begin() as db:
            row: Notification | None = claim_due(
                db, Notification, due_by or now, lease_until, Notification.status == "pending"
            )
            if row is not None:
                db.expunge(row)
            return row

    def deliver_due(self) -> int:
        """Send every due row once; return how many were sent."""
        sent = 0
        started = utcnow()  # a row retried in this pass waits for the next one
        while (row := self._claim(started)) is not None:
            try:
                send(self.settings, row)
                failure = None
            except DeliveryFailed as exc:
                failure = exc
            sent += failure is None
            self._finish(row, failure)
        return sent

    def _finish(self, claimed: Notification, failure: DeliveryFailed | None) -> None:
        settings = self.settings
        with self.sessions.begin() as db:
            row = db.get(Notification, claimed.id)
            if row is None or row.attempts != claimed.attempts:  # a later claimant owns it now
                return
            now = utcnow()
            if failure is None:
                row.status, row.sent_at, row.last_error = "sent", now, None
            elif failure.permanent or row.attempts >= settings.notification_attempts:
                row.status, row.last_error = "failed", str(failure)
            else:
                row.last_error = str(failure)
                delay = settings.notification_retry_delay_s * 2 ** (row.attempts - 1)
                row.next_attempt_at = now + timedelta(seconds=delay)
            uin = db.scalar(select(Identity.uin).where(Identity.id == row.identity_id))
            audit.record(
                db,
                audit.SYSTEM,
                "notification.sent" if failure is None else "notification.failed",
                "identity",
                uin or "?",
                kind=row.kind,
                channel=row.channel,
                attempt=row.attempts,
                will_retry=row.status == "pending",
            )
