"""Identity events: what the owner of an identity tells the rest of civid, instead of calling into it.

enrollment owns identities. When it withdraws a UIN or merges two identities it publishes an event on the
process's ``EventBus`` (``services.events``); kyc (attestation revocation) and idp (grant and token revocation)
subscribe at start-up. So enrollment imports neither, and each reaction is written once, whichever path
(API, console, command line) changed the identity.

Handlers run synchronously, in the order they subscribed, inside the publisher's database transaction: they
are given the publisher's SQLAlchemy session and must neither commit nor roll back. A revocation therefore
commits or rolls back together with the identity change, and an exception in a handler propagates to the
publisher, whose transaction then rolls back — a UIN is never withdrawn while its tokens stay live. Nothing is
queued or retried; work that must wait for the commit (a back-channel logout POST) is queued by the handler in
the same transaction, as the rest of civid does.

A handler subscribed to an event class also receives its subclasses: a merge is a withdrawal
(``IdentityMerged`` is an ``IdentityWithdrawn``), so whoever ends what a withdrawn UIN holds need not know
every way a UIN can be withdrawn. A suspension, deactivation or reactivation is an
``IdentityStatusChanged`` (``enrollment.identity_status``). Events that change nothing others hold — a UIN issued,
a sign-in by a new method, a consent, an attestation — are published for the person to be told
(``notifications.outbox``).

The bus belongs to one assembled process (``Services.events``, filled by ``build_services``), never to this
module: tests and several apps in one process each get their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from sqlalchemy.orm import Session

from civid.actor import Actor


@dataclass(frozen=True, kw_only=True)
class IdentityEvent:
    """Something happened to one identity (the UIN's row), done by ``actor``."""

    # A short, stable name for the event (a grant revoked because of it carries it as its reason).
    name: ClassVar[str] = "identity_event"

    identity_id: int
    uin: str
    actor: Actor


@dataclass(frozen=True, kw_only=True)
class IdentityWithdrawn(IdentityEvent):
    """The UIN no longer identifies anyone: no login, no token, no claim, no attestation (never reused)."""

    name: ClassVar[str] = "identity_withdrawn"

    reason: str  # why, in words: kept with each attestation revoked because of it (no personal data)


@dataclass(frozen=True, kw_only=True)
class IdentityMerged(IdentityWithdrawn):
    """The UIN was withdrawn because its holder already had one: ``merged_into_*`` (the identity that stays)."""

    name: ClassVar[str] = "identity_merged"

    merged_into_identity_id: int
    merged_into_uin: str


@dataclass(frozen=True, kw_only=True)
class IdentityStatusChanged(IdentityEvent):
    """An officer's lifecycle decision changed the identity's status (``enrollment.identity_status``):
    ``suspended`` or ``deactivated`` ends what the UIN holds (sessions, tokens, attestations) like a withdrawal,
    without withdrawing the number; ``active`` again (a reactivation) gives nothing back: the person signs in
    and consents again."""

    name: ClassVar[str] = "identity_status_changed"

    status: str  # the new status: active | suspended | deactivated
    previous_status: str
    reason: str  # the reason code (e.g. ``death``, ``court_order``): kept with what it revokes

    @property
    def ends_use(self) -> bool:
        """Whether the identity can no longer be used (every subscriber revokes what it holds)."""
        return self.status != "active"


@dataclass(frozen=True, kw_only=True)
class IdentityUpdated(IdentityEvent):
    """The identity's record (demographics) was corrected; ``fields`` names what changed (never the values)."""

    name: ClassVar[str] = "identity_updated"

    fields: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class UinIssued(IdentityEvent):
    """A UIN was issued to a new identity (the enrolment's deduplication found no one)."""

    name: ClassVar[str] = "uin_issued"


@dataclass(frozen=True, kw_only=True)
class UinRecoveryRequested(IdentityEvent):
    """Someone proved online to be the holder of this identity (face and date of birth) and asked for their
    lost UIN: it is sent to the contact on the record, never shown on the page (enrollment.uin_recovery)."""

    name: ClassVar[str] = "uin_recovery"


@dataclass(frozen=True, kw_only=True)
class SignedInAnew(IdentityEvent):
    """The person signed in by a method they had never used (``method``: face, passkey), or with a passkey
    never used before (``new_device``): the person is told, in case it was not them (idp publishes it)."""

    name: ClassVar[str] = "signed_in_anew"

    method: str
    new_device: bool = False


@dataclass(frozen=True, kw_only=True)
class ConsentGiven(IdentityEvent):
    """The person consented to share claims with a portal or bank (``client_name``, as registered)."""

    name: ClassVar[str] = "consent_given"

    client_name: str


@dataclass(frozen=True, kw_only=True)
class AttestationIssued(IdentityEvent):
    """A signed KYC attestation about the person was issued to a bank (``client_name``); kyc publishes it."""

    name: ClassVar[str] = "attestation_issued"

    client_name: str


E = TypeVar("E", bound=IdentityEvent)
Handler = Callable[[Session, E], None]  # called with the publisher's session and the event


class EventBus:
    """Subscriptions by event class, and publishing inside the caller's transaction (see the module docstring)."""

    def __init__(self) -> None:
        self._subscriptions: list[tuple[type[IdentityEvent], Handler[Any]]] = []

    def subscribe(self, event_type: type[E], handler: Handler[E]) -> None:
        """Run ``handler(session, event)`` for every published ``event_type`` (or subclass); subscribing the
        same handler again is a no-op, so assembling twice never revokes twice."""
        if (event_type, handler) not in self._subscriptions:
            self._subscriptions.append((event_type, handler))

    def handlers(self, event_type: type[IdentityEvent]) -> list[Handler[Any]]:
        """The handlers an event of exactly ``event_type`` runs, in order, each once."""
        found: list[Handler[Any]] = []
        for subscribed, handler in self._subscriptions:
            if issubclass(event_type, subscribed) and handler not in found:
                found.append(handler)
        return found

    def publish(self, session: Session, event: IdentityEvent) -> None:
        """Run every handler for ``event`` now, in ``session``'s transaction; a handler's exception propagates."""
        for handler in self.handlers(type(event)):
            handler(session, event)
