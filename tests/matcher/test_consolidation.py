"""MCC with root-pair global consolidation (matcher.consolidation) on synthetic minutiae: mates score above
strangers, pose is irrelevant, the score is deterministic and bounded."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from matcher import consolidation, mcc
from tests.matcher.test_mcc import finger, impression


def _score(
    a: np.ndarray, b: np.ndarray, params: consolidation.ConsolidationParams = consolidation.CONSOLIDATION
) -> float:
    return consolidation.similarity(mcc.cylinders(a), mcc.cylinders(b), params)


def test_mated_impressions_score_above_every_unrelated_finger() -> None:
    mated = [_score(finger(seed), impression(finger(seed), seed + 100)) for seed in range(4)]
    strangers = [_score(finger(seed), finger(seed + 50)) for seed in range(4)]
    assert min(mated) > 3 * max(strangers)
    assert all(0.0 <= s <= 1.0 for s in mated + strangers)


def test_score_ignores_the_pose_of_either_print() -> None:
    base = finger(7)
    other = impression(finger(7), 8, angle=0.0, shift=(0.0, 0.0), spurious=0)
    reference = _score(base, other)
    # (within ±90°: MCC compares only minutiae whose directions differ by at most δθ = π/2, as the paper does)
    for angle, shift in ((1.2, (40.0, -25.0)), (-1.0, (-60.0, 15.0)), (0.4, (300.0, 200.0))):
        cos, sin = math.cos(angle), math.sin(angle)
        # rigid pose of the second print: image y points down, θ counter-clockwise (as in the ISO convention)
        x = cos * other[:, 0] + sin * other[:, 1] + shift[0]
        y = -sin * other[:, 0] + cos * other[:, 1] + shift[1]
        posed = np.column_stack([x, y, (other[:, 2] + angle) % (2 * math.pi)]).astype(np.float32)
        assert _score(base, posed) == pytest.approx(reference, abs=0.03)


def test_score_is_deterministic_and_symmetric_enough() -> None:
    a, b = finger(3), impression(finger(3), 4)
    first = _score(a, b)
    assert _score(a, b) == first  # same inputs, same score
    assert _score(b, a) == pytest.approx(first, rel=0.15)  # roots are chosen from the same local matrix


def test_identical_prints_score_high_and_empty_prints_zero() -> None:
    a = finger(11)
    assert _score(a, a) > 0.9
    assert _score(a, np.zeros((0, 3), np.float32)) == 0.0


def test_a_larger_overlap_floor_lowers_a_small_patch_match() -> None:
    whole = finger(21, count=60)
    patch = whole[(whole[:, 0] < 130) & (whole[:, 1] < 200)]  # a corner of the print
    loose = _score(whole, patch, replace(consolidation.CONSOLIDATION, min_overlap=4, min_overlap_share=0.0))
    strict = _score(whole, patch, replace(consolidation.CONSOLIDATION, min_overlap=40, min_overlap_share=0.0))
    assert strict < loose
