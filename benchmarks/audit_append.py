"""Audited transactions per second with N concurrent writers: the old global audit lock against the sequencer.

Each writer runs transactions that write one audit event and then hold the transaction open for ``--hold-ms``
(the rest of a request's work before its commit: the token row, the release record). The old append (issue #15
before the log) took the chain's lock at the event and held it to the commit, so writers queued for the whole of
each other's transactions; now the event is written without a lock and the sequencer batches committed events
in its own short transaction. Each mode runs on a fresh database (a new PostgreSQL schema, or a new SQLite file).

    python -m benchmarks.audit_append --threads 1 4 8 --duration 3 [--backend sqlite]
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.common import console, machine, print_machine, save_result, table

POSTGRES_URL = os.environ.get("CIVID_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """A URL of an empty database of ``backend``, dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'civid.db'}"
        return
    admin = create_engine(POSTGRES_URL)
    schema = "civid_bench_" + secrets.token_hex(4)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            make_url(POSTGRES_URL)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def old_append(session: Session, number: int) -> None:
    """The append before the log: lock the chain, read its last hash, insert the next event (lock held to commit)."""
    from civid import audit
    from models import AuditEvent
    from models.db import AUDIT_LOCK_KEY, is_postgres

    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
    else:
        session.execute(text("UPDATE audit_events SET id = id WHERE 0"))
    previous = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or audit.GENESIS
    event = audit.record(session, audit.SYSTEM, "bench.append", "bench", str(number))
    event.prev_hash = previous
    session.execute(
        update(AuditEvent).where(AuditEvent.id == event.id).values(prev_hash=previous, hash=audit.event_hash(event))
    )


def new_append(session: Session, number: int) -> None:
    from civid import audit

    audit.record(session, audit.SYSTEM, "bench.append", "bench", str(number))


def run_mode(url: str, append: Callable[[Session, int], None], threads: int, duration_s: float, hold_s: float) -> int:
    """Committed audited transactions in ``duration_s`` with ``threads`` writers (the sequencer on in 'new')."""
    from civid.audit_sequencer import Sequencer, sequence
    from models.db import make_engine, make_session_factory, upgrade

    engine = make_engine(url)
    upgrade(engine)
    sessions: sessionmaker[Session] = make_session_factory(engine)
    sequencer = None
    if append is new_append:
        sequencer = Sequencer(sessions, 1.0, 3600.0, lambda: None)
        sequencer.install()
        sequencer.start()
    counts = [0] * threads
    stop = time.monotonic() + duration_s

    def writer(index: int) -> None:
        while time.monotonic() < stop:
            with sessions.begin() as session:
                append(session, counts[index])
                time.sleep(hold_s)  # the rest of the request, inside its transaction
            counts[index] += 1

    workers = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if sequencer is not None:
        sequencer.stop()
        assert sequence(sessions) == 0
    engine.dispose()
    return sum(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per mode and thread count")
    parser.add_argument("--hold-ms", type=float, default=2.0, help="work inside each transaction after the event")
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    info = machine()
    print_machine(info)
    rows, record = [], []
    for threads in args.threads:
        rates = {}
        for mode, append in (("global lock", old_append), ("sequencer", new_append)):
            with fresh_database(args.backend) as url:
                rates[mode] = run_mode(url, append, threads, args.duration, args.hold_ms / 1000) / args.duration
        ratio = rates["sequencer"] / rates["global lock"]
        rows.append((threads, f"{rates['global lock']:.0f}", f"{rates['sequencer']:.0f}", f"{ratio:.2f}"))
        record.append(
            {
                "threads": threads,
                "global_lock_per_s": rates["global lock"],
                "sequencer_per_s": rates["sequencer"],
                "ratio": ratio,
            }
        )
    console.print(
        table(
            f"audited transactions/s on {args.backend} (hold {args.hold_ms} ms inside each transaction)",
            ["writers", "global lock", "sequencer", "sequencer / lock"],
            rows,
        )
    )
    save_result(
        f"audit_append_{args.backend}",
        {"hold_ms": args.hold_ms, "duration_s": args.duration, "results": record},
        save=not args.no_save,
    )


if __name__ == "__main__":
    main()
