"""Notifications: queued with the identity change, sent to a real SMTP server (aiosmtpd), retried, never the UIN."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from civid.actor import Actor
from civid.events import EventBus, IdentityStatusChanged, IdentityUpdated
from civid.settings import Settings
from models import ApiKey, AuditEvent, Enrolment, Identity, Notification, utcnow
from models.db import make_engine, make_session_factory, upgrade
from notifications.delivery import Deliverer
from notifications.outbox import subscribe
from tests.notifications.receivers import Inbox, free_port, message_from_bytes

UIN = "4938271650"


def seed_identity(sessions) -> int:  # type: ignore[no-untyped-def]
    """One issued identity with an email and a phone; returns its id."""
    with sessions.begin() as db:
        key = ApiKey(name="officer", role="officer", key_hash="x" * 64, prefix="x", created_at=utcnow())
        db.add(key)
        identity = Identity(uin=UIN)
        db.add(identity)
        db.flush()
        db.add(
            Enrolment(
                public_id="e1",
                status="issued",
                officer_id=key.id,
                given_name="Ana",
                family_name="Chan",
                date_of_birth=date(1980, 1, 31),
                sex="F",
                place_of_birth="Belmopan",
                nationality="BLZ",
                address={},
                email="ana@example.org",
                phone="+5016221234",
                identity_id=identity.id,
            )
        )
        return identity.id


@pytest.fixture
def world(tmp_path: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    settings = Settings(data_dir=tmp_path / "var", smtp_host="127.0.0.1", smtp_port=port, notification_retry_delay_s=0)
    engine = make_engine(f"sqlite:///{tmp_path / 'n.db'}")
    upgrade(engine)
    sessions = make_session_factory(engine)
    identity_id = seed_identity(sessions)
    yield settings, sessions, identity_id, port
    engine.dispose()


def publish(settings: Settings, sessions, event) -> None:  # type: ignore[no-untyped-def]
    bus = EventBus()
    subscribe(bus, settings)
    with sessions.begin() as db:
        bus.publish(db, event)


def status_event(identity_id: int) -> IdentityStatusChanged:
    actor = Actor(id=None, name="adj", role="adjudicator")
    return IdentityStatusChanged(
        identity_id=identity_id, uin=UIN, actor=actor, status="suspended", previous_status="active", reason="fraud"
    )


def test_status_change_is_emailed_in_english_and_spanish_without_the_full_uin(world) -> None:  # type: ignore[no-untyped-def]
    settings, sessions, identity_id, port = world
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        publish(settings, sessions, status_event(identity_id))
        spanish = settings.model_copy(update={"notification_default_language": "es"})
        publish(spanish, sessions, status_event(identity_id))
        assert Deliverer(settings, sessions).deliver_due() == 2
    finally:
        controller.stop()
    english, castellano = (message_from_bytes(raw) for raw in inbox.messages)
    assert english["To"] == "ana@example.org"
    assert english["Subject"] == "The status of your identity changed"
    assert "******1650 changed from active to suspended" in english.get_content()
    assert castellano["Subject"] == "Cambió el estado de su identidad"
    assert "cambió de activa a suspendida" in castellano.get_content()
    assert all(UIN.encode() not in raw for raw in inbox.messages)
    with sessions() as db:
        actions = [e.action for e in db.scalars(select(AuditEvent).where(AuditEvent.action.like("notification.%")))]
        assert actions.count("notification.queued") == 2 and actions.count("notification.sent") == 2
        assert all(row.status == "sent" for row in db.scalars(select(Notification)))


def test_rolled_back_change_queues_nothing(world) -> None:  # type: ignore[no-untyped-def]
    settings, sessions, identity_id, _ = world
    bus = EventBus()
    subscribe(bus, settings)
    with sessions() as db:
        bus.publish(db, status_event(identity_id))
        db.rollback()
    with sessions() as db:
        assert db.scalars(select(Notification)).all() == []


def test_smtp_down_then_up_is_retried_then_sent(world) -> None:  # type: ignore[no-untyped-def]
    settings, sessions, identity_id, port = world
    publish(settings, sessions, IdentityUpdated(identity_id=identity_id, uin=UIN, actor=status_event(1).actor))
    deliverer = Deliverer(settings, sessions)
    assert deliverer.deliver_due() == 0  # no server listening yet
    with sessions() as db:
        row = db.scalars(select(Notification)).one()
        assert (row.status, row.attempts) == ("pending", 1) and row.last_error
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert deliverer.deliver_due() == 1
    finally:
        controller.stop()
    assert message_from_bytes(inbox.messages[0])["Subject"] == "Your identity record was updated"


def test_attempts_spent_is_failed(world) -> None:  # type: ignore[no-untyped-def]
    settings, sessions, identity_id, _ = world
    settings = settings.model_copy(update={"notification_attempts": 2})
    publish(settings, sessions, status_event(identity_id))
    deliverer = Deliverer(settings, sessions)
    deliverer.deliver_due()
    deliverer.deliver_due()
    with sessions() as db:
        row = db.scalars(select(Notification)).one()
        assert (row.status, row.attempts) == ("failed", 2)


def test_claim_abandoned_by_a_dead_process_is_sent_after_its_lease(world) -> None:  # type: ignore[no-untyped-def]
    settings, sessions, identity_id, port = world
    publish(settings, sessions, status_event(identity_id))
    dead = Deliverer(settings, sessions)
    assert dead._claim() is not None  # claimed, then the process "dies" before sending
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        survivor = Deliverer(settings, sessions)
        assert survivor.deliver_due() == 0  # still leased
        with sessions.begin() as db:
            row = db.scalars(select(Notification)).one()
            row.next_attempt_at = utcnow() - timedelta(seconds=1)  # the lease ran out
        assert survivor.deliver_due() == 1
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


def test_templates_dir_overrides_the_shipped_text(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings, sessions, identity_id, port = world
    (tmp_path / "tpl" / "en").mkdir(parents=True)
    (tmp_path / "tpl" / "en" / "identity_status_changed.txt").write_text(
        "Subject: Notice {{ uin_masked }}\nNow {{ status }}.\n"
    )
    settings = settings.model_copy(update={"notification_templates_dir": tmp_path / "tpl"})
    publish(settings, sessions, status_event(identity_id))
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        Deliverer(settings, sessions).deliver_due()
    finally:
        controller.stop()
    received = message_from_bytes(inbox.messages[0])
    assert received["Subject"] == "Notice ******1650"
    assert received.get_content().strip() == "Now suspended."
