"""A resident locks and unlocks each of their authentication methods, or unlocks one for a while.

MOSIP's Resident Services call this "auth type lock/unlock": a locked method is refused for that identity
whoever presents it, until the resident unlocks it (for good, or for a duration after which it is locked again
by itself). civid's methods (``METHODS``):

- ``face``: face login at the identity provider (idp.face_login);
- ``passkey``: passkey login (idp.passkeys);
- ``officer_verification``: an officer's 1:1 biometric verification of the person (enrollment.verification).

Every change and every refusal is audited. This module needs only the models, so idp, enrollment and abis all
call it (the ``civid`` core layer sits below them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.actor import Actor
from civid.errors import Forbidden, InvalidInput
from models import AuthMethodLock, Identity, utcnow

FACE = "face"
PASSKEY = "passkey"
OFFICER_VERIFICATION = "officer_verification"
METHODS = (FACE, PASSKEY, OFFICER_VERIFICATION)
LOGIN_METHODS = (FACE, PASSKEY)  # those that open a session (the account page's last-login-method rule)
# MOSIP ID Authentication's code for "%s Auth Type is Locked for the UIN", for a MOSIP-style auth API to answer
# with (civid has none yet: abis/mosip_auth.py is civid's own sign-in at MOSIP's auth manager).
MOSIP_ERROR_CODE = "IDA-MLC-019"


class MethodLocked(Forbidden):
    """The identity's owner locked this authentication method."""

    type_slug = "method-locked"
    title = "Authentication method locked"
    message_catalogue = "error"  # codes ``<method>_locked`` (error.face_locked, ...)

    def __init__(self, method: str, uin: str = "") -> None:
        super().__init__(
            f"the {method} authentication method is locked by the identity's owner",
            code=f"{method}_locked",
            method=method,
        )
        self.uin = uin  # for the caller's audit event; never in the problem body


@dataclass(frozen=True)
class MethodState:
    method: str
    locked: bool  # as the resident set it
    unlocked_until: datetime | None  # a temporary unlock still running, else None

    @property
    def allowed(self) -> bool:
        return not self.locked or self.unlocked_until is not None


def _row(db: Session, identity_id: int, method: str) -> AuthMethodLock | None:
    return db.scalars(
        select(AuthMethodLock).where(AuthMethodLock.identity_id == identity_id, AuthMethodLock.method == method)
    ).first()


def state(db: Session, identity_id: int, method: str, now: datetime | None = None) -> MethodState:
    """Where ``method`` stands for the identity now (no row: unlocked)."""
    _known(method)
    row = _row(db, identity_id, method)
    if row is None:
        return MethodState(method, False, None)
    until = audit.as_utc(row.unlocked_until) if row.unlocked_until is not None else None
    running = until if until is not None and until > (now or utcnow()) else None
    return MethodState(method, row.locked, running if row.locked else None)


def states(db: Session, identity_id: int, now: datetime | None = None) -> list[MethodState]:
    return [state(db, identity_id, method, now) for method in METHODS]


def is_allowed(db: Session, identity_id: int, method: str, now: datetime | None = None) -> bool:
    """Whether ``method`` may authenticate this identity now (unlocked, or inside a temporary unlock)."""
    return state(db, identity_id, method, now).allowed


def refuse_if_locked(db: Session, identity: Identity, method: str) -> None:
    """Raise ``MethodLocked`` when ``method`` is locked; the caller audits it (``record_refusal``) in a
    transaction of its own, since the one it was raised in is rolled back."""
    if not is_allowed(db, identity.id, method):
        raise MethodLocked(method, identity.uin)


def record_refusal(db: Session, actor: Actor, refusal: MethodLocked) -> None:
    """Audit a refused attempt with a locked method."""
    audit.record(db, actor, "auth_method.refused", "identity", refusal.uin, method=refusal.extra["method"])


def lock(db: Session, identity: Identity, method: str, actor: Actor) -> None:
    """Lock ``method`` (ending any temporary unlock)."""
    _set(db, identity, method, actor, locked=True, until=None)


def unlock(db: Session, identity: Identity, method: str, actor: Actor) -> None:
    """Unlock ``method`` for good."""
    _set(db, identity, method, actor, locked=False, until=None)


def unlock_for(db: Session, identity: Identity, method: str, actor: Actor, duration: timedelta) -> datetime:
    """Let a locked ``method`` work for ``duration``; it is locked again after that. Returns when."""
    if duration <= timedelta(0):
        raise InvalidInput("a temporary unlock needs a positive duration")
    until = utcnow() + duration
    _set(db, identity, method, actor, locked=True, until=until)
    return until


def _set(db: Session, identity: Identity, method: str, actor: Actor, *, locked: bool, until: datetime | None) -> None:
    _known(method)
    row = _row(db, identity.id, method)
    if row is None:
        row = AuthMethodLock(identity_id=identity.id, method=method, updated_by=actor.name)
        db.add(row)
    row.locked, row.unlocked_until = locked, until
    row.updated_at, row.updated_by = utcnow(), actor.name[:100]
    action = "auth_method.unlocked_until" if until else "auth_method.locked" if locked else "auth_method.unlocked"
    audit.record(db, actor, action, "identity", identity.uin, method=method, until=until.isoformat() if until else None)
    db.flush()


def _known(method: str) -> None:
    if method not in METHODS:
        raise InvalidInput(f"unknown authentication method {method!r}; one of {', '.join(METHODS)}")
