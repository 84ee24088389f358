"""The identity event bus: who runs, in what order, how often, and what a failing handler does to the
publisher's transaction; and that assembled services carry every package's subscription."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from civid.audit import SYSTEM
from civid.events import EventBus, IdentityEvent, IdentityMerged, IdentityWithdrawn


def merged() -> IdentityMerged:
    return IdentityMerged(
        identity_id=7,
        uin="2468013579",
        actor=SYSTEM,
        reason="UIN withdrawn: case c1",
        merged_into_identity_id=3,
        merged_into_uin="1357924680",
    )


def test_handlers_run_in_subscription_order_with_the_publishers_session():
    bus, seen = EventBus(), []
    bus.subscribe(IdentityWithdrawn, lambda db, event: seen.append(("first", db, event)))
    bus.subscribe(IdentityMerged, lambda db, event: seen.append(("second", db, event)))
    session, event = object(), merged()
    bus.publish(session, event)  # type: ignore[arg-type]
    assert seen == [("first", session, event), ("second", session, event)]


def test_a_merge_is_a_withdrawal_but_a_withdrawal_is_not_a_merge():
    bus, seen = EventBus(), []
    bus.subscribe(IdentityWithdrawn, lambda db, event: seen.append("withdrawn"))
    bus.subscribe(IdentityMerged, lambda db, event: seen.append("merged"))
    bus.subscribe(IdentityEvent, lambda db, event: seen.append("any"))
    bus.publish(None, IdentityWithdrawn(identity_id=7, uin="2468013579", actor=SYSTEM, reason="r"))  # type: ignore[arg-type]
    assert seen == ["withdrawn", "any"]
    assert (IdentityWithdrawn.name, IdentityMerged.name) == ("identity_withdrawn", "identity_merged")


def test_subscribing_a_handler_twice_runs_it_once():
    bus, seen = EventBus(), []

    def handler(db: Session, event: IdentityWithdrawn) -> None:
        seen.append(event.uin)

    bus.subscribe(IdentityWithdrawn, handler)
    bus.subscribe(IdentityWithdrawn, handler)
    bus.subscribe(IdentityMerged, handler)  # also matched through its base class: still once
    bus.publish(None, merged())  # type: ignore[arg-type]
    assert seen == ["2468013579"] and bus.handlers(IdentityMerged) == [handler]


def test_publishing_with_no_subscriber_does_nothing():
    EventBus().publish(None, merged())  # type: ignore[arg-type]


def test_a_failing_handler_propagates_and_the_publishers_transaction_rolls_back():
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE changes (uin TEXT)"))
    bus = EventBus()
    bus.subscribe(IdentityWithdrawn, lambda db, event: db.execute(text("INSERT INTO changes VALUES ('revoked')")))

    def refuse(db: Session, event: IdentityWithdrawn) -> None:
        raise RuntimeError("the status list is full")

    bus.subscribe(IdentityMerged, refuse)
    with pytest.raises(RuntimeError, match="status list"), Session(engine) as session, session.begin():
        session.execute(text("INSERT INTO changes VALUES ('withdrawn')"))
        bus.publish(session, merged())
    with Session(engine) as session:
        assert session.scalar(text("SELECT count(*) FROM changes")) == 0  # neither the change nor the first handler's


def test_assembled_services_revoke_attestations_then_grants_on_a_withdrawal(services):
    """Every process builds its services with ``build_services`` (the app, the command line, batch jobs), and
    so publishes on a bus where kyc, credentials and idp are subscribed: attestations first, then cards and wallet
    credentials, then grants (the audit order of before events existed, with credentials beside attestations)."""
    from credentials import subscriptions as credential_subscriptions
    from idp import subscriptions as idp_subscriptions
    from kyc import subscriptions as kyc_subscriptions

    expected = [
        kyc_subscriptions.revoke_attestations,
        credential_subscriptions.revoke_on_withdrawal,
        idp_subscriptions.end_grants,
    ]
    assert services.events.handlers(IdentityMerged) == expected
    assert services.events.handlers(IdentityWithdrawn) == expected
