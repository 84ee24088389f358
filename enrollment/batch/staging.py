"""The staging folders of registration drives: where an archive is split before its batch row exists, how such a
folder is told from a split in progress, and the one way its packages are moved into place once the row is
committed (``batch.split_recovered``), shared by the start-up sweep (``enrollment.batch.sweep``) and Resume
(``enrollment.batch.jobs``).

A staging folder is ``<data_dir>/batches/.split-<host>:<pid>:<token>:<batch id>/``. The token is random per
process: two containers with the same hostname both run as PID 1, and a restarted PID 1 reuses its pid, so host
and pid alone do not say whose split a folder is. Moving a staged folder into place (and the sweep as a whole)
runs under an exclusive file lock, ``<data_dir>/.batches-sweep-lock``, so that two servers sharing the data
folder do not both move or remove the same folder; what another process handled first is skipped, not audited.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from civid import audit
from civid.audit import SYSTEM
from enrollment.runtime import EnrolmentServices

log = logging.getLogger(__name__)
PREFIX = ".split-"
TOKEN = secrets.token_hex(8)  # this process's, in its staging folders' names
_splitting: set[str] = set()  # staging folders this process is writing now
_splitting_lock = threading.Lock()  # a leaf lock: nothing else is taken while it is held
# What a rename reports when the folder was moved or removed by another process, or its target exists.
_HANDLED_ELSEWHERE = (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST)


@dataclass(frozen=True)
class Staged:
    """What a staging folder's name says: the process that split it (token None: a version without tokens)."""

    host: str
    pid: int | None
    token: str | None
    batch_id: str


def root(services: EnrolmentServices) -> Path:
    return services.settings.data_dir / "batches"


def folder(services: EnrolmentServices, batch_id: str) -> Path:
    """A batch's own folder, where its sealed packages wait to be processed."""
    return root(services) / batch_id


def staging_folder(services: EnrolmentServices, batch_id: str) -> Path:
    """Where this process splits a batch's archive before the batch row is committed."""
    return root(services) / f"{PREFIX}{socket.gethostname()}:{os.getpid()}:{TOKEN}:{batch_id}"


def parse(name: str) -> Staged | None:
    """The parts of a staging folder's name (also the older ``<host>:<pid>:<batch id>``); None if it is not one."""
    if not name.startswith(PREFIX):
        return None
    parts = name.removeprefix(PREFIX).split(":")
    if len(parts) not in (3, 4):
        return None
    pid = int(parts[1]) if parts[1].isdigit() else None
    return Staged(parts[0], pid, parts[2] if len(parts) == 4 else None, parts[-1])


@contextmanager
def splitting(staging: Path) -> Iterator[None]:
    """Mark ``staging`` as this process's split in progress while the block runs."""
    with _splitting_lock:
        _splitting.add(staging.name)
    try:
        yield
    finally:
        with _splitting_lock:
            _splitting.discard(staging.name)


def pid_alive(pid: int) -> bool:
    """Does a process with this pid run on this machine (in this pid namespace)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def in_progress(path: Path, stale_after_s: int) -> bool:
    """Is the split in ``path`` still being written? If the token is this process's, while it is splitting it; by
    another pid of this host, while that pid lives; otherwise (another host, or the same host name and pid but
    another token: a container's PID 1, restarted or on another host) while it was touched within
    ``stale_after_s``. A folder that is gone is not."""
    staged = parse(path.name)
    if staged is None:
        return False
    if staged.token == TOKEN:
        with _splitting_lock:
            return path.name in _splitting
    if staged.host == socket.gethostname() and staged.pid is not None and staged.pid != os.getpid():
        return pid_alive(staged.pid)  # gone: a restart on this machine
    try:
        return time.time() - path.stat().st_mtime < stale_after_s
    except FileNotFoundError:
        return False  # moved or removed by another process meanwhile


@contextmanager
def sweep_lock(services: EnrolmentServices) -> Iterator[None]:
    """Exclusive across the processes (and threads) sharing the data folder, while the block runs."""
    services.settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(services.settings.data_dir / ".batches-sweep-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish(staging: Path, final: Path) -> None:
    """Move a split archive's packages to their batch's folder (one rename: all or nothing)."""
    os.rename(staging, final)


def recover(services: EnrolmentServices, db: Session, staging: Path, batch_id: str) -> bool:
    """Move a committed batch's staged packages into place, audited ``batch.split_recovered`` in ``db``; False
    when another process moved or removed them first. The caller holds ``sweep_lock``."""
    packages = sum(1 for _ in staging.glob("*.sealed"))
    try:
        publish(staging, folder(services, batch_id))
    except OSError as exc:
        if exc.errno not in _HANDLED_ELSEWHERE:
            raise
        log.info("registration drives: %s was handled by another process (%s)", staging.name, exc.strerror)
        return False
    audit.record(db, SYSTEM, "batch.split_recovered", "batch", batch_id, packages=packages)
    return True


def recover_for(services: EnrolmentServices, db: Session, batch_id: str) -> bool:
    """Before a committed batch is processed: if its folder is missing and a process that died (or whose rename
    failed) left its packages staged, move them into place (audited in ``db``). True if it did."""
    with sweep_lock(services):
        if folder(services, batch_id).exists() or not root(services).is_dir():
            return False
        for path in sorted(root(services).glob(f"{PREFIX}*:{batch_id}")):
            staged = parse(path.name)
            if staged is not None and staged.batch_id == batch_id and path.is_dir():
                return recover(services, db, path, batch_id)
    return False
