"""The outbox: identity events queue rendered messages — an email and an SMS, for each channel configured and each
contact the person gave — in the change's own transaction (a rolled-back change sends nothing);
``notifications.delivery`` sends them in the background."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from civid import audit
from civid.events import (
    AttestationIssued,
    ConsentGiven,
    EventBus,
    IdentityEvent,
    IdentityStatusChanged,
    IdentityUpdated,
    SignedInAnew,
    UinIssued,
    UinRecoveryRequested,
)
from civid.settings import Settings
from models import Enrolment, Notification, utcnow
from notifications.templates import environment, render

# Every event a person is told about; a template per kind, channel and language (notifications/templates).
TOLD = (
    UinIssued,
    IdentityUpdated,
    IdentityStatusChanged,
    SignedInAnew,
    ConsentGiven,
    AttestationIssued,
    UinRecoveryRequested,
)


@dataclass(frozen=True)
class Contacts:
    email: str | None
    phone: str | None


def subscribe(events: EventBus, settings: Settings) -> None:
    """Queue a notification on every channel configured for every event the person is told about."""
    env = environment(settings.notification_templates_dir)

    def queue(db: Session, event: IdentityEvent) -> None:
        contacts = contacts_of(db, event.identity_id)
        channels = []
        if settings.smtp_host and contacts.email:
            channels.append(("email", contacts.email))
        if settings.sms_gateway_url and contacts.phone:
            channels.append(("sms", contacts.phone))
        language = settings.notification_default_language
        now = utcnow()
        for channel, address in channels:
            message = render(env, language, event.name, event.uin, channel, **_values(event))
            db.add(
                Notification(
                    identity_id=event.identity_id,
                    kind=event.name,
                    channel=channel,
                    address=address,
                    language=language,
                    subject=message.subject,
                    body=message.body,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            audit.record(
                db, audit.SYSTEM, "notification.queued", "identity", event.uin, kind=event.name, channel=channel
            )

    for event_type in TOLD:
        events.subscribe(event_type, queue)


def _values(event: IdentityEvent) -> dict[str, object]:
    """What a template of this event may show besides the masked UIN: codes and names, never personal data
    (and the UIN itself only in the answer to a lost-UIN request)."""
    if isinstance(event, IdentityStatusChanged):
        return {"status": event.status, "previous_status": event.previous_status, "reason": event.reason}
    if isinstance(event, IdentityUpdated):
        return {"fields": list(event.fields)}
    if isinstance(event, SignedInAnew):
        return {"method": event.method, "new_device": event.new_device}
    if isinstance(event, ConsentGiven | AttestationIssued):
        return {"client_name": event.client_name}
    if isinstance(event, UinRecoveryRequested):
        # The one message with the whole UIN: the person lost it and asked for it, proving their face and date of
        # birth, and it goes only to the contact on their record (issue #16 item 4).
        return {"full_uin": event.uin}
    return {}


def contacts_of(db: Session, identity_id: int) -> Contacts:
    """The email and phone of the identity's latest enrolment that gave each."""

    def latest(column: InstrumentedAttribute[str | None]) -> str | None:
        return db.scalar(
            select(column)
            .where(Enrolment.identity_id == identity_id, column.is_not(None))
            .order_by(Enrolment.id.desc())
            .limit(1)
        )

    return Contacts(email=latest(Enrolment.email), phone=latest(Enrolment.phone))
