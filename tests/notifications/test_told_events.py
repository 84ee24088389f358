"""What a person is told, end to end: an enrolment's UIN, a first sign-in by face, a consent — by email to a real
SMTP server and by SMS to a real HTTP gateway — and every event's templates in both languages and channels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from civid.actor import Actor
from civid.settings import Settings
from models import Notification
from notifications.delivery import Deliverer
from notifications.outbox import TOLD
from notifications.templates import SMS_MAX_CHARS, environment, render
from tests.conftest import make_settings
from tests.idp.conftest import enrol_citizen
from tests.idp.frontchannel import code_for, portal
from tests.notifications.receivers import Gateway, Inbox, free_port, sms_gateway, smtp_server, wait_for

UIN = "4938271650"
VALUES: dict[str, dict[str, object]] = {
    "identity_status_changed": {"status": "deactivated", "previous_status": "active", "reason": "death"},
    "identity_updated": {"fields": ["family_name", "address"]},
    "signed_in_anew": {"method": "passkey", "new_device": True},
    "consent_given": {"client_name": "Ministry of Health"},
    "attestation_issued": {"client_name": "Belize Bank"},
    "uin_issued": {},
    "uin_recovery": {"full_uin": UIN},
}
RECOVERY = "uin_recovery"  # the one message with the whole UIN: the person asked for it (docs/lost-uin.md)


@pytest.fixture
def receivers() -> Iterator[tuple[int, Inbox, Gateway]]:
    port = free_port()
    with smtp_server(port) as inbox, sms_gateway() as gateway:
        yield port, inbox, gateway


@pytest.fixture
def settings(tmp_path: Path, receivers: tuple[int, Inbox, Gateway]) -> Settings:
    port, _, gateway = receivers
    return make_settings(
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=port,
        sms_gateway_url=gateway.url,
        sms_gateway_token="gw-secret",
        sms_sender="BZ-ID",
    )


def kinds(services) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return [(n.kind, n.channel) for n in db.scalars(select(Notification).order_by(Notification.id))]


def test_uin_first_sign_in_and_consent_reach_the_person_by_email_and_sms(client, services, keys, receivers):  # type: ignore[no-untyped-def]
    _, inbox, gateway = receivers
    citizen = enrol_citizen(client, keys, given_name="Barack", family_name="Obama")
    rp = portal(services, name="Ministry of Health portal")
    code_for(client, rp, citizen)  # first face sign-in, then the consent page
    client.cookies.clear()
    code_for(client, rp, citizen)  # face again (not new), consent already given: nothing more to tell
    told = [
        ("uin_issued", "email"),
        ("uin_issued", "sms"),
        ("signed_in_anew", "email"),
        ("signed_in_anew", "sms"),
        ("consent_given", "email"),
        ("consent_given", "sms"),
    ]
    assert kinds(services) == told
    Deliverer(services.settings, services.sessions).deliver_due()  # the serve loop may have sent some already
    wait_for(lambda: len(inbox.messages) == 3 and len(gateway.received) == 3)
    subjects = [m["Subject"] for m in inbox.emails()]
    assert subjects == [
        "Your national identity number was issued",
        "A new sign-in to your identity",
        "You agreed to share your data with Ministry of Health portal",
    ]
    assert all(m["To"] == "maria@example.bz" for m in inbox.emails())
    masked = "*" * 6 + citizen.uin[-4:]
    assert (
        masked in inbox.emails()[1].get_content()
        and "a face check for the first time" in inbox.emails()[1].get_content()
    )
    first = gateway.received[0]
    assert first["headers"]["Authorization"] == "Bearer gw-secret"
    assert first["body"]["to"] == "+5016101234" and first["body"]["sender"] == "BZ-ID"
    assert first["body"]["reference"].startswith("civid-")
    assert gateway.texts()[0].startswith(f"civid: your national identity number {masked} was issued.")
    everything = b"".join(inbox.messages) + "".join(gateway.texts()).encode()
    assert citizen.uin.encode() not in everything  # only the masked UIN ever leaves
    with services.sessions() as db:
        assert {n.status for n in db.scalars(select(Notification))} == {"sent"}


def test_a_refusing_gateway_fails_at_once_and_a_busy_one_is_retried(client, services, keys, receivers):  # type: ignore[no-untyped-def]
    _, _, gateway = receivers
    settings = services.settings.model_copy(update={"smtp_host": None, "notification_retry_delay_s": 0})
    deliverer = Deliverer(settings, services.sessions)
    gateway.status = 400  # e.g. a number the gateway does not serve
    enrol_citizen(client, keys, given_name="Barack", family_name="Obama")
    deliverer.deliver_due()
    with services.sessions() as db:
        sms = db.scalars(select(Notification).where(Notification.channel == "sms")).one()
        assert (sms.status, sms.attempts, sms.last_error) == ("failed", 1, "gateway answered 400")
    gateway.status = 503
    enrol_citizen(client, keys, "biden_2010_blue_room.jpg", given_name="Joseph", family_name="Biden")
    deliverer.deliver_due()
    with services.sessions() as db:
        (busy,) = db.scalars(select(Notification).where(Notification.channel == "sms", Notification.status != "failed"))
        assert (busy.status, busy.attempts) == ("pending", 1)
    gateway.status = 202
    assert deliverer.deliver_due() >= 1
    with services.sessions() as db:
        assert db.get(Notification, busy.id).status == "sent"  # type: ignore[union-attr]


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("channel", ["email", "sms"])
def test_every_told_event_has_a_template_in_each_language_and_channel(language: str, channel: str) -> None:
    env = environment(None)
    for event in TOLD:
        message = render(env, language, event.name, UIN, channel, **VALUES[event.name])
        if event.name == RECOVERY:
            assert UIN in message.body and UIN not in message.subject
        else:
            assert "******1650" in message.body and UIN not in message.body + message.subject
        if channel == "sms":
            assert message.subject == "" and len(message.body) <= SMS_MAX_CHARS and "\n" not in message.body
        else:
            assert message.subject and "{{" not in message.body
    spanish = render(env, "es", "identity_updated", UIN, channel, fields=["family_name", "address"])
    if channel == "email":
        assert "(apellido, dirección)" in spanish.body


def test_sms_is_not_queued_without_a_gateway_nor_email_without_a_server(tmp_path: Path) -> None:
    from civid.events import EventBus, UinIssued
    from models.db import make_engine, make_session_factory, upgrade
    from notifications.outbox import subscribe
    from tests.notifications.test_outbox import seed_identity

    engine = make_engine(f"sqlite:///{tmp_path / 'n.db'}")
    upgrade(engine)
    sessions = make_session_factory(engine)
    identity_id = seed_identity(sessions)
    bus = EventBus()
    subscribe(bus, Settings(data_dir=tmp_path / "var"))
    with sessions.begin() as db:
        bus.publish(db, UinIssued(identity_id=identity_id, uin=UIN, actor=Actor(None, "officer", "officer")))
    with sessions() as db:
        assert db.scalars(select(Notification)).all() == []
    engine.dispose()
