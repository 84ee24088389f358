"""The two ways a message leaves civid: email over SMTP, and SMS through an HTTP gateway (the country's operator
or an aggregator), each raising ``DeliveryFailed`` with whether another attempt could succeed."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import httpx

from civid.settings import Settings
from models import Notification


class DeliveryFailed(Exception):
    """The message was not accepted; ``permanent``: the receiver refused it, so retrying cannot help."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason[:200])
        self.permanent = permanent


def send(settings: Settings, row: Notification) -> None:
    if row.channel == "sms":
        send_sms(settings, row)
    else:
        send_email(settings, row)


def send_email(settings: Settings, row: Notification) -> None:
    if settings.smtp_host is None:
        raise DeliveryFailed("no SMTP server configured")
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
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryFailed(f"recipient refused: {exc}", permanent=True) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc


def send_sms(settings: Settings, row: Notification) -> None:
    """POST ``{"to", "sender", "text", "reference"}`` as JSON to the gateway. ``reference`` is the same on every
    attempt of one message, so a gateway that keeps it can drop a resend after an answer lost on the way back
    (delivery is at least once). 2xx: accepted; 408, 429, 5xx or no answer: retried; another 4xx: failed."""
    if settings.sms_gateway_url is None:
        raise DeliveryFailed("no SMS gateway configured")
    token = settings.sms_gateway_token
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
    body = {"to": row.address, "sender": settings.sms_sender, "text": row.body, "reference": f"civid-{row.id}"}
    try:
        answer = httpx.post(
            str(settings.sms_gateway_url),
            json=body,
            headers=headers,
            timeout=settings.sms_gateway_timeout_s,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
    if answer.is_success:
        return
    retry = answer.status_code in (408, 429) or answer.status_code >= 500
    raise DeliveryFailed(f"gateway answered {answer.status_code}", permanent=not retry)
