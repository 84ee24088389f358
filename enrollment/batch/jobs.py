"""Registration drives as resumable jobs: create from an uploaded ZIP, process in a background thread, pause,
resume after an interruption (the report is ``console.batch.report``).

State lives in the database (``batch_jobs``, ``batch_records``), not in the thread: each record is enrolled
through ``enrollment.workflow.enrol`` as the uploading officer with the idempotency key
``batch-package:<SHA-256 of the package's files>``, then marked with its outcome. A process that dies between
the two leaves the record pending; resuming re-runs it and the workflow returns the enrolment already stored —
nobody is enrolled twice. Because the key is the package's content, not the batch, the same drive zipped again
finds every person it already enrolled, and a package repeated under another folder name is found too: such a
record is ``already_enrolled`` and points at the first one's enrolment. A drive exported again with other bytes
(JSON re-indented, photos re-encoded, files renamed) is recognised by ``enrollment.batch.recognise``. Records
stored before keys were content-based (NULL ``idempotency_key``) keep the key they were created with,
``batch:<batch id>:<package>``. An officer runs one batch at a time. Who is running a batch is the ``runner``
column (``host:pid``) with a heartbeat per record: a batch whose runner process is gone, or silent for
``batch_stale_after_s``, counts as interrupted and its officer may resume it.

The packages wait in ``<data_dir>/batches/<batch id>/`` sealed with the key ring (AES-256-GCM, files 0600
in a 0700 folder); each is deleted once its record has an outcome, and the folder when the batch completes.
The archive is split into a staging folder (``enrollment.batch.staging``) renamed to that one once the batch row is
committed; after the commit the staged packages are never deleted: if the rename fails or the process is killed
first, Resume (on any server) or the start-up sweep (``enrollment.batch.sweep``) moves them into place.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import SYSTEM, Actor
from civid.errors import CividError, Conflict, InvalidInput, NotFound
from enrollment import workflow
from enrollment.abis_worker import Settle
from enrollment.batch import archive as batch_archive
from enrollment.batch import recognise as batch_recognise
from enrollment.batch import staging as batch_staging
from enrollment.documents import DocumentEvidence
from enrollment.fingerprint import FingerException, FingerUpload
from enrollment.runtime import EnrolmentServices
from models import (
    BatchJob,
    BatchRecord,
    BatchStatus,
    DedupCase,
    Enrolment,
    EnrolmentStatus,
    Identity,
    RecordStatus,
    StaffAccount,
    enrolment_case_key,
    utcnow,
)
from models.db import affected_rows

log = logging.getLogger(__name__)
RUNNER = f"{socket.gethostname()}:{os.getpid()}"
_threads: dict[str, threading.Thread] = {}  # batch public id → the thread processing it in this process
_stops: dict[str, threading.Event] = {}
_lock = threading.RLock()


@dataclass(frozen=True)
class Outcome:
    status: str
    enrolment_public_id: str | None = None
    uin: str | None = None
    case_public_id: str | None = None
    reasons: tuple[dict[str, Any], ...] = ()
    # How an already-enrolled person was recognised (audited): "same package", or a re-export's face score.
    recognised: dict[str, Any] | None = None


def folder(services: EnrolmentServices, batch_id: str) -> Path:
    return batch_staging.folder(services, batch_id)


def package_path(services: EnrolmentServices, batch_id: str, position: int) -> Path:
    return folder(services, batch_id) / f"{position:05d}.sealed"


def idempotency_key(batch_id: str, package: str) -> str:
    """The key of a record created before keys were content-based (its ``idempotency_key`` is NULL)."""
    return f"batch:{batch_id}:{package}"


def package_key(package: batch_archive.Package) -> str:
    """The enrolment idempotency key of a package: its content, whichever archive or folder it came in."""
    return f"batch-package:{batch_archive.content_digest(package)}"


def is_live(job: BatchJob, stale_after_s: int) -> bool:
    """Is some process processing this batch right now?"""
    if job.status != BatchStatus.RUNNING or not job.runner:
        return False
    if job.runner == RUNNER:
        with _lock:
            thread = _threads.get(job.public_id)
        return thread is not None and thread.is_alive()
    host, _, pid = job.runner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and not batch_staging.pid_alive(int(pid)):
        return False  # its process on this machine is gone (a restart)
    return job.heartbeat_at is not None and utcnow() - audit.as_utc(job.heartbeat_at) < timedelta(seconds=stale_after_s)


def shown_status(job: BatchJob, stale_after_s: int) -> str:
    """running | interrupted | paused | completed, as the officer should read it."""
    if job.status == BatchStatus.RUNNING and not is_live(job, stale_after_s):
        return "interrupted"
    return job.status


def owned(db: Session, officer: Actor, public_id: str) -> BatchJob:
    """The batch, if this officer uploaded it (others get 404: its packages are not theirs to see)."""
    job = db.scalars(select(BatchJob).where(BatchJob.public_id == public_id)).first()
    if job is None or job.officer_id != officer.id:
        raise NotFound(f"no batch {public_id} of yours")
    return job


def _refuse_second_live_batch(
    db: Session, officer_id: int | None, stale_after_s: int, except_id: str | None = None
) -> None:
    for job in db.scalars(
        select(BatchJob).where(BatchJob.officer_id == officer_id, BatchJob.status == BatchStatus.RUNNING)
    ):
        if job.public_id != except_id and is_live(job, stale_after_s):
            raise Conflict(
                f"batch {job.public_id} is still running: one batch at a time per officer; wait for it or pause it",
                batch=job.public_id,
                code="batch_running",
                params={"batch": job.public_id},
            )


def _sha256(upload: IO[bytes]) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in iter(lambda: upload.read(1024 * 1024), b""):
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def create(services: EnrolmentServices, officer: Actor, filename: str, upload: IO[bytes]) -> str:
    """Check and split the ZIP, seal its packages, record the batch and its records; the batch's public id.
    Raises InvalidInput / PayloadTooLarge (archive refused: nothing kept) or Conflict."""
    settings = services.settings
    digest = _sha256(upload)
    with services.sessions() as db:
        earlier = db.scalars(
            select(BatchJob.public_id).where(BatchJob.officer_id == officer.id, BatchJob.archive_sha256 == digest)
        ).first()
        if earlier:
            raise Conflict(
                f"this archive was already uploaded as batch {earlier}",
                batch=earlier,
                code="already_uploaded",
                params={"batch": earlier},
            )
        _refuse_second_live_batch(db, officer.id, settings.batch_stale_after_s)
    archive, groups = batch_archive.open_archive(upload, settings)
    public_id = str(uuid.uuid4())
    # Split into a folder of this process's own; it becomes the batch's folder only once the batch row is
    # committed. A process killed half-way leaves a staging folder that no batch row names, which the start-up
    # sweep removes (audited) — never sealed packages that nobody can see or resume.
    staging = batch_staging.staging_folder(services, public_id)
    staging.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    committed = False
    with batch_staging.splitting(staging):
        try:
            records = _split(services, archive, groups, public_id, staging)
            with _lock:
                with services.sessions.begin() as db:
                    _refuse_second_live_batch(db, officer.id, settings.batch_stale_after_s)
                    job = BatchJob(
                        public_id=public_id,
                        officer_id=officer.id,
                        officer_name=officer.name,
                        filename=(filename or "batch.zip")[:200],
                        archive_sha256=digest,
                        status=BatchStatus.RUNNING,
                        total=len(records),
                        runner=RUNNER,
                        heartbeat_at=utcnow(),
                    )
                    db.add(job)
                    db.flush()
                    for record in records:
                        record.batch_id = job.id
                    db.add_all(records)
                    audit.record(
                        db,
                        officer,
                        "batch.uploaded",
                        "batch",
                        public_id,
                        filename=job.filename,
                        archive_sha256=digest,
                        packages=len(records),
                        invalid=sum(r.status == RecordStatus.INVALID for r in records),
                    )
                committed = True
                # Committed: staging now holds the batch's only copy of its packages, never to be deleted here.
                # A failed rename (or a kill before it) leaves them staged and the batch "interrupted": Resume,
                # on any server, or the start-up sweep moves them into place (``batch_staging.recover``).
                try:
                    batch_staging.publish(staging, folder(services, public_id))
                except OSError:
                    log.exception("batch %s: its packages stay in %s until it is resumed", public_id, staging)
                else:
                    _launch(services, public_id)  # after the commit: the thread reads the rows
        except BaseException:
            if not committed:  # no batch row names these packages: nobody could see or resume them
                shutil.rmtree(staging, ignore_errors=True)
            raise
    return public_id


def _split(services: EnrolmentServices, archive: Any, groups: Any, public_id: str, staging: Path) -> list[BatchRecord]:
    """Seal the archive's usable packages into ``staging``; a record per package (the unusable ones invalid)."""
    records: list[BatchRecord] = []
    staging.mkdir(mode=0o700)
    with archive:
        for position, package in enumerate(batch_archive.read_packages(archive, groups)):
            if package.issues:
                records.append(
                    BatchRecord(
                        position=position,
                        package=package.name[:200],
                        status=RecordStatus.INVALID,
                        processed_at=utcnow(),
                        reasons=[i.to_dict() for i in package.issues],
                    )
                )
                continue
            batch_archive.write_sealed(services.keyring, staging / f"{position:05d}.sealed", public_id, package)
            person, _ = batch_archive.parse_person(package.files[batch_archive.PERSON_FILE])
            assert person is not None  # a package with issues was recorded invalid above
            records.append(
                BatchRecord(
                    position=position,
                    package=package.name[:200],
                    status=RecordStatus.PENDING,
                    idempotency_key=package_key(package),
                    person_sha256=batch_archive.person_digest(person),
                    reasons=[],
                )
            )
    names = [record.package for record in records]
    clashes = sorted({name for name in names if names.count(name) > 1})
    if clashes:  # each package's record is found by its name on resume: names must be distinct
        raise InvalidInput(
            "several packages in the archive have the same name (folder names must differ in "
            f"their first 200 characters, and files at the top level form one package): "
            f"{', '.join(clashes[:3])}",
            code="package_names_clash",
            params={"names": ", ".join(clashes[:3])},
        )
    return records


def _launch(services: EnrolmentServices, public_id: str) -> None:
    """Start this process's thread for the batch (the caller has claimed it: runner = RUNNER)."""
    stop = threading.Event()
    thread = threading.Thread(
        target=_work, args=(services, public_id, stop), name=f"batch-{public_id[:8]}", daemon=True
    )
    _threads[public_id], _stops[public_id] = thread, stop
    thread.start()


def _work(services: EnrolmentServices, public_id: str, stop: threading.Event) -> None:
    try:
        run(services, public_id, stop.is_set)
    except Exception:  # the batch stays resumable; the log has why
        log.exception("batch %s stopped on an unexpected error", public_id)
    finally:
        with _lock:
            if _stops.get(public_id) is stop:  # not a runner that Resume registered while this one finished
                _threads.pop(public_id, None)
                _stops.pop(public_id, None)


def wait(public_id: str, timeout: float | None = None) -> None:
    """Block until this process's thread for the batch (if any) has stopped."""
    with _lock:
        thread = _threads.get(public_id)
    if thread is not None:
        thread.join(timeout)


def run(services: EnrolmentServices, public_id: str, should_stop: Callable[[], bool] = lambda: False) -> None:
    """Process the batch's pending records in order until none is left (then complete it), the officer pauses
    it, another process takes it over, or ``should_stop()`` says so."""
    while not should_stop():
        with services.sessions() as db:
            job = db.scalars(select(BatchJob).where(BatchJob.public_id == public_id)).one()
            if job.status != BatchStatus.RUNNING or job.runner != RUNNER:
                return
            if not _officer_may_enrol(db, job.officer_id):
                # Disabled, or no longer an officer: their batch stops as their console session does.
                job.status, job.runner = BatchStatus.PAUSED, None
                audit.record(
                    db,
                    SYSTEM,
                    "batch.paused",
                    "batch",
                    public_id,
                    reason="the uploading officer's account is disabled or no longer holds the officer role",
                )
                db.commit()
                return
            record = db.scalars(
                select(BatchRecord)
                .where(BatchRecord.batch_id == job.id, BatchRecord.status == RecordStatus.PENDING)
                .order_by(BatchRecord.position)
                .limit(1)
            ).first()
            actor = Actor(job.officer_id, job.officer_name, "officer")
        if record is None:
            _complete(services, public_id)
            return
        outcome = process_record(
            services,
            actor,
            public_id,
            record.position,
            record.package,
            record.idempotency_key,
            record.person_sha256,
            record.id,
        )
        with services.sessions.begin() as db:
            db.execute(
                update(BatchRecord)
                .where(BatchRecord.id == record.id)
                .values(
                    status=outcome.status,
                    enrolment_public_id=outcome.enrolment_public_id,
                    uin=outcome.uin,
                    case_public_id=outcome.case_public_id,
                    reasons=list(outcome.reasons),
                    processed_at=utcnow(),
                )
            )
            db.execute(update(BatchJob).where(BatchJob.public_id == public_id).values(heartbeat_at=utcnow()))
            if outcome.status == RecordStatus.ALREADY_ENROLLED:  # a decision not to enrol: on the record
                audit.record(
                    db,
                    actor,
                    "batch.already_enrolled",
                    "enrolment",
                    outcome.enrolment_public_id or "",
                    batch=public_id,
                    package=record.package,
                    **(outcome.recognised or {}),
                )
        package_path(services, public_id, record.position).unlink(missing_ok=True)


def _officer_may_enrol(db: Session, officer_id: int) -> bool:
    """Does the staff account behind this actor row still hold the officer role, enabled?"""
    account = db.scalars(select(StaffAccount).where(StaffAccount.api_key_id == officer_id)).first()
    return account is not None and account.disabled_at is None and "officer" in account.roles


def process_record(
    services: EnrolmentServices,
    actor: Actor,
    batch_id: str,
    position: int,
    package: str,
    key: str | None,
    person_sha256: str | None = None,
    record_id: int | None = None,
) -> Outcome:
    """Enrol one package through the workflow under ``key`` (or say why it cannot be); never raises.

    A person this officer's drives enrolled already — the same package (``key``) held by another record, or a
    re-export of it (``enrollment.batch.recognise``) — is ``already_enrolled``, pointing at that enrolment."""
    key = key or idempotency_key(batch_id, package)
    try:
        if _enrolled(services, actor, key):  # enrolled before an interruption: its package may be gone already
            return _outcome_of(services, actor, record_id, key=key)
        files = batch_archive.files_of(
            batch_archive.read_sealed(services.keyring, package_path(services, batch_id, position), batch_id, package)
        )
        person, issues = batch_archive.parse_person(files["person"])
        if person is None:
            return Outcome(RecordStatus.INVALID, reasons=tuple(i.to_dict() for i in issues))
        if person_sha256:
            earlier = batch_recognise.earlier_enrolment(services, actor, record_id, person_sha256, files["faces"])
            if earlier is not None:
                found = _outcome_of(services, actor, record_id, public_id=earlier.enrolment_public_id)
                return replace(found, recognised={"by": "re-export", "face_score": round(earlier.face_score, 4)})
        try:
            workflow.enrol(
                services,
                actor,
                person.demographics,
                [workflow.PhotoUpload(data, name, None) for name, data in files["faces"]],
                key,
                fingers=[FingerUpload(p, data, name, None) for p, (name, data) in sorted(files["fingers"].items())],
                finger_exceptions=[FingerException(e.position, e.reason, e.note) for e in person.finger_exceptions],
                documents=[DocumentEvidence.from_input(d) for d in person.documents],
                # A drive's record needs its outcome: the batch decides its own jobs, whoever else takes the queue.
                settle=Settle.from_settings(services.settings.dedup_queue, inline=True),
            )
        except Conflict:  # the same key raced with itself (two runners): read what the other stored
            pass
        return _outcome_of(services, actor, record_id, key=key)
    except CividError as exc:
        return Outcome(RecordStatus.INVALID, reasons=(_reason_of(exc),))
    except FileNotFoundError:
        return Outcome(
            RecordStatus.ERROR,
            reasons=({"code": "package_missing", "message": "the stored package is missing from the data folder"},),
        )
    except Exception:
        log.exception("batch %s: package %s failed", batch_id, package)
        return Outcome(
            RecordStatus.ERROR,
            reasons=({"code": "unexpected", "message": "an unexpected error occurred; it has been logged"},),
        )


def _reason_of(exc: CividError) -> dict[str, Any]:
    """A record's reason for an error of the workflow: its problem type and English sentence (what the CSV
    reports), and the values ``console.batch.reasons`` needs to say it in the officer's language."""
    params = {**exc.params, "photo": exc.extra.get("photo"), "error_code": exc.code}
    params = {name: value for name, value in params.items() if isinstance(value, (str, int))}
    return {"code": exc.type_slug, "message": exc.detail, **({"params": params} if params else {})}


def _enrolled(services: EnrolmentServices, actor: Actor, key: str) -> bool:
    with services.sessions() as db:
        return (
            db.scalar(select(Enrolment.id).where(Enrolment.officer_id == actor.id, Enrolment.idempotency_key == key))
            is not None
        )


def _outcome_of(
    services: EnrolmentServices,
    actor: Actor,
    record_id: int | None,
    *,
    key: str | None = None,
    public_id: str | None = None,
) -> Outcome:
    """The record's outcome, read from the enrolment stored under its idempotency key (or ``public_id``): the
    enrolment's own outcome when this record made it, ``already_enrolled`` when another record holds it."""
    with services.sessions() as db:
        row = db.scalars(
            select(Enrolment).where(
                Enrolment.officer_id == actor.id,
                Enrolment.idempotency_key == key if public_id is None else Enrolment.public_id == public_id,
            )
        ).one()
        first = db.execute(
            select(BatchRecord.package, BatchJob.filename, BatchRecord.batch_id)
            .join(BatchJob)
            .where(
                BatchRecord.enrolment_public_id == row.public_id,
                BatchRecord.status.in_(RecordStatus.FINAL),
                BatchRecord.id != (record_id or -1),
            )
            .order_by(BatchRecord.id)
            .limit(1)
        ).first()
        if row.status == EnrolmentStatus.REJECTED:
            # The same package twice in one archive is one person: counted once, as the first row's rejection. In
            # a later archive the refusal is given again, as its person still needs the officer.
            this_batch = db.scalar(select(BatchRecord.batch_id).where(BatchRecord.id == (record_id or -1)))
            if first is not None and first.batch_id == this_batch:
                reason = {
                    "code": "rejected_earlier",
                    "message": f"the same package as {first.package} ({first.filename}), rejected there",
                    "params": {"package": first.package, "archive": first.filename},
                }
                return Outcome(
                    RecordStatus.ALREADY_ENROLLED, row.public_id, reasons=(reason,), recognised={"by": "same package"}
                )
            return Outcome(RecordStatus.REJECTED, row.public_id, reasons=tuple(row.rejection_reasons))
        uin = db.scalar(select(Identity.uin).where(Identity.id == row.identity_id)) if row.identity_id else None
        case = db.scalar(select(DedupCase.public_id).where(DedupCase.key == enrolment_case_key(row.id)))
        if first is not None:  # another package (this archive's or an earlier one's) enrolled this person
            reason = {
                "code": "enrolled_earlier",
                "message": f"already enrolled from {first.package} ({first.filename})",
                "params": {"package": first.package, "archive": first.filename},
            }
            return Outcome(
                RecordStatus.ALREADY_ENROLLED,
                row.public_id,
                uin=uin,
                case_public_id=None if uin else case,
                reasons=(reason,),
                recognised={"by": "same package"},
            )
        if row.status == EnrolmentStatus.ISSUED:
            return Outcome(RecordStatus.ISSUED, row.public_id, uin=uin)
        return Outcome(RecordStatus.CASE_OPENED, row.public_id, case_public_id=case)


def counts(db: Session, job: BatchJob) -> dict[str, int]:
    """Records per status (every status present, zeros included)."""
    found = dict(
        db.execute(
            select(BatchRecord.status, func.count()).where(BatchRecord.batch_id == job.id).group_by(BatchRecord.status)
        ).all()
    )
    return {status: int(found.get(status, 0)) for status in (RecordStatus.PENDING, *RecordStatus.FINAL)}


def _complete(services: EnrolmentServices, public_id: str) -> None:
    with services.sessions.begin() as db:
        job = db.scalars(select(BatchJob).where(BatchJob.public_id == public_id)).one()
        if job.status == BatchStatus.COMPLETED:
            return
        job.status, job.finished_at, job.runner = BatchStatus.COMPLETED, utcnow(), None
        audit.record(
            db,
            Actor(job.officer_id, job.officer_name, "officer"),
            "batch.completed",
            "batch",
            public_id,
            **counts(db, job),
        )
    shutil.rmtree(folder(services, public_id), ignore_errors=True)


def pause(services: EnrolmentServices, officer: Actor, public_id: str) -> None:
    """Stop after the record in progress (this process or another: the runner re-reads the status each record)."""
    with services.sessions.begin() as db:
        job = owned(db, officer, public_id)
        if job.status != BatchStatus.RUNNING:
            raise Conflict(
                f"batch {public_id} is {job.status}, not running", code="not_running", params={"batch": public_id}
            )
        job.status = BatchStatus.PAUSED
        audit.record(db, officer, "batch.paused", "batch", public_id)
    with _lock:
        stop = _stops.get(public_id)
    if stop is not None:
        stop.set()


def resume(services: EnrolmentServices, officer: Actor, public_id: str) -> None:
    """Claim a paused or interrupted batch for this process and process its pending records."""
    stale = services.settings.batch_stale_after_s
    with _lock:
        _claim(services, officer, public_id, stale)
        # Its packages may still be staged: the server that split the archive died (or its rename failed) after
        # the commit, and may never restart to sweep them. Moved into place here, audited. After the claim's
        # commit, so that the file lock is never awaited holding a database write (the sweep's order: lock, then
        # database).
        with services.sessions.begin() as db:
            batch_staging.recover_for(services, db, public_id)
        _launch(services, public_id)


def _claim(services: EnrolmentServices, officer: Actor, public_id: str, stale: int) -> None:
    with services.sessions.begin() as db:
        job = owned(db, officer, public_id)
        if job.status == BatchStatus.COMPLETED:
            raise Conflict(f"batch {public_id} is already complete", code="completed", params={"batch": public_id})
        if is_live(job, stale):
            raise Conflict(f"batch {public_id} is running", code="running", params={"batch": public_id})
        _refuse_second_live_batch(db, officer.id, stale, except_id=public_id)
        was = shown_status(job, stale)
        # Claimed only if nobody changed it since it was read (two desks pressing Resume at once).
        claimed = affected_rows(
            db,
            update(BatchJob)
            .where(
                BatchJob.id == job.id,
                BatchJob.status == job.status,
                BatchJob.runner.is_(None) if job.runner is None else BatchJob.runner == job.runner,
                BatchJob.heartbeat_at.is_(None)
                if job.heartbeat_at is None
                else BatchJob.heartbeat_at == job.heartbeat_at,
            )
            .values(status=BatchStatus.RUNNING, runner=RUNNER, heartbeat_at=utcnow()),
        )
        if claimed != 1:
            raise Conflict(
                f"batch {public_id} was resumed elsewhere", code="resumed_elsewhere", params={"batch": public_id}
            )
        audit.record(db, officer, "batch.resumed", "batch", public_id, was=was)
