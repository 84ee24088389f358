"""The sequencer under contention, on SQLite and PostgreSQL: processes and threads with their own connections
write events without any lock and sequence them at the same time, and the log is still one tree — every event
exactly once, leaves 0..n-1 without a gap, the chain unbroken, every stored node the hash of its children."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from civid import audit, audit_tree, merkle
from civid.audit import SYSTEM
from civid.audit_sequencer import sequence
from civid.audit_verify import check_log
from models import AuditEvent
from models.db import make_engine, make_session_factory, upgrade
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture

PROCESSES = 2
THREADS = 3
EVENTS_EACH = 30


def write_and_sequence(url: str, name: str, count: int, start: threading.Barrier | None = None) -> None:
    """Each event in its own transaction, each followed by a sequencing pass: contention on every commit."""
    own = make_engine(url)  # its own pool: its own connections
    sessions = make_session_factory(own)
    if start is not None:
        start.wait()
    try:
        for number in range(count):
            with sessions.begin() as session:
                audit.record(session, SYSTEM, "test.contended", "writer", name, n=number)
            sequence(sessions)
    finally:
        own.dispose()


def _process_main(url: str, name: str, count: int, go) -> None:  # type: ignore[no-untyped-def]
    go.wait(60)
    write_and_sequence(url, name, count)


def test_processes_and_threads_sequencing_at_once_build_one_tree(engine: Engine):
    upgrade(engine)
    url = engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    processes = [
        context.Process(target=_process_main, args=(url, f"process-{i}", EVENTS_EACH, go)) for i in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    barrier = threading.Barrier(THREADS)
    threads = [
        threading.Thread(target=write_and_sequence, args=(url, f"thread-{i}", EVENTS_EACH, barrier))
        for i in range(THREADS)
    ]
    go.set()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    for process in processes:
        process.join(300)
        assert process.exitcode == 0
    sessions = make_session_factory(engine)
    sequence(sessions)  # a pass that found the lock taken left nothing behind: this one has nothing to do
    with sessions() as session:
        total = session.scalar(select(func.count()).select_from(AuditEvent))
        leaves = list(session.scalars(select(AuditEvent.leaf_index).order_by(AuditEvent.leaf_index)))
        assert total == (PROCESSES + THREADS) * EVENTS_EACH
        assert leaves == list(range(total))  # every event once, no gap, no leaf shared
        assert audit_tree.tree_size(session) == total
        assert audit.verify_chain(session) == (total, None)
        assert check_log(session, []).finding is None  # every leaf its event's hash, every node its children's
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.leaf_index)))
        root = merkle.root_of([merkle.leaf_hash(audit.leaf_data(e)) for e in events])
        assert audit_tree.StoredTree(session).root(total) == root


def test_a_second_tree_at_the_same_size_cannot_be_stored(engine: Engine):
    """What the lock protects is also a constraint: two sequencers that both read size n cannot both append."""
    upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        audit_tree.append_leaves(session, 0, [merkle.leaf_hash(b"first")])
    with pytest.raises(IntegrityError), sessions.begin() as session:
        audit_tree.append_leaves(session, 0, [merkle.leaf_hash(b"rival")])


@pytest.mark.postgres
def test_a_request_holding_an_uncommitted_event_does_not_hold_up_another_requests_event(postgres_schema_url: str):
    """The old append locked the chain from the event to the commit: a second writer waited for the first's whole
    transaction. Now it waits for nothing (a lock wait would fail at lock_timeout instead of passing)."""
    from sqlalchemy import text

    engine = make_engine(postgres_schema_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    try:
        with sessions() as slow, sessions() as quick:
            audit.record(slow, SYSTEM, "test.slow", "request", "slow")  # still in its transaction
            quick.execute(text("SET LOCAL lock_timeout = '3s'"))
            audit.record(quick, SYSTEM, "test.quick", "request", "quick")
            quick.commit()  # committed while the slow request is still open
            assert sequence(sessions) == 1  # the committed one is in the log; the open one waits for its commit
            slow.commit()
        assert sequence(sessions) == 1
        with sessions() as session:
            order = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.leaf_index)))
            assert order == ["test.quick", "test.slow"]  # log order is commit order
            assert check_log(session, []).finding is None and audit.verify_chain(session) == (2, None)
    finally:
        engine.dispose()
