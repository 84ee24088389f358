"""One writer at a time on a SQLite database, handed over in the process rather than found by sleeping.

SQLite lets one connection write at a time. A connection that finds the write lock taken waits in SQLite's busy
handler, which *sleeps* — 1, 2, 5, 10, … then 100 ms at a time — and retries: the lock is often free again long
before the sleeper wakes, and whoever happens to ask at that moment takes it. Under load (the token endpoint's
threads, each committing a rotation) some waiters lose round after round, so a request that needs 10 ms of work
waited over a second (p99 1.4 s at 8 connections, benchmarks/idp_throughput.py), and the database sat idle while
the losers slept.

So within a process the write lock is a ``threading.Lock`` per database file, taken before a transaction's
first write statement and released as soon as it commits or rolls back: a waiter is woken the moment the writer
is done. Waiting is bounded as before (``timeout``, then "database is locked"). Another process on the same file
still meets SQLite's own busy handler, which stays the arbiter between processes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

# The statements that take SQLite's write lock (what pysqlite opens its implicit transaction for, and DDL).
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(database: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(database, threading.Lock())


def is_write(statement: str) -> bool:
    return statement.lstrip()[:7].upper().startswith(_WRITES)


class WriterConnection(sqlite3.Connection):
    """A pysqlite connection that holds its database's process-wide write lock from its first write statement
    to its commit or rollback (``sqlite3.connect(factory=...)``)."""

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        name = str(database)
        # An in-memory database is its connection's own: no other connection can be waiting for its lock.
        self._writer_lock = threading.Lock() if name in ("", ":memory:") else _lock_for(os.path.realpath(name))
        self._writer_timeout = float(kwargs.get("timeout", 5.0))
        self._holds = False

    def take_write_lock(self) -> None:
        """Before a write statement: wait for the process's other writers (no-op when this one holds it)."""
        if self._holds:
            return
        if not self._writer_lock.acquire(timeout=self._writer_timeout):
            raise sqlite3.OperationalError("database is locked (another writer in this process held it too long)")
        self._holds = True

    def _release(self) -> None:
        if self._holds:
            self._holds = False
            self._writer_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()
