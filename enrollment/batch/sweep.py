"""The start-up sweep of the registration drives' data folder: what a process killed while splitting an archive
left behind (``enrollment.batch.jobs.create``) is removed or put in place, each step audited.

An archive is split into ``<data_dir>/batches/.split-<host>:<pid>:<token>:<batch id>/`` (``enrollment.batch.staging``)
and renamed to
``<data_dir>/batches/<batch id>/`` just after the batch row is committed. So after a ``kill -9``:

- a staging folder whose batch has no row is a split that never finished: nobody can see or resume it, and its
  sealed packages are removed (``batch.orphan_removed``);
- a staging folder whose batch row exists died between the commit and the rename: it is moved into place
  (``batch.split_recovered``) and the batch reads "interrupted", resumable as any other;
- a batch folder with no row (left by a version that split in place) or of a completed batch (its deletion was
  cut short) is removed (``batch.orphan_removed``).

A staging folder of a process that is still running (on this machine; or, from another machine or another process
with this one's host name and pid, touched within ``batch_stale_after_s``) is a split in progress and is left
alone: two servers may share the data folder. Two servers starting at once sweep one after the other (an exclusive
file lock), and a folder another process moved or removed first is skipped, not audited.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from civid import audit
from civid.audit import SYSTEM
from enrollment.batch import staging as batch_staging
from enrollment.runtime import EnrolmentServices
from models import BatchJob, BatchStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Swept:
    """What one sweep did: batch ids whose packages were removed, and those moved into place."""

    removed: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)


def sweep(services: EnrolmentServices) -> Swept:
    """Remove the packages no batch row names, move a committed batch's staged packages into place; audited."""
    root = batch_staging.root(services)
    swept = Swept()
    if not root.is_dir():
        return swept
    with batch_staging.sweep_lock(services):  # listed under the lock: what another sweep did is seen
        for path in sorted(root.iterdir()):
            _sweep_one(services, path, swept)
    if swept.removed or swept.recovered:
        log.warning(
            "registration drives: removed the packages of %d unrecorded split(s), recovered %d",
            len(swept.removed),
            len(swept.recovered),
        )
    return swept


def _sweep_one(services: EnrolmentServices, path: Path, swept: Swept) -> None:
    staged = batch_staging.parse(path.name)
    if path.name.startswith(batch_staging.PREFIX) and staged is None:
        return  # not a name this module writes
    if not path.is_dir() or (staged and batch_staging.in_progress(path, services.settings.batch_stale_after_s)):
        return
    batch_id = staged.batch_id if staged else path.name
    with services.sessions.begin() as db:
        status = db.scalar(select(BatchJob.status).where(BatchJob.public_id == batch_id))
        active = status is not None and status != BatchStatus.COMPLETED
        if staged and active and not batch_staging.folder(services, batch_id).exists():
            if batch_staging.recover(services, db, path, batch_id):
                swept.recovered.append(batch_id)
            return
        if active and not staged:
            return  # a batch's own folder, waiting to be processed
        packages = sum(1 for _ in path.glob("*.sealed"))
        if not path.is_dir():
            return  # removed by a process that does not take the lock (an older version) meanwhile
        audit.record(
            db,
            SYSTEM,
            "batch.orphan_removed",
            "batch",
            batch_id,
            packages=packages,
            reason="split interrupted before its batch was recorded"
            if status is None
            else "left over from a completed batch"
            if not active
            else "a second copy of its packages",
        )
    shutil.rmtree(path, ignore_errors=True)  # after the audit event is committed
    swept.removed.append(batch_id)
