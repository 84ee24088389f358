"""The outbox: identity events queue a rendered email in the change's own transaction; ``Deliverer`` sends due
rows over SMTP with retries (exponential backoff, then ``failed``). A claim is a lease (``next_attempt_at``
moved ahead) taken with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two processes never send one row at once,
and a row whose claimant died is due again when its lease runs out: delivery survives a restart."""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from civid import audit
from civid.events import EventBus, IdentityEvent, IdentityStatusChanged, IdentityUpdated, UinIssued
from civid.settings import Settings
from models import Enrolment, Identity, Notification, utcnow
from notifications.templates import environment, render


def subscribe(events: EventBus, settings: Settings) -> None:
    """Queue a notification for every event the person is told about."""
    env = environment(settings.notification_templates_dir)

    def queue(db: Session, event: IdentityEvent) -> None:
        values = {}
        if isinstance(event, IdentityStatusChanged):
            values = {"status": event.status, "previous_status": event.previous_status}
        email = _email_of(db, event.identity_id)
        if email is None:  # no address: nothing to queue
            return
        language = settings.notification_default_language
        message = render(env, language, event.name, event.uin, **values)
        db.add(
            Notification(
                identity_id=event.identity_id,
                kind=event.name,
                channel="email",
                address=email,
                language=language,
                subject=message.subject,
                body=message.body,
                status="pending",
                attempts=0,
                next_attempt_at=utcnow(),
                created_at=utcnow(),
            )
        )
        audit.record(db, audit.SYSTEM, "notification.queued", "identity", event.uin, kind=event.name, channel="email")

    for event_type in (UinIssued, IdentityUpdated, IdentityStatusChanged):
        events.subscribe(event_type, queue)


def _email_of(db: Session, identity_id: int) -> str | None:
    """The email of the identity's latest enrolment that gave one."""
    return db.scalar(
        select(Enrolment.email)
        .where(Enrolment.identity_id == identity_id, Enrolment.email.is_not(None))
        .order_by(Enrolment.id.desc())
        .limit(1)
    )


class Deliverer:
    """Sends due notifications; ``deliver_due`` is one pass (the serve process runs it in a loop)."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions

    def _claim(self, due_by: datetime | None = None) -> Notification | None:
        now = utcnow()
        due_by = due_by or now
        with self.sessions.begin() as db:
            query = (
                select(Notification)
                .where(Notification.status == "pending", Notification.next_attempt_at <= due_by)
                .order_by(Notification.next_attempt_at)
                .limit(1)
            )
            if db.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            row = db.scalar(query)
            if row is None:
                return None
            row.attempts += 1
            row.next_attempt_at = now + timedelta(seconds=self.settings.notification_lease_s)
            db.flush()
            db.expunge(row)
            return row

    def deliver_due(self) -> int:
        """Send every due row once; return how many were sent."""
        sent = 0
        started = utcnow()  # a row retried in this pass waits for the next one
        while (row := self._claim(started)) is not None:
            error = self._send(row)
            sent += error is None
            self._finish(row, error)
        return sent

    def _send(self, row: Notification) -> str | None:
        settings = self.settings
        if settings.smtp_host is None:
            return "no SMTP server configured"
        message = EmailMessage()
        message["From"] = settings.smtp_from
        message["To"] = row.address
        message["Subject"] = row.subject
        message.set_content(row.body)
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls()
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, settings.smtp_password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            return f"{type(exc).__name__}: {exc}"[:200]
        return None

    def _finish(self, claimed: Notification, error: str | None) -> None:
        settings = self.settings
        with self.sessions.begin() as db:
            row = db.get(Notification, claimed.id)
            if row is None or row.attempts != claimed.attempts:  # a later claimant owns it now
                return
            uin = db.get(Identity, row.identity_id)
            if error is None:
                row.status, row.sent_at, row.last_error = "sent", utcnow(), None
            elif row.attempts >= settings.notification_attempts:
                row.status, row.last_error = "failed", error
            else:
                row.last_error = error
                delay = settings.notification_retry_delay_s * 2 ** (row.attempts - 1)
                row.next_attempt_at = utcnow() + timedelta(seconds=delay)
            action = "notification.sent" if error is None else "notification.failed"
            audit.record(
                db,
                audit.SYSTEM,
                action,
                "identity",
                uin.uin if uin else "?",
                kind=row.kind,
                channel=row.channel,
                attempt=row.attempts,
                will_retry=row.status == "pending",
            )
