"""Which benchmark templates civid would refuse as unfit for matching, and why (issue 12, item 4).

Records: the enrolment import's own check (``enrollment.finger_fitness`` → ``matcher.record_fitness``) with the
default ``settings.finger_quality`` limits, on each record's declared frame and resolution; a refused record is
one the service answers 422 ``unfit-fingerprint-record`` for. Too few minutiae is the quality gate's reason, counted
apart ("rejected", as the enrolment stores it). Images: the image path's rule is the declared resolution
(``enrollment.fingerprint.decode_finger``: a stated resolution outside 500 ± the tolerance is refused; FVC's files
state 1 dpi, which that rule reads as "not stated", and the benchmarks use each database's known scan ppi); the
minutiae geometry of the MINDTCT templates is measured too, as information on how the limits sit on a second
extractor, but is not enforced on images at enrolment (their coordinates are the image's own 500 ppi pixels).

Also a stress row: each good record's minutiae taken as if from a 640×480 frame and rescaled into the declared
300×400 one (x × 300/640, y × 400/480), the failure the issue saw on a set not in this data; how many the check
refuses there says how much of that failure it catches.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from numpy.typing import NDArray

from civid.settings import Settings
from enrollment.finger_fitness import REFUSING, fitness_limits
from matcher import record_fitness
from matcher.iso19794 import minutiae_array
from matcher.record_fitness import Fitness, FitnessLimits, Frame

STRESS_FROM = (640, 480)  # the sensor frame of the rescaled set


def default_limits() -> FitnessLimits:
    """The deployment defaults of ``settings.finger_quality`` (no environment read)."""
    return fitness_limits(Settings.model_construct().finger_quality)


def sample_frame(sample: Any) -> Frame:
    """The frame a ``finger_accuracy.FingerSample``'s minutiae are in: a record's declared one, an image's 500 ppi."""
    width, height = sample.size
    if sample.pixels_per_cm is not None:
        return Frame(width, height, *sample.pixels_per_cm)
    return Frame.at_ppi(width, height, 500)


def sample_fitness(sample: Any, limits: FitnessLimits) -> Fitness:
    """``matcher.record_fitness.assess`` on one benchmark template."""
    return record_fitness.assess(minutiae_array(sample.view), sample_frame(sample), limits)


def refused(fitness: Fitness) -> bool:
    """Whether the import refuses it (a geometry or resolution finding; too few minutiae is a rejection)."""
    return any(code in REFUSING for code in fitness.codes)


def fit_mask(samples: list[Any], source: str, limits: FitnessLimits) -> NDArray[np.bool_]:
    """Per sample: True where the service would take the template (records: not refused; images: always)."""
    if source != "records":
        return np.ones(len(samples), dtype=bool)
    return np.array([not refused(sample_fitness(s, limits)) for s in samples], dtype=bool)


def _quantiles(values: list[float]) -> dict[str, float]:
    finite = np.array([v for v in values if np.isfinite(v)], dtype=np.float64)
    if not len(finite):
        return {}
    return {f"p{q}": float(np.percentile(finite, q)) for q in (0, 1, 50, 99, 100)}


def summary(samples: list[Any], source: str, limits: FitnessLimits) -> dict[str, Any]:
    """How many templates were refused (records) or would be flagged (images, not enforced), by reason, with the
    distributions the limits were chosen from."""
    checked = [sample_fitness(s, limits) for s in samples]
    reasons = Counter(code for f in checked for code in f.codes)
    return {
        "templates": len(samples),
        "enforced": source == "records",
        "refused": sum(refused(f) for f in checked),
        "too_few_minutiae": reasons.get(record_fitness.TOO_FEW, 0),
        "reasons": dict(sorted(reasons.items())),
        "declared_ppi": sorted({round(f.x_ppi) for f in checked} | {round(f.y_ppi) for f in checked}),
        "frame_coverage": _quantiles([f.frame_coverage for f in checked]),
        "minutiae_per_cm2": _quantiles([f.minutiae_per_cm2 for f in checked]),
    }


def stress_summary(samples: list[Any], limits: FitnessLimits) -> dict[str, Any]:
    """The records' minutiae as if rescaled from a 640×480 frame into their declared one: how many are refused."""
    rescaled = []
    for sample in samples:
        width, height = sample.size
        scale = np.array([width / STRESS_FROM[0], height / STRESS_FROM[1]])
        xy = minutiae_array(sample.view)[:, :2] * scale
        rescaled.append(record_fitness.assess(xy, sample_frame(sample), limits))
    reasons = Counter(code for f in rescaled for code in f.codes if code in REFUSING)
    return {
        "what": f"each record's minutiae rescaled from a {STRESS_FROM[0]}x{STRESS_FROM[1]} frame into its own",
        "templates": len(samples),
        "refused": sum(refused(f) for f in rescaled),
        "reasons": dict(sorted(reasons.items())),
    }
