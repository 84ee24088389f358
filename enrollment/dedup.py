"""From gallery hits to candidates: the enrolled people a face matches, best score first.

The gallery returns template ids; the database says whose they are and whether they still count
(a template whose enrolment was since found a duplicate may linger in another process's cache for a
moment, and is dropped here). A person with several templates scores the best of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from enrollment.runtime import EnrolmentServices

from civid.settings_groups import DedupThresholds
from enrollment.fingerprint import AcceptedFinger, compare, index_features, matching_features, open_finger
from enrollment.templates import open_descriptor
from matcher import mcc
from matcher.fusion import FusedScore
from matcher.gallery import GallerySearch
from models import Enrolment, EnrolmentStatus, FaceTemplate, FingerTemplate


@dataclass(frozen=True)
class Match:
    """An enrolled person (by their enrolment) and the best face score against them."""

    enrolment: Enrolment
    score: float


def candidates_for(
    session: Session,
    gallery: GallerySearch,
    vectors: NDArray[np.float32],
    threshold: float,
    max_candidates: int,
    statuses: tuple[str, ...] = EnrolmentStatus.IN_GALLERY,
) -> list[Match]:
    """People whose templates score at or above ``threshold`` against any of ``vectors`` (shape (n, 128))."""
    # Ask for more neighbours than candidates: one person may hold several templates.
    hits = gallery.search(vectors, k=max_candidates * 4)
    best: dict[int, float] = {}
    for row in hits:
        for hit in row:
            if hit.score >= threshold:
                best[hit.template_id] = max(best.get(hit.template_id, -1.0), hit.score)
    if not best:
        return []
    rows = session.execute(
        select(FaceTemplate.id, Enrolment)
        .join(Enrolment, FaceTemplate.enrolment_id == Enrolment.id)
        .where(FaceTemplate.id.in_(list(best)), FaceTemplate.in_gallery, Enrolment.status.in_(statuses))
    ).all()
    per_enrolment: dict[int, Match] = {}
    for template_id, enrolment in rows:
        score = best[template_id]
        current = per_enrolment.get(enrolment.id)
        if current is None or score > current.score:
            per_enrolment[enrolment.id] = Match(enrolment, score)
    return sorted(per_enrolment.values(), key=lambda m: -m.score)[:max_candidates]


# A face neighbour this close is worth comparing finger by finger even without a finger shortlist hit
# (LLR -1: cosine about 0.90 with the shipped calibration; strangers sit near -4).
STAGE_ONE_FACE_LLR = -1.0


@dataclass(frozen=True)
class FusedMatch:
    """An enrolled person and the fused evidence that the applicant is them."""

    enrolment: Enrolment
    face_score: float | None
    fused: FusedScore


def fused_candidates(
    session: Session,
    services: EnrolmentServices,
    vectors: NDArray[np.float32] | None,
    fingers: list[AcceptedFinger],
    thresholds: DedupThresholds,
    statuses: tuple[str, ...] = EnrolmentStatus.IN_GALLERY,
    exclude: int | None = None,
) -> list[FusedMatch]:
    """People whose fused face+finger evidence reaches ``thresholds.llr_threshold``, strongest first (at most
    ``thresholds.max_candidates``; ``settings.dedup`` for enrolment).

    Candidates come from both indexes (the face gallery's nearest templates, each probe finger's
    MCC shortlist); each is then compared 1:1 on the face and on every finger position both have,
    and the scores are fused (matcher/fusion.py). ``exclude`` is the applicant's own enrolment: its templates
    are in the gallery before it is searched (insert-then-identify)."""
    fusion = services.fusion
    threshold, max_candidates = thresholds.llr_threshold, thresholds.max_candidates
    probes = {finger.position: matching_features(finger.view) for finger in fingers}
    # Stage 1, cheap evidence: each face neighbour's face score; each shortlisted finger against the probe
    # finger that shortlisted it. Only people with some positive evidence go on to the full comparison.
    # The applicant's own templates come back too (one hit per own template and query): ask for that many more.
    own = 0 if vectors is None or exclude is None else len(vectors)
    face_ids = (
        set() if vectors is None else _face_neighbours(session, services.gallery, vectors, max_candidates * 4 + own)
    )
    if exclude is not None:
        face_ids.discard(exclude)
    # Every neighbour's face score from one query (a query per neighbour cost a 10k-gallery job ~90 of its 155 ms).
    face_scores = {} if vectors is None else face_scores_of(services, session, face_ids, vectors)
    shortlisted: dict[int, set[int]] = {}  # finger id -> probe positions that shortlisted it
    for finger in fingers:
        for finger_id, _ in services.fingers.search(index_features(finger.view), thresholds.finger_shortlist):
            shortlisted.setdefault(finger_id, set()).add(finger.position)
    promising = {e for e, score in face_scores.items() if fusion.face(score) >= STAGE_ONE_FACE_LLR}
    # Stage-1 finger scores, (finger template id, probe position) -> score, reused by stage 2: the matching
    # cylinders of a stored finger cost more than the rest of its comparison, so none is computed twice.
    known: dict[tuple[int, int], float] = {}
    if shortlisted:
        rows = session.execute(
            select(FingerTemplate, Enrolment.public_id)
            .join(Enrolment)
            .where(FingerTemplate.id.in_(list(shortlisted)), FingerTemplate.in_gallery)
        ).all()
        for row, public_id in rows:
            if row.enrolment_id in promising or row.enrolment_id == exclude:
                continue
            reference = matching_features(open_finger(services.keyring, row, public_id).view)
            for position in sorted(shortlisted[row.id]):
                known[(row.id, position)] = float(mcc.similarity(probes[position], reference))
                if fusion.finger(known[(row.id, position)]) > 0:
                    promising.add(row.enrolment_id)
                    break
    if not promising:
        return []
    # Stage 2: the face and every finger position both sides have, fused.
    enrolments = session.scalars(
        select(Enrolment).where(Enrolment.id.in_(list(promising)), Enrolment.status.in_(statuses))
    ).all()
    if vectors is not None:  # people promoted by a finger alone: their face scores, again in one query
        face_scores |= face_scores_of(services, session, {e.id for e in enrolments} - face_scores.keys(), vectors)
    matches = []
    for enrolment in enrolments:
        face_score = None if vectors is None else face_scores.get(enrolment.id)
        fused = fusion.fuse(face_score, finger_scores_against(services, session, enrolment, probes, known))
        if fused.llr >= threshold:
            matches.append(FusedMatch(enrolment, face_score, fused))
    return sorted(matches, key=lambda m: -m.fused.llr)[:max_candidates]


def finger_scores_against(
    services: EnrolmentServices,
    session: Session,
    enrolment: Enrolment,
    probes: dict[int, mcc.Cylinders],
    known: dict[tuple[int, int], float] | None = None,
) -> dict[int, float]:
    """MCC similarity per finger position that the probe and this enrolment both have (``known``: scores already
    computed, by (finger template id, probe position))."""
    if not probes:
        return {}
    rows = session.scalars(
        select(FingerTemplate).where(
            FingerTemplate.enrolment_id == enrolment.id, FingerTemplate.position.in_(list(probes))
        )
    ).all()
    known = known or {}
    return {
        row.position: known[(row.id, row.position)]
        if (row.id, row.position) in known
        else compare(probes[row.position], open_finger(services.keyring, row, enrolment.public_id).view)
        for row in rows
    }


def _face_neighbours(session: Session, gallery: GallerySearch, vectors: NDArray[np.float32], k: int) -> set[int]:
    """Enrolment ids of the k nearest face templates of each probe descriptor."""
    template_ids = {hit.template_id for row in gallery.search(vectors, k=k) for hit in row}
    if not template_ids:
        return set()
    return set(
        session.scalars(
            select(FaceTemplate.enrolment_id).where(FaceTemplate.id.in_(list(template_ids)), FaceTemplate.in_gallery)
        )
    )


def face_scores_of(
    services: EnrolmentServices, session: Session, enrolment_ids: set[int], vectors: NDArray[np.float32]
) -> dict[int, float]:
    """Per enrolment, the best cosine similarity between any probe descriptor (shape (n, 128)) and any of its face
    templates, decrypted from the database (the truth, not the index): one query for all of them."""
    if not enrolment_ids:
        return {}
    rows = session.execute(
        select(FaceTemplate, Enrolment.public_id)
        .join(Enrolment)
        .where(FaceTemplate.enrolment_id.in_(sorted(enrolment_ids)))
    ).all()
    best: dict[int, float] = {}
    for row, public_id in rows:
        score = float((open_descriptor(services.keyring, row, public_id) @ vectors.T).max())
        best[row.enrolment_id] = max(best.get(row.enrolment_id, -1.0), score)
    return best
