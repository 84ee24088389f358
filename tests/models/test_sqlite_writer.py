"""SQLite's write lock handed over within the process (models.sqlite_writer): taken at a transaction's first
write, released at its commit, rollback or close; a second writer waits for it (never "database is locked" while
the first is merely busy) and goes on once it is free; a writer held past the timeout is an OperationalError."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from models.db import make_engine
from models.sqlite_writer import WriterConnection, _lock_for, is_write


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    built = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with built.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    yield built
    built.dispose()


def _lock(engine):  # type: ignore[no-untyped-def]
    return _lock_for(os.path.realpath(engine.url.database))


def test_the_lock_is_held_from_the_first_write_to_the_commit_or_rollback(engine):
    lock = _lock(engine)
    with engine.connect() as connection:
        connection.execute(text("SELECT count(*) FROM t")).scalar()
        assert not lock.locked()  # reading takes nothing
        connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
        assert lock.locked()
        connection.commit()
        assert not lock.locked()
        connection.execute(text("UPDATE t SET v = 'b'"))
        assert lock.locked()
        connection.rollback()
        assert not lock.locked()
        connection.execute(text("DELETE FROM t"))
    assert not lock.locked()  # returned to the pool without a commit: its reset rolled back
    with engine.connect() as connection:
        assert connection.execute(text("SELECT v FROM t")).scalars().all() == ["a"]


def test_a_second_writer_waits_for_the_first_and_both_commit(engine):
    first_wrote, release_first = threading.Event(), threading.Event()
    order: list[str] = []
    errors: list[BaseException] = []

    def first() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t (v) VALUES ('first')"))
            first_wrote.set()
            release_first.wait(10)
            order.append("first commits")

    def second() -> None:
        first_wrote.wait(10)
        try:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO t (v) VALUES ('second')"))
                order.append("second wrote")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_wrote.wait(10)
    second_waits = threads[1]
    second_waits.join(0.5)
    assert second_waits.is_alive() and order == []  # waiting on the first writer, not failing
    release_first.set()
    for thread in threads:
        thread.join(10)
    assert errors == [] and order == ["first commits", "second wrote"]
    with engine.connect() as connection:
        assert sorted(connection.execute(text("SELECT v FROM t")).scalars()) == ["first", "second"]


def test_a_writer_held_past_the_timeout_is_database_is_locked(tmp_path: Path):
    path = str(tmp_path / "t.db")
    holder = sqlite3.connect(path, timeout=0.2, factory=WriterConnection, check_same_thread=False)
    waiter = sqlite3.connect(path, timeout=0.2, factory=WriterConnection, check_same_thread=False)
    holder.take_write_lock()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        waiter.take_write_lock()
    holder.close()  # closing gives it back too
    waiter.take_write_lock()
    waiter.rollback()
    assert not _lock_for(os.path.realpath(path)).locked()
    waiter.close()


@pytest.mark.parametrize(
    "statement, writes",
    [
        ("INSERT INTO t VALUES (1)", True),
        ("  update t set v = 1", True),
        ("DELETE FROM t", True),
        ("REPLACE INTO t VALUES (1)", True),
        ("CREATE INDEX i ON t (v)", True),
        ("SELECT * FROM t", False),
        ("PRAGMA foreign_keys=ON", False),
        ("SAVEPOINT sa_1", False),
    ],
)
def test_which_statements_take_the_write_lock(statement: str, writes: bool):
    assert is_write(statement) is writes
