"""civid.auth_method_locks on SQLite and PostgreSQL: lock, unlock, a temporary unlock that ends by itself (the
stored end read back with its zone on both), one row per identity and method, and each change audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from civid import auth_method_locks
from civid.actor import Actor
from civid.errors import InvalidInput
from civid.settings import Settings
from models import AuditEvent, AuthMethodLock, Identity, utcnow
from models.db import upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture

RESIDENT = Actor(None, "citizen:4058075267", "citizen")


def test_lock_unlock_and_a_temporary_unlock_on_both_databases(engine):  # type: ignore[no-untyped-def]
    upgrade(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions.begin() as db:
        person = Identity(uin="4058075267", status="active")
        db.add(person)
        db.flush()
        assert auth_method_locks.is_allowed(db, person.id, "passkey")
        auth_method_locks.lock(db, person, "passkey", RESIDENT)
        auth_method_locks.refuse_if_locked(db, person, "face")  # another method: untouched
        with pytest.raises(auth_method_locks.MethodLocked) as refused:
            auth_method_locks.refuse_if_locked(db, person, "passkey")
        assert refused.value.status == 403 and refused.value.extra == {"method": "passkey"}
        until = auth_method_locks.unlock_for(db, person, "passkey", RESIDENT, timedelta(minutes=10))
        with pytest.raises(InvalidInput):
            auth_method_locks.unlock_for(db, person, "passkey", RESIDENT, timedelta(0))
        with pytest.raises(InvalidInput):
            auth_method_locks.lock(db, person, "sms", RESIDENT)
    with sessions() as db:
        state = auth_method_locks.state(db, person.id, "passkey")
        assert state.allowed and state.unlocked_until == until
        assert not auth_method_locks.is_allowed(db, person.id, "passkey", until + timedelta(seconds=1))
        assert db.scalar(select(func.count()).select_from(AuthMethodLock)) == 1
        actions = list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        assert actions == ["auth_method.locked", "auth_method.unlocked_until"]
    with sessions.begin() as db:
        db.scalars(select(AuthMethodLock)).one().unlocked_until = utcnow() - timedelta(seconds=1)
    with sessions.begin() as db:
        assert not auth_method_locks.is_allowed(db, person.id, "passkey")
        auth_method_locks.unlock(db, db.get(Identity, person.id), "passkey", RESIDENT)
    with sessions() as db:
        assert auth_method_locks.is_allowed(db, person.id, "passkey")


def test_the_unlock_durations_setting_is_checked():  # type: ignore[no-untyped-def]
    assert Settings(auth_method_unlock_durations_s=(300,)).auth_method_unlock_durations_s == (300,)
    for bad in ((), (0,), (30, 600)):
        with pytest.raises(ValueError, match="CIVID_AUTH_METHOD_UNLOCK_DURATIONS_S"):
            Settings(auth_method_unlock_durations_s=bad)
