"""benchmarks/fitness.py on synthetic templates: which records the benchmarks count as refused and why, the mask
that leaves their pairs out, and the 640x480 stress rescale (the real FVC data is for the benchmark only)."""

from __future__ import annotations

import numpy as np

from benchmarks import fitness
from benchmarks.finger_accuracy import FingerSample
from matcher import record_fitness
from matcher.iso19794 import FingerView, Minutia, MinutiaType


def _sample(points: list[tuple[int, int]], size: tuple[int, int], pixels_per_cm: float | None = 197.0) -> FingerSample:
    view = FingerView(0, tuple(Minutia(x, y, 0, MinutiaType.RIDGE_ENDING) for x, y in points))
    resolution = None if pixels_per_cm is None else (pixels_per_cm, pixels_per_cm)
    return FingerSample(2, 101, 1, view, size, pixels_per_cm=resolution)


def _fingertip(per_cm2: float, count: int = 36, offset: int = 40) -> list[tuple[int, int]]:
    rng = np.random.default_rng(3)
    side = np.sqrt(count / per_cm2) * 197
    return [(int(x) + offset, int(y) + offset) for x, y in rng.uniform(0, side, (count, 2))]


def test_default_limits_are_the_settings_defaults():
    limits = fitness.default_limits()
    assert (limits.ppi_tolerance, limits.min_minutiae) == (50, 12)
    assert (limits.min_frame_coverage, limits.min_minutiae_per_cm2, limits.max_minutiae_per_cm2) == (0.08, 6.0, 65.0)


def test_records_are_refused_and_masked_but_images_only_flagged():
    limits = fitness.default_limits()
    good = _sample(_fingertip(25), (300, 400))
    cornered = _sample(_fingertip(25), (1600, 1600))
    few = _sample([(10, 10), (250, 20), (120, 380)], (300, 400))  # too few (a rejection) and sparse (a refusal)
    records = [good, cornered, few]
    assert fitness.fit_mask(records, "records", limits).tolist() == [True, False, False]
    found = fitness.summary(records, "records", limits)
    assert found["enforced"] and found["refused"] == 2 and found["too_few_minutiae"] == 1
    assert found["reasons"] == {
        record_fitness.COVERAGE: 1,
        record_fitness.TOO_FEW: 1,
        record_fitness.SPARSE: 1,
    }
    images = [_sample(_fingertip(25), (1600, 1600), None)]
    assert fitness.fit_mask(images, "images", limits).tolist() == [True]
    assert fitness.summary(images, "images", limits)["enforced"] is False


def test_the_stress_rescale_refuses_a_dense_fingertip_and_not_a_sparse_one():
    limits = fitness.default_limits()
    dense = fitness.stress_summary([_sample(_fingertip(35), (300, 400))], limits)
    sparse = fitness.stress_summary([_sample(_fingertip(15, count=20), (300, 400))], limits)
    assert dense["refused"] == 1 and record_fitness.DENSE in dense["reasons"]
    assert sparse["refused"] == 0
