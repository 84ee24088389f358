"""From gallery hits to candidates: the enrolled people a face matches, best score first.

The gallery returns template ids; the database says whose they are and whether they still count
(a template whose enrolment was since found a duplicate may linger in another process's cache for a
moment, and is dropped here). A person with several templates scores the best of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.gallery import Gallery
from models import Enrolment, EnrolmentStatus, FaceTemplate


@dataclass(frozen=True)
class Match:
    """An enrolled person (by their enrolment) and the best face score against them."""

    enrolment: Enrolment
    score: float


def candidates_for(
    session: Session, gallery: Gallery, vectors: NDArray[np.float32], threshold: float, max_candidates: int,
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
