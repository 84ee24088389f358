"""Recognising a person a registration drive already enrolled, so that a re-exported drive is "already enrolled"
rather than a deduplication case against the person's own UIN.

A package's idempotency key is a digest of its exact files, so a drive exported again by the kit (the JSON
re-indented, a JPEG re-encoded, ``face.jpg`` renamed ``face-1.jpg``) has new keys. Such a package is the same
person from the same drive when, for one of the enrolments this officer's earlier packages made (or found):

- its ``person.json`` says exactly the same once parsed and normalised (``batch_archive.person_digest``), and
- its photos show the enrolled face: each passes the quality gate and the best match with that enrolment's
  stored templates is at or above ``dedup_threshold`` (the score at which deduplication would have opened a case).

Anything else — a corrected package (other demographics), another face under the same data, a photo the gate
refuses — is enrolled as usual and deduplication judges it. Only the same officer's drives count: this never
tells an officer the UIN of someone another desk enrolled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from civid.audit import Actor
from civid.errors import CividError
from enrollment.runtime import EnrolmentServices
from enrollment.templates import open_descriptor
from enrollment.verification import probe_descriptor
from enrollment.workflow import PhotoUpload
from models import BatchJob, BatchRecord, Enrolment, EnrolmentStatus, FaceTemplate, RecordStatus

# Records whose enrolment holds the person: issued, a case opened (the person is in the gallery), or found before.
_HOLDING = (RecordStatus.ISSUED, RecordStatus.CASE_OPENED, RecordStatus.ALREADY_ENROLLED)


@dataclass(frozen=True)
class Recognised:
    """The enrolment an earlier package made for this person, and how well the package's face matched it."""

    enrolment_public_id: str
    face_score: float


def earlier_enrolment(
    services: EnrolmentServices, actor: Actor, record_id: int | None, person_sha256: str, faces: list[tuple[str, bytes]]
) -> Recognised | None:
    """The enrolment an earlier package of ``actor``'s drives made for this same person (same normalised
    person.json, face matching at the dedup threshold), or None: enrol the package as usual."""
    with services.sessions() as db:
        made = set(
            db.scalars(
                select(BatchRecord.enrolment_public_id)
                .join(BatchJob)
                .where(
                    BatchJob.officer_id == actor.id,
                    BatchRecord.person_sha256 == person_sha256,
                    BatchRecord.status.in_(_HOLDING),
                    BatchRecord.enrolment_public_id.is_not(None),
                    BatchRecord.id != (record_id or -1),
                )
            )
        )
        if not made:
            return None
        rows = db.execute(
            select(FaceTemplate, Enrolment.public_id)
            .join(Enrolment)
            .where(
                Enrolment.public_id.in_(made),
                Enrolment.officer_id == actor.id,
                Enrolment.status != EnrolmentStatus.REJECTED,
            )
        ).all()
        templates: dict[str, list[NDArray[np.float32]]] = {}
        for row, public_id in rows:
            templates.setdefault(public_id, []).append(open_descriptor(services.keyring, row, public_id))
    if not templates:
        return None
    probe = _descriptors(services, faces)
    if probe is None:
        return None
    scores = {public_id: float((np.stack(enrolled) @ probe.T).max()) for public_id, enrolled in templates.items()}
    best = max(scores, key=lambda public_id: scores[public_id])
    return Recognised(best, scores[best]) if scores[best] >= services.settings.dedup_threshold else None


def _descriptors(services: EnrolmentServices, faces: list[tuple[str, bytes]]) -> NDArray[np.float32] | None:
    """The face descriptors of the package's photos; None if any photo is unreadable or fails the quality gate
    (then the workflow says why, as for any package)."""
    if not faces or len(faces) > services.settings.max_photos_per_enrolment:
        return None
    vectors = []
    for name, data in faces:
        try:  # the gate a verification probe passes: a photo it refuses leaves the package to the workflow
            vector, _ = probe_descriptor(services, PhotoUpload(data, name, None))
        except CividError:
            return None
        vectors.append(vector)
    return np.stack(vectors)
