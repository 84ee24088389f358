"""What the OpenID provider does when an identity changes (``civid.events``): subscribed by ``subscribe``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.events import EventBus, IdentityStatusChanged, IdentityWithdrawn
from idp import identity_events
from idp.grant_lifecycle import revoke_grants
from models import Grant, LoginSession, utcnow

if TYPE_CHECKING:
    from idp.backchannel_logout import BackchannelLogouts


def subscribe(bus: EventBus, backchannel_logouts: BackchannelLogouts | None = None) -> None:
    """Register the provider's handlers (assembled with the services: ``build_services``); ``backchannel_logouts``
    is woken when a suspension's logout tokens are committed (None: they wait for its next poll)."""
    bus.subscribe(IdentityWithdrawn, end_grants)
    bus.subscribe(IdentityStatusChanged, EndUse(backchannel_logouts))
    identity_events.subscribe(bus)  # a corrected record: a Security Event Token to the portals that hold it


def end_grants(db: Session, event: IdentityWithdrawn) -> None:
    """A withdrawn UIN's portals lose their tokens now (same transaction), not when the tokens expire; the
    grants carry the event's name (``identity_merged``) as their reason."""
    revoke_grants(db, Grant.identity_id == event.identity_id, reason=event.name, actor=event.actor)


@dataclass(frozen=True)
class EndUse:
    """A suspended or deactivated identity is signed out everywhere at once: every live login session ended,
    every grant revoked with its tokens (offline ones too: the person may no longer be represented), and each
    portal that received tokens from those sessions told by back-channel logout. A dataclass, so subscribing
    the same notifier twice is the same handler (``EventBus.subscribe`` is then a no-op)."""

    backchannel_logouts: BackchannelLogouts | None

    def __call__(self, db: Session, event: IdentityStatusChanged) -> None:
        if not event.ends_use:
            return  # a reactivation gives nothing back: the person signs in and consents again
        from idp import backchannel_logout  # the outbox and its delivery: loaded only when needed

        now = utcnow()
        live = list(
            db.scalars(
                select(LoginSession).where(
                    LoginSession.identity_id == event.identity_id, LoginSession.ended_at.is_(None)
                )
            )
        )
        for row in live:
            row.ended_at = now
        reason = f"identity_{event.status}"
        revoked = revoke_grants(db, Grant.identity_id == event.identity_id, reason=reason, actor=event.actor)
        # Every session of the person, ended now or earlier: a portal whose tokens came from an older session
        # (an offline grant) is told too; ``enqueue`` never queues one session's logout twice.
        every = db.scalars(select(LoginSession).where(LoginSession.identity_id == event.identity_id)).all()
        notified = sum(backchannel_logout.enqueue(db, s, self.backchannel_logouts) for s in every)
        audit.record(
            db,
            event.actor,
            "logout",
            "identity",
            event.uin,
            reason=reason,
            sessions_ended=len(live),
            grants_revoked=revoked,
            backchannel_logouts=notified,
        )
