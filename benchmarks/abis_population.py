"""Synthetic people for the ABIS queue benchmarks: a gallery written straight to the database (faces and fingers
sealed as the enrolment workflow seals them), and new enrolments to submit (returning people and new ones).

Faces: one random direction per person (tests/synthetic_persons.py): a returning person's new photo scores ~0.987
against their own, strangers ~0 ± 0.09.

Fingers: MCC templates made directly from synthetic minutiae (``benchmarks.finger_index.synthetic_minutiae``, ~40
minutiae with a ridge-flow-like direction field), not from synthetic images: rendering and extracting a print
(tests/synthetic_fingerprints.py + MINDTCT) takes about a second a finger, too slow for 200k. Computing a finger's
indexing cylinders takes ~3 ms, so the gallery's fingers come from a pool of ``pool_size`` distinct fingers, each
worn by about ``2 × gallery / pool_size`` people (never the same two fingers by two people); a returning person
presents new impressions of their own two (moved, 20% of minutiae lost, 15% spurious), a new person two fresh
fingers. The 1:N search costs what it costs on distinct fingers (same index size, same shortlist); a returning
person's probe finger also matches the few others wearing that pool finger, whose fused score (a stranger's face and
other finger) stays below the dedup threshold.
"""

from __future__ import annotations

import math
import multiprocessing
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmarks.common import progress

FINGER_POSITIONS = (2, 7)  # right and left index fingers (ISO/IEC 19794-2 position codes)
WIDTH, HEIGHT = 320, 420  # the synthetic minutiae lie within (20..270, 20..360) before an impression's shift


@dataclass(frozen=True)
class PooledFinger:
    """One distinct synthetic finger: its minutiae and the two plaintexts a FingerTemplate row seals."""

    minutiae: NDArray[np.float32]  # (n, 3) x, y, θ radians (ISO orientation)
    record: bytes  # ISO/IEC 19794-2 record of the one view (position filled per use: see ``_record``)
    features: bytes  # mcc.to_bytes of the indexing cylinders


def view_of(minutiae: NDArray[np.float32], position: int) -> Any:
    """An ISO finger view of ``minutiae`` at ``position`` (coordinates clipped to the image)."""
    from matcher.iso19794 import FingerView, Minutia, MinutiaType

    points = tuple(
        Minutia(
            int(np.clip(round(float(x)), 0, WIDTH - 1)),
            int(np.clip(round(float(y)), 0, HEIGHT - 1)),
            int(round(float(theta) / (2 * math.pi) * 256)) % 256,
            MinutiaType.RIDGE_ENDING,
            60,
        )
        for x, y, theta in minutiae
    )
    return FingerView(position, points)


def accepted(minutiae: NDArray[np.float32], position: int) -> Any:
    from enrollment.fingerprint import AcceptedFinger
    from models import FingerSource

    return AcceptedFinger(view_of(minutiae, position), WIDTH, HEIGHT, FingerSource.IMPORT, None)


def _pool_chunk(task: tuple[int, int, int]) -> list[PooledFinger]:
    from benchmarks.finger_index import synthetic_finger
    from enrollment.fingerprint import index_features, record_of
    from matcher import iso19794, mcc

    seed, start, stop = task
    out = []
    for number in range(start, stop):
        minutiae = synthetic_finger(seed, number)
        finger = accepted(minutiae, FINGER_POSITIONS[0])
        record = iso19794.encode(record_of([finger]))
        out.append(PooledFinger(minutiae, record, mcc.to_bytes(index_features(finger.view))))
    return out


def finger_pool(size: int, seed: int, processes: int = 2) -> list[PooledFinger]:
    """``size`` distinct fingers (cylinders computed in ``processes`` processes)."""
    chunk = 500
    tasks = [(seed, start, min(size, start + chunk)) for start in range(0, size, chunk)]
    pool: list[PooledFinger] = []
    with progress() as bar, multiprocessing.get_context("fork").Pool(processes) as workers:
        task = bar.add_task(f"Making {size:,} distinct synthetic fingers", total=size)
        for part in workers.imap(_pool_chunk, tasks):
            pool.extend(part)
            bar.advance(task, len(part))
    return pool


def pool_fingers(person: int, pool_size: int) -> tuple[int, int]:
    """The pool indices of a gallery person's two fingers (no two people share both)."""
    first = person % pool_size
    return first, (first + 1 + person // pool_size * 7 + (person * 31) % (pool_size - 1)) % pool_size


def _record(pooled: PooledFinger, position: int) -> bytes:
    """The pooled record at ``position`` (the record carries the position; re-encoded only when it differs)."""
    if position == FINGER_POSITIONS[0]:
        return pooled.record
    from enrollment.fingerprint import record_of
    from matcher import iso19794

    return iso19794.encode(record_of([accepted(pooled.minutiae, position)]))


def prefill(
    services: Any, officer_id: int, size: int, rng: np.random.Generator, pool: list[PooledFinger]
) -> list[NDArray[np.float32]]:
    """``size`` issued enrolments, each with one sealed face template and (with a pool) two sealed fingers;
    returns the people's face directions."""
    from enrollment.fingerprint import features_aad, record_aad
    from enrollment.templates import seal_descriptor
    from models import FaceTemplate, FingerSource, FingerTemplate
    from tests.synthetic_persons import enrolment_of, person_direction

    directions = [person_direction(rng) for _ in range(size)]
    second_records = [_record(p, FINGER_POSITIONS[1]) for p in pool]  # the left index's records, once per finger
    used: set[str] = set()  # UINs drawn so far: 9 random digits collide within a batch at 10k (birthday bound)
    batch = 1000
    what = "faces + 2 fingers" if pool else "faces"
    with progress() as bar:
        task = bar.add_task(f"Writing a gallery of {size:,} people ({what})", total=size)
        for start in range(0, size, batch):
            with services.sessions.begin() as session:
                indices = range(start, min(start + batch, size))
                enrolments = [gallery_enrolment(officer_id, used, bool(pool)) for _ in indices]
                session.add_all(enrolments)
                session.flush()  # one multi-row INSERT per table, ids returned
                rows: list[Any] = []
                for index, enrolment in zip(indices, enrolments):
                    vector = enrolment_of(directions[index], rng).faces[0].descriptor
                    sealed = seal_descriptor(services.keyring, vector, enrolment.public_id, 0)
                    rows.append(
                        FaceTemplate(
                            enrolment_id=enrolment.id,
                            photo_index=0,
                            key_id=sealed.key_id,
                            nonce=sealed.nonce,
                            ciphertext=sealed.ciphertext,
                            quality_score=0.9,
                            in_gallery=True,
                        )
                    )
                    if not pool:
                        continue
                    for position, which in zip(FINGER_POSITIONS, pool_fingers(index, len(pool))):
                        pooled = pool[which]
                        plain = pooled.record if position == FINGER_POSITIONS[0] else second_records[which]
                        record = services.keyring.seal(plain, record_aad(enrolment.public_id, position))
                        features = services.keyring.seal(pooled.features, features_aad(enrolment.public_id, position))
                        rows.append(
                            FingerTemplate(
                                enrolment_id=enrolment.id,
                                position=position,
                                source=FingerSource.IMPORT,
                                nfiq2=None,
                                minutiae_count=len(pooled.minutiae),
                                in_gallery=True,
                                key_id=record.key_id,
                                nonce=record.nonce,
                                ciphertext=record.ciphertext,
                                features_nonce=features.nonce,
                                features_ciphertext=features.ciphertext,
                            )
                        )
                session.add_all(rows)
            bar.advance(task, len(indices))
    return directions


def gallery_enrolment(officer_id: int, used: set[str], fingers: bool) -> Any:
    """An issued enrolment of a synthetic person, with its identity (both flushed by the caller)."""
    from enrollment.uin import generate_uin
    from models import Enrolment, EnrolmentStatus, Identity

    uin = generate_uin()
    while uin in used:
        uin = generate_uin()
    used.add(uin)
    return Enrolment(
        public_id=str(uuid.uuid4()),
        status=EnrolmentStatus.ISSUED,
        officer_id=officer_id,
        given_name="Gallery",
        family_name="Person",
        date_of_birth=date(1980, 1, 1),
        sex="F",
        place_of_birth="Belmopan",
        nationality="BLZ",
        address={"line1": "1 Street", "locality": "Belmopan", "country": "BLZ"},
        quality=[],
        rejection_reasons=[],
        fingerprints=[],
        dedup_modalities=["face", "finger"] if fingers else ["face"],
        identity=Identity(uin=uin),
    )


def new_enrolment(
    directions: list[NDArray[np.float32]], pool: list[PooledFinger], returning: bool, rng: np.random.Generator
) -> tuple[Any, int | None]:
    """One enrolment to submit (``workflow.Captured``): a returning gallery person (a new photo and, with a pool,
    new impressions of their fingers) or a new person; with the returning person's index (None: new)."""
    from benchmarks.finger_index import impression, synthetic_minutiae
    from enrollment.fingerprint import FingerReport
    from tests.synthetic_persons import enrolment_of, person_direction

    person = int(rng.integers(len(directions))) if returning else None
    captured = enrolment_of(directions[person] if person is not None else person_direction(rng), rng)
    if not pool:
        return captured, person
    if person is not None:
        minutiae = [impression(pool[i].minutiae, rng) for i in pool_fingers(person, len(pool))]
    else:
        minutiae = [synthetic_minutiae(rng) for _ in FINGER_POSITIONS]
    fingers = [accepted(m, position) for m, position in zip(minutiae, FINGER_POSITIONS)]
    reports = [FingerReport(f.position, "imported", None, None, len(f.view.minutiae)) for f in fingers]
    return type(captured)(captured.face_reports, captured.faces, reports, fingers, []), person


def directions(size: int, rng: np.random.Generator) -> list[NDArray[np.float32]]:
    """The face directions ``prefill`` drew for a gallery of ``size`` from an rng in the same state (a kept schema)."""
    from tests.synthetic_persons import person_direction

    return [person_direction(rng) for _ in range(size)]


def synthetic_finger(seed: int, number: int) -> NDArray[np.float32]:
    from benchmarks.finger_index import synthetic_finger as make

    return make(seed, number)
