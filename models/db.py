"""Engine and session setup for SQLite (embedded default) and PostgreSQL, and schema migrations."""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import ColumnElement, CursorResult, Engine, Executable, create_engine, event, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from models.sqlite_writer import WriterConnection, is_write

MIGRATIONS = Path(__file__).parent / "migrations"
# Arbitrary constants naming civid's PostgreSQL advisory locks.
DEDUP_LOCK_KEY = 0x43495649_44454455  # "CIVIDEDU"
AUDIT_LOCK_KEY = 0x43495649_41554454  # "CIVIAUDT"
_process_dedup_lock = threading.Lock()
# How long a SQLite connection waits for another's write lock before "database is locked": longer than any
# of civid's write transactions (an enrolment's commit, a batch record), short enough to surface a stuck one.
SQLITE_BUSY_TIMEOUT_S = 30


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys, a busy timeout, and its writers handed the write
    lock in turn within the process (``models.sqlite_writer``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S, "factory": WriterConnection},
        )

        @event.listens_for(engine, "before_cursor_execute")
        def _one_writer(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if is_write(statement):
                dbapi = connection.connection.dbapi_connection
                if isinstance(dbapi, WriterConnection):
                    dbapi.take_write_lock()

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to the newest Alembic revision, or to ``revision`` (idempotent; run at every start)."""
    _migrate(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to ``revision`` (operators and the migration tests)."""
    _migrate(engine, command.downgrade, revision)


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    """The newest revision this civid's migrations reach."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: no civid schema), read without migrating anything."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _migrate(engine: Engine, step: Any, revision: str) -> None:
    config = _config()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # A batch migration rebuilds a SQLite table (copy, drop, rename); with foreign keys on, dropping a
            # table other rows reference fails. SQLite ignores this pragma inside a transaction, so it is set
            # before the migration's own, and the whole schema is checked before that one commits.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                step(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration to {revision} left rows with broken foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def affected_rows(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE in ``session`` and return the number of rows it matched.

    ``Session.execute`` is typed to return a plain ``Result`` whatever it runs (SQLAlchemy 2.1); for a DML
    statement it is a ``CursorResult``, the one that carries ``rowcount``."""
    return cast("CursorResult[Any]", session.execute(statement)).rowcount


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def claim_due(
    session: Session, model: Any, due_by: datetime, lease_until: datetime, *where: ColumnElement[bool]
) -> Any | None:
    """Claim the outbox row of ``model`` due first (``next_attempt_at`` ≤ ``due_by``, and ``where``): count the
    attempt and lease it until ``lease_until``, by a compare-and-set on ``attempts``, so that of two processes that
    read the same row only one wins and the other looks again; PostgreSQL skips rows another claim has locked. A
    claimer that dies leaves the row due again at the lease's end. ``model`` has ``id``, ``attempts`` and
    ``next_attempt_at`` (notifications, identity event deliveries)."""
    while True:
        query = select(model).where(model.next_attempt_at <= due_by, *where)
        query = query.order_by(model.next_attempt_at, model.id).limit(1)
        if is_postgres(session):
            query = query.with_for_update(skip_locked=True)
        row = session.scalar(query)
        if row is None:
            return None
        won = affected_rows(
            session,
            update(model)
            .where(model.id == row.id, model.attempts == row.attempts, *where)
            .values(attempts=row.attempts + 1, next_attempt_at=lease_until)
            .execution_options(synchronize_session=False),
        )
        session.refresh(row)
        if won:
            return row


@contextmanager
def dedup_section(session: Session) -> Iterator[None]:
    """Serialise adjudicators' decisions and their changes across threads and processes.

    Enrolment no longer takes it (insert-then-identify: enrollment/dedup_decision.py locks only the rows it
    decides). Adjudication keeps it: decisions are rare and human-paced, and the galleries follow them by
    ``case_decisions`` id (enrollment/gallery_store.py), which is safe only while those rows commit in id
    order. In-process a lock orders threads; on PostgreSQL a transaction-scoped advisory lock also orders
    processes and machines (released at commit or rollback); on SQLite a file lock beside the database.
    """
    with _process_dedup_lock:
        if is_postgres(session):
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DEDUP_LOCK_KEY})
            yield
            return
        # Engine.engine is the engine itself; a session bound to a Connection reaches it the same way.
        database = session.get_bind().engine.url.database
        if not database or database == ":memory:":
            yield
            return
        # SQLite: a file lock beside the database orders processes too (the service and a CLI).
        with open(f"{database}.dedup-lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def lock_rows(session: Session, model: Any, ids: list[int]) -> float:
    """Lock the rows of ``model`` with these ids until the caller's commit or rollback; return the seconds waited.

    The short critical section of a dedup decision: only the enrolments being decided together (the applicant
    and its matches), never a search. PostgreSQL locks exactly those rows, in id order so two deciders sharing
    rows cannot deadlock, ``FOR NO KEY UPDATE`` so inserts that merely reference them (case candidates) do not
    wait. SQLite has one writer at a time: a write statement that changes nothing takes the database's write lock
    now, as ``lock_audit_log`` explains, so what is read next is read under it."""
    started = time.perf_counter()
    if is_postgres(session):
        session.execute(
            select(model.id).where(model.id.in_(sorted(set(ids)))).order_by(model.id).with_for_update(key_share=True)
        ).all()
    else:
        session.execute(text(f"UPDATE {model.__tablename__} SET id = id WHERE 0"))
    return time.perf_counter() - started


def lock_audit_log(session: Session) -> None:
    """Order the audit log's sequencers: held from here until the caller's commit or rollback.

    Requests no longer take it (they write events without a place in the log); only the sequencer does, for the
    few milliseconds it takes to read the tree's size, give the waiting events the next leaf indices and store the
    new nodes. Two sequencers doing that at once must not both read the same size: they would build two different
    trees (the unique leaf positions would refuse the second, but the lock makes it wait instead of fail).
    """
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
        return
    # SQLite has one writer at a time, but pysqlite runs a SELECT before the transaction's first write
    # outside any transaction, so the read of the tree's size is not covered by the write lock that the
    # INSERT takes later. A write statement that changes nothing takes the database's write lock now
    # (waiting up to the busy timeout, SQLITE_BUSY_TIMEOUT_S); the size is then read under it, as with
    # BEGIN IMMEDIATE. A transaction that has written already holds the lock, and this costs nothing.
    session.execute(text("UPDATE audit_tree_nodes SET level = level WHERE 0"))
