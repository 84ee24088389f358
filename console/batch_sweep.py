"""The start-up sweep of the registration drives' data folder: what a process killed while splitting an archive
left behind (``console.batch_jobs.create``) is removed or put in place, each step audited.

An archive is split into ``<data_dir>/batches/.split-<host>:<pid>:<batch id>/`` and renamed to
``<data_dir>/batches/<batch id>/`` just after the batch row is committed. So after a ``kill -9``:

- a staging folder whose batch has no row is a split that never finished: nobody can see or resume it, and its
  sealed packages are removed (``batch.orphan_removed``);
- a staging folder whose batch row exists died between the commit and the rename: it is moved into place
  (``batch.split_recovered``) and the batch reads "interrupted", resumable as any other;
- a batch folder with no row (left by a version that split in place) or of a completed batch (its deletion was
  cut short) is removed (``batch.orphan_removed``).

A staging folder of a process that is still running (on this machine; or, from another machine, touched within
``batch_stale_after_s``) is a split in progress and is left alone: two servers may share the data folder.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from civid import audit
from civid.audit import SYSTEM
from civid.services import Services
from console import batch_jobs
from models import BatchJob, BatchStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Swept:
    """What one sweep did: batch ids whose packages were removed, and those moved into place."""

    removed: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)


def _split_in_progress(name: str, path: Path, stale_after_s: int) -> bool:
    host, _, rest = name.removeprefix(batch_jobs.STAGING_PREFIX).partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():  # this process's own pid: a split of ours, or of the process it replaced
            with batch_jobs._lock:
                return name in batch_jobs._splitting
        return batch_jobs._pid_alive(int(pid))
    return time.time() - path.stat().st_mtime < stale_after_s


def sweep(services: Services) -> Swept:
    """Remove the packages no batch row names, move a committed batch's staged packages into place; audited."""
    root = services.settings.data_dir / "batches"
    swept = Swept()
    if not root.is_dir():
        return swept
    for path in sorted(root.iterdir()):
        staged = path.name.startswith(batch_jobs.STAGING_PREFIX)
        if not path.is_dir() or (staged and _split_in_progress(path.name, path,
                                                               services.settings.batch_stale_after_s)):
            continue
        batch_id = path.name.rpartition(":")[2] if staged else path.name
        with services.sessions.begin() as db:
            status = db.scalar(select(BatchJob.status).where(BatchJob.public_id == batch_id))
            final = batch_jobs.folder(services, batch_id)
            packages = sum(1 for _ in path.glob("*.sealed"))
            active = status is not None and status != BatchStatus.COMPLETED
            if staged and active and not final.exists():
                batch_jobs.publish(path, final)
                audit.record(db, SYSTEM, "batch.split_recovered", "batch", batch_id, packages=packages)
                swept.recovered.append(batch_id)
                continue
            if active and not staged:
                continue  # a batch's own folder, waiting to be processed
            audit.record(db, SYSTEM, "batch.orphan_removed", "batch", batch_id, packages=packages,
                         reason="split interrupted before its batch was recorded" if status is None
                         else "left over from a completed batch" if not active else "a second copy of its packages")
        shutil.rmtree(path, ignore_errors=True)  # after the audit event is committed
        swept.removed.append(batch_id)
    if swept.removed or swept.recovered:
        log.warning("registration drives: removed the packages of %d unrecorded split(s), recovered %d",
                    len(swept.removed), len(swept.recovered))
    return swept
