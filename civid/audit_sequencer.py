"""The audit log's sequencer: gives committed events their leaf index, tree nodes and chain link, in batches.

A request writes its event and commits without any lock; the commit wakes this process's sequencer thread, which
takes the log's lock (``models.db.lock_audit_log``) for one short transaction: read the tree's size, take every
committed event without a leaf index in id order, number them, store their leaf hashes and the subtrees they
complete, and commit. However many requests commit meanwhile, the next pass takes them all at once. Any process
may sequence (the lock orders them, and a leaf position is a primary key, so two trees can never both be stored);
a process that stops before sequencing its events leaves them to the next pass of any other, or its own restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from civid import audit, audit_tree, merkle
from models import AuditEvent
from models.db import lock_audit_log

log = logging.getLogger(__name__)
BATCH_LIMIT = 5000  # events per transaction: a backlog (a migration's, an outage's) is sequenced in steps
COALESCE_S = 0.02  # after a wake, how long the commits that follow join the same pass


def sequence(sessions: sessionmaker[Session]) -> int:
    """Sequence every committed event still without a leaf index; return how many were sequenced."""
    total = 0
    while True:
        with sessions.begin() as session:
            done = sequence_batch(session)
        total += done
        if done < BATCH_LIMIT:
            return total


def sequence_batch(session: Session) -> int:
    """One pass in the caller's transaction (the lock is held until it commits)."""
    lock_audit_log(session)
    size = audit_tree.tree_size(session)
    pending = list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.leaf_index.is_(None)).order_by(AuditEvent.id).limit(BATCH_LIMIT)
        )
    )
    if not pending:
        return 0
    previous = audit.GENESIS
    if size:
        previous = session.scalar(select(AuditEvent.hash).where(AuditEvent.leaf_index == size - 1)) or audit.GENESIS
    leaves = []
    for offset, event in enumerate(pending):
        event.leaf_index = size + offset
        event.prev_hash = previous
        event.hash = previous = audit.event_hash(event)
        leaves.append(merkle.leaf_hash(audit.leaf_data(event)))
    session.flush()
    audit_tree.append_leaves(session, size, leaves)
    return len(pending)


class Sequencer:
    """This process's sequencer thread, woken by commits that wrote events; ``now()`` sequences on demand."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        interval_s: float,
        checkpoint_every_s: float,
        publish: Callable[[], object],
        housekeeping: Callable[[], object] | None = None,
        housekeeping_every_s: float = 3600.0,
    ) -> None:
        self.sessions = sessions
        self.interval_s = interval_s
        self.checkpoint_every_s = checkpoint_every_s
        self.publish = publish
        self.housekeeping = housekeeping
        self.housekeeping_every_s = housekeeping_every_s
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._last_checkpoint = time.monotonic()
        self._last_housekeeping = 0.0

    def install(self) -> None:
        """Wake on every commit of a session (from ``sessions``) that wrote an audit event."""
        sa_event.listen(self.sessions, "after_commit", self._after_commit)
        sa_event.listen(self.sessions, "after_rollback", self._after_rollback)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(audit.WROTE_EVENTS, False):
            self.wake()

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(audit.WROTE_EVENTS, None)

    def start(self) -> None:
        """Run the thread (idempotent): the server starts it; other processes on their first commit of an event."""
        with self._start_lock:
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(target=self._run, name="audit-sequencer", daemon=True)
                self._thread.start()

    def wake(self) -> None:
        self.start()
        self._wake.set()

    def now(self) -> int:
        """Sequence in the caller's thread what is committed (before a proof, a check or a checkpoint)."""
        return sequence(self.sessions)

    def checkpoint(self) -> object:
        """Sequence, then sign a checkpoint of the whole log if it grew (on demand and when stopping)."""
        self.now()
        self._last_checkpoint = time.monotonic()
        return self.publish()

    def stop(self) -> None:
        """End the thread after a last pass and a last checkpoint, so a clean stop leaves nothing unsequenced."""
        self._stopping.set()
        self._wake.set()
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return  # never started: this process wrote no event, and another one signs the log
        thread.join(30)
        try:
            self.checkpoint()
        except Exception as exc:  # shutting down with the database gone: the next start sequences what is left
            log.warning("the audit sequencer's last pass failed (the next start sequences what is left): %s", exc)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.interval_s)
            if self._stopping.is_set():
                return
            # The commits arriving together are sequenced together: under load a pass's fixed cost (the lock, the
            # tree's size, the chain's last hash, a transaction) is paid once for many events, not once for each.
            self._stopping.wait(COALESCE_S)
            self._wake.clear()
            try:
                self._pass()
            except Exception:  # a failed pass must not stop the thread; the next one retries the same events
                log.exception("audit sequencer pass failed")
                self._stopping.wait(self.interval_s)

    def _pass(self) -> None:
        self.now()
        moment = time.monotonic()
        # Every process publishes on this clock, whoever sequenced: publishing an unchanged log signs nothing.
        if moment - self._last_checkpoint >= self.checkpoint_every_s:
            self.checkpoint()
        if self.housekeeping is not None and moment - self._last_housekeeping >= self.housekeeping_every_s:
            self._last_housekeeping = moment
            self.housekeeping()
