"""The registered clients as an in-process cache: the token and UserInfo endpoints look a client up on every call,
and a client changes a few times a year.

An entry is a transient copy of the row (never an instance of any session, so no request's commit or rollback
reaches it), read only by the hot paths (client authentication, UserInfo). It is dropped:
- at once when this process writes any client through the ORM (a flush or an UPDATE/DELETE statement touching
  ``oidc_clients``, and again at the commit, so a copy read between the two is not kept);
- after ``CLIENT_CACHE_S`` otherwise, which bounds how long another worker process of the same database keeps
  answering for a client an admin disabled or changed elsewhere (as ``idp.keys`` does for signing keys).
An unknown or disabled client is never kept: one just registered through another worker is found at once.
"""

from __future__ import annotations

import threading
import time
import weakref
from itertools import chain
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session

from models import Client

CLIENT_CACHE_S = 5.0
_CLIENT_WRITTEN = "civid.client_written"

_lock = threading.Lock()
_generation = 0  # bumped by every client write in this process: an entry of an older generation is stale
# Per database (engine): tests build several apps over different databases in one process.
_entries: weakref.WeakKeyDictionary[Engine, dict[str, tuple[float, int, Client]]] = weakref.WeakKeyDictionary()


def _invalidate() -> None:
    global _generation
    with _lock:
        _generation += 1


def _copy(values: Any) -> Client:
    """A transient Client holding the row's column values."""
    mapper = Client.__mapper__
    return Client(**{attr.key: values[attr.columns[0]] for attr in mapper.column_attrs})


def find(session: Session, client_id: str | None) -> Client | None:
    """The enabled client with this id (a read-only transient copy), or None; see the module for freshness."""
    if not client_id:
        return None
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _lock:
        generation = _generation
        entries = _entries.setdefault(engine, {})
        entry = entries.get(client_id)
    if entry is not None and entry[1] == generation and time.monotonic() - entry[0] < CLIENT_CACHE_S:
        return entry[2]
    # Core select: the row never enters the session's identity map, so the copy shares nothing with it.
    row = session.execute(select(Client.__table__).where(Client.__table__.c.client_id == client_id)).first()
    client = _copy(row._mapping) if row is not None and row._mapping["disabled_at"] is None else None
    # Only found clients are kept: one just registered through another worker must not be "unknown" here.
    with _lock:
        if client is not None and generation == _generation:  # a write since the read began: keep nothing
            entries[client_id] = (time.monotonic(), generation, client)
    return client


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: object) -> None:
    if any(isinstance(obj, Client) for obj in chain(session.new, session.dirty, session.deleted)):
        session.info[_CLIENT_WRITTEN] = True
        _invalidate()


@event.listens_for(Session, "do_orm_execute")
def _on_statement(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is Client.__mapper__:
        state.session.info[_CLIENT_WRITTEN] = True
        _invalidate()


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _after_end(session: Session) -> None:
    if session.info.pop(_CLIENT_WRITTEN, False):
        _invalidate()
