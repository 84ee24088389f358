"""ABIS identify: one reference's templates against the other references, fused, with MOSIP's flags.

Candidates come from both indexes (the nearest face templates, each probe finger's MCC shortlist) or, when the
request names a ``gallery``, are exactly the references it names. Each is compared 1:1 on the face and on every
finger position both have, and the scores are fused into one log10 likelihood ratio (matcher/fusion.py).

``targetFPIR`` is MOSIP's ``round(-10 log10 FPIR)``: 30 asks that a search of someone not in the gallery return a
candidate at most once in 1,000 searches. For a calibrated likelihood ratio, an impostor comparison reaches
LLR >= t with probability at most 10^-t, so a search over N references has FPIR <= N 10^-t; the threshold is
therefore ``t = targetFPIR/10 + log10(N)`` (30 over 1,000 references: LLR 6). It is a bound, not a fit: the
calibration is only as good as matcher/calibration.json, and benchmarks/fusion.py measures the real rates.
Without targetFPIR the threshold is ``CIVID_DEDUP_LLR_THRESHOLD``, the one enrolment's deduplication uses.

A low targetFPIR over a small gallery gives a low ``t`` (10 over one reference: LLR 1), below what one finger can
score alone (``finger_llr_cap``, 2.75: matcher/calibration.json). The bound assumes the calibration holds to its
tails, which one finger's does not (hence its cap), so the threshold is never set at or below the cap: one finger
alone never makes a candidate, however the request is worded, as the settings refuse for enrolment's threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from abis.references import ReferenceGallery, ReferenceTemplates, templates_of
from civid.keyring import KeyRing
from enrollment.fingerprint import compare, index_features, matching_features
from matcher.fusion import FusedScore, Fusion
from models import AbisReference, AbisTemplate

FACE_NEIGHBOURS = 64  # face templates fetched per probe descriptor before 1:1 comparison
FINGER_SHORTLIST = 20  # finger templates each probe finger shortlists


@dataclass(frozen=True)
class Match:
    """A reference whose fused evidence reached the threshold."""

    reference_id: str
    fused: FusedScore


def threshold_for(target_fpir: int | None, gallery_size: int, default_llr: float, finger_llr_cap: float) -> float:
    """The fused-LLR threshold meeting MOSIP's targetFPIR over ``gallery_size`` references, never at or below
    what one finger scores alone (module docstring)."""
    if target_fpir is None:
        return default_llr
    bound = target_fpir / 10 + math.log10(max(gallery_size, 1))
    if not math.isfinite(finger_llr_cap):
        return bound  # an uncapped calibration (tests only): nothing to stay above
    # Matches are fused.llr >= threshold: a hundredth above the cap (the precision the answer reports) is out of
    # one finger's reach.
    return max(bound, finger_llr_cap + 0.01)


def identify(
    session: Session,
    keyring: KeyRing,
    gallery: ReferenceGallery,
    fusion: Fusion,
    probe: AbisReference,
    restrict_to: list[str] | None,
    target_fpir: int | None,
    default_llr: float,
    max_results: int,
) -> tuple[list[Match], float]:
    """The candidates for ``probe``, strongest first, and the threshold they passed."""
    probe_templates = templates_of(session, keyring, [probe]).get(probe.id, ReferenceTemplates())
    if restrict_to is not None:
        # "should not match against referenceID that is not in the reference database": unknown ones are skipped.
        pool = session.scalars(
            select(AbisReference).where(AbisReference.reference_id.in_(restrict_to), AbisReference.id != probe.id)
        ).all()
        gallery_size = len(pool)
    else:
        gallery.catch_up(session)
        pool = _shortlist(session, gallery, probe, probe_templates, max_results)
        gallery_size = (session.scalar(select(func.count()).select_from(AbisReference)) or 1) - 1
    threshold = threshold_for(target_fpir, gallery_size, default_llr, fusion.finger_llr_cap)
    candidates = templates_of(session, keyring, list(pool))
    probe_faces = probe_templates.face_matrix()
    probe_fingers = {p: matching_features(f.view) for p, f in probe_templates.fingers.items()}
    matches = []
    for reference in pool:
        theirs = candidates.get(reference.id)
        if theirs is None:
            continue
        face_score = None
        their_faces = theirs.face_matrix()
        if probe_faces is not None and their_faces is not None:
            face_score = float((their_faces @ probe_faces.T).max())
        finger_scores = {
            position: compare(probe_fingers[position], finger.view)
            for position, finger in theirs.fingers.items()
            if position in probe_fingers
        }
        fused = fusion.fuse(face_score, finger_scores)
        if fused.modalities and fused.llr >= threshold:
            matches.append(Match(reference.reference_id, fused))
    matches.sort(key=lambda m: -m.fused.llr)
    return matches[:max_results], threshold


def _shortlist(
    session: Session,
    gallery: ReferenceGallery,
    probe: AbisReference,
    templates: ReferenceTemplates,
    max_results: int,
) -> list[AbisReference]:
    """The references either index puts near the probe (its own templates excluded), from the database's rows."""
    template_ids: set[int] = set()
    faces = templates.face_matrix()
    if faces is not None:
        k = max(FACE_NEIGHBOURS, 4 * max_results)
        template_ids |= {hit.template_id for row in gallery.faces.search(faces, k) for hit in row}
    for finger in templates.fingers.values():
        template_ids |= {i for i, _ in gallery.fingers.search(index_features(finger.view), FINGER_SHORTLIST)}
    if not template_ids:
        return []
    # Rows deleted by another process since this one indexed them are gone here, so never reported.
    return list(
        session.scalars(
            select(AbisReference)
            .join(AbisTemplate, AbisTemplate.reference_pk == AbisReference.id)
            .where(AbisTemplate.id.in_(np.fromiter(template_ids, np.int64).tolist()), AbisReference.id != probe.id)
            .distinct()
        )
    )
