"""Bulk deduplication of an existing register (``civid abis dedup-bulk``): every issued person's face against
everyone, or one imported batch's people against everyone, resumable.

A run (``models.BulkDedupRun``) fixes what it covers when it starts: the issued people's face templates in the
gallery up to the newest template id then. The templates are decrypted once into arrays and searched with
``matcher.bulk_pairs`` (an exact index up to ``exact_max`` templates, IVF above: each face's k nearest
neighbours), in batches of queries in template id order. Each candidate pair is re-ranked exactly (best cosine
over both people's templates, and the MCC score of every finger position both have) and fused into one LLR
(``matcher.fusion``). After each batch, in one transaction: its pairs, the cases opened for the pairs at or
above the threshold (``enrollment.register_pairs``), and the cursor (the batch's last template id). A run stopped
by Ctrl-C, a kill or a crash keeps everything up to its last committed batch; resuming it searches only the
templates after the cursor and skips the pairs it already holds, so it ends with the same pairs as an
uninterrupted run.

Only issued people take part: an applicant pending adjudication is already in a case of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from civid.errors import NotFound
from enrollment.fingerprint import compare, matching_features, open_finger
from enrollment.register_pairs import open_pair_case
from enrollment.runtime import EnrolmentServices
from enrollment.templates import open_descriptor
from matcher import bulk_pairs
from matcher.bulk_pairs import PairBatch, ScanOptions
from models import (
    BatchJob,
    BatchRecord,
    BulkDedupPair,
    BulkDedupRun,
    Enrolment,
    EnrolmentStatus,
    FaceTemplate,
    FingerTemplate,
    RunStatus,
    utcnow,
)

READ_CHUNK = 10_000  # template rows decrypted per database round trip


@dataclass(frozen=True)
class BulkOptions:
    """What a run searches with: the scan (neighbours, index, batch size, score floor) and the case threshold."""

    scan: ScanOptions
    llr_threshold: float  # fused LLR at or above which a pair becomes a case (settings.dedup_llr_threshold)

    def as_json(self) -> dict[str, Any]:
        return {"scan": asdict(self.scan), "llr_threshold": self.llr_threshold}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BulkOptions:
        return cls(ScanOptions(**data["scan"]), float(data["llr_threshold"]))


@dataclass
class RunProgress:
    """Callbacks a caller (the command's progress bars) is told of: totals first, then increments."""

    loading: Callable[[int], None] = lambda total: None
    loaded: Callable[[int], None] = lambda count: None
    searching: Callable[[int, int], None] = lambda total, done: None
    searched: Callable[[int, int], None] = lambda queries, pairs: None


@dataclass(frozen=True)
class Gallery:
    """The run's templates as arrays: ids ascending (n,), owners = enrolment ids (n,), descriptors (n, 128)."""

    template_ids: NDArray[np.int64]
    owners: NDArray[np.int64]
    vectors: NDArray[np.float32]


def start_run(services: EnrolmentServices, actor: Actor, options: BulkOptions, batch: str | None = None) -> str:
    """Record a new run (over everyone, or the people of imported ``batch``, by its public id); its public id."""
    with services.sessions() as session:
        batch_row = None
        if batch is not None:
            batch_row = session.scalar(select(BatchJob).where(BatchJob.public_id == batch))
            if batch_row is None:
                raise NotFound(f"no imported batch {batch}", code="unknown_batch", params={"batch": batch})
        newest = session.scalar(select(func.max(FaceTemplate.id))) or 0
        run = BulkDedupRun(
            public_id=str(uuid.uuid4()),
            batch_id=batch_row.id if batch_row else None,
            options=options.as_json(),
            last_template_id=newest,
            queries_total=0,
            started_by=actor.name,
        )
        session.add(run)
        session.flush()
        audit.record(
            session,
            actor,
            "bulk_dedup.started",
            "bulk_dedup_run",
            run.public_id,
            batch=batch,
            options=run.options,
        )
        session.commit()
        return run.public_id


def load_run(session: Session, public_id: str) -> BulkDedupRun:
    """A run by its public id, or NotFound."""
    run = session.scalar(select(BulkDedupRun).where(BulkDedupRun.public_id == public_id))
    if run is None:
        raise NotFound(f"no bulk dedup run {public_id}", code="unknown_run", params={"run": public_id})
    return run


def execute(
    services: EnrolmentServices,
    actor: Actor,
    run_id: str,
    progress: RunProgress | None = None,
    max_batches: int | None = None,
) -> BulkDedupRun:
    """Search what remains of run ``run_id`` after its cursor (all of it, or ``max_batches`` batches); return the
    run as it stands (completed when nothing remains)."""
    progress = progress or RunProgress()
    with services.sessions() as session:
        run = load_run(session, run_id)
        if run.status == RunStatus.COMPLETED:
            return run
        options = BulkOptions.from_json(run.options)
        gallery = _load_gallery(services, session, run.last_template_id, progress)
        members = _batch_members(session, run.batch_id) if run.batch_id is not None else None
        everyone = np.arange(len(gallery.owners), dtype=np.int64)
        queried = everyone if members is None else np.flatnonzero(np.isin(gallery.owners, members))
        run.queries_total = len(queried)
        pending = queried[gallery.template_ids[queried] > run.cursor]
        reported = [
            (a, b)
            for a, b in session.execute(
                select(BulkDedupPair.first_enrolment_id, BulkDedupPair.second_enrolment_id).where(
                    BulkDedupPair.run_id == run.id
                )
            )
        ]
        session.commit()
        progress.searching(len(queried), len(queried) - len(pending))
        index = bulk_pairs.build_index(gallery.vectors, options.scan)
        batches = bulk_pairs.scan(
            index, gallery.template_ids, gallery.owners, gallery.vectors, pending, options.scan, reported
        )
        for number, batch in enumerate(batches, start=1):
            pairs = _record_batch(services, session, actor, run, options, batch)
            progress.searched(batch.queried, pairs)
            if max_batches is not None and number >= max_batches:
                break
        else:
            _complete(session, actor, run)
        return run


def _record_batch(
    services: EnrolmentServices,
    session: Session,
    actor: Actor,
    run: BulkDedupRun,
    options: BulkOptions,
    batch: PairBatch,
) -> int:
    """Re-rank one batch's pairs with the fingers, fuse, store them with their cases and move the cursor, in one
    transaction. Returns the number of pairs stored."""
    fingers = _fingers_of(services, session, {*batch.first.tolist(), *batch.second.tolist()})
    opened = 0
    for i in range(len(batch)):
        first, second = int(batch.first[i]), int(batch.second[i])
        face_score = float(batch.face_score[i])
        finger_scores = _finger_scores(fingers.get(first, {}), fingers.get(second, {}))
        fused = services.fusion.fuse(face_score, finger_scores)
        pair = BulkDedupPair(
            run_id=run.id,
            first_enrolment_id=first,
            second_enrolment_id=second,
            index_score=float(batch.index_score[i]),
            face_score=face_score,
            finger_scores={str(p): round(s, 4) for p, s in finger_scores.items()},
            fused_llr=fused.llr,
        )
        if fused.llr >= options.llr_threshold:
            case, is_new = open_pair_case(session, actor, run.public_id, first, second, face_score, fused)
            pair.case_id = case.id if case is not None else None
            opened += int(is_new)
        session.add(pair)
    run.cursor = batch.cursor
    run.queries_done = (run.queries_done or 0) + batch.queried
    run.pairs_found = (run.pairs_found or 0) + len(batch)
    run.cases_opened = (run.cases_opened or 0) + opened
    run.updated_at = utcnow()
    session.commit()
    return len(batch)


def _complete(session: Session, actor: Actor, run: BulkDedupRun) -> None:
    run.status = RunStatus.COMPLETED
    run.finished_at = utcnow()
    audit.record(
        session,
        actor,
        "bulk_dedup.completed",
        "bulk_dedup_run",
        run.public_id,
        queries=run.queries_done,
        pairs=run.pairs_found,
        cases_opened=run.cases_opened,
    )
    session.commit()


def _load_gallery(
    services: EnrolmentServices, session: Session, last_template_id: int, progress: RunProgress
) -> Gallery:
    """Decrypt the face templates of every issued person in the gallery, up to ``last_template_id``."""
    where = (
        FaceTemplate.in_gallery,
        FaceTemplate.id <= last_template_id,
        Enrolment.status == EnrolmentStatus.ISSUED,
    )
    total = session.scalar(select(func.count()).select_from(FaceTemplate).join(Enrolment).where(*where)) or 0
    progress.loading(total)
    query = (
        select(
            FaceTemplate.id,
            FaceTemplate.photo_index,
            FaceTemplate.key_id,
            FaceTemplate.nonce,
            FaceTemplate.ciphertext,
            Enrolment.id.label("enrolment_id"),
            Enrolment.public_id,
        )
        .join(Enrolment, FaceTemplate.enrolment_id == Enrolment.id)
        .where(*where)
        .order_by(FaceTemplate.id)
        .execution_options(yield_per=READ_CHUNK)
    )
    ids, owners, vectors = [], [], []
    for partition in session.execute(query).partitions(READ_CHUNK):
        chunk: Sequence[Any] = partition  # rows read as the template rows they stand for (as gallery_store does)
        ids.append(np.array([r.id for r in chunk], dtype=np.int64))
        owners.append(np.array([r.enrolment_id for r in chunk], dtype=np.int64))
        vectors.append(np.stack([open_descriptor(services.keyring, r, r.public_id) for r in chunk]))
        progress.loaded(len(chunk))
    if not ids:
        return Gallery(np.empty(0, np.int64), np.empty(0, np.int64), np.empty((0, 128), np.float32))
    return Gallery(np.concatenate(ids), np.concatenate(owners), np.concatenate(vectors))


def _batch_members(session: Session, batch_id: int) -> NDArray[np.int64]:
    """Enrolment ids of the people an imported batch enrolled."""
    public_ids = select(BatchRecord.enrolment_public_id).where(
        BatchRecord.batch_id == batch_id, BatchRecord.enrolment_public_id.is_not(None)
    )
    ids = session.scalars(select(Enrolment.id).where(Enrolment.public_id.in_(public_ids)))
    return np.fromiter(ids, dtype=np.int64)


def _fingers_of(services: EnrolmentServices, session: Session, enrolment_ids: set[int]) -> dict[int, dict[int, Any]]:
    """Each enrolment's fingers in the gallery, decrypted: enrolment id -> position -> finger view."""
    if not enrolment_ids:
        return {}
    rows: Sequence[Any] = session.execute(
        select(FingerTemplate, Enrolment.public_id)
        .join(Enrolment, FingerTemplate.enrolment_id == Enrolment.id)
        .where(FingerTemplate.enrolment_id.in_(sorted(enrolment_ids)), FingerTemplate.in_gallery)
    ).all()
    views: dict[int, dict[int, Any]] = {}
    for row, public_id in rows:
        views.setdefault(row.enrolment_id, {})[row.position] = open_finger(services.keyring, row, public_id).view
    return views


def _finger_scores(first: dict[int, Any], second: dict[int, Any]) -> dict[int, float]:
    """The MCC score of every finger position both people gave."""
    return {
        position: compare(matching_features(first[position]), second[position])
        for position in sorted(first.keys() & second.keys())
    }
