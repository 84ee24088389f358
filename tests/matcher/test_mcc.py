"""MCC bit-cylinders and the LSS-R score on synthetic minutiae: mates score high, strangers low, pose is irrelevant."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matcher import mcc


def finger(seed: int, count: int = 45) -> np.ndarray:
    """A random minutiae set (x, y pixels, θ radians) on a 300x400 print, minutiae at least 12 px apart."""
    rng = np.random.default_rng(seed)
    points: list[tuple[float, float]] = []
    while len(points) < count:
        x, y = rng.uniform(20, 280), rng.uniform(20, 380)
        if all((x - px) ** 2 + (y - py) ** 2 >= 144 for px, py in points):
            points.append((x, y))
    xy = np.array(points)
    # Directions follow a smooth ridge flow (minutiae of one region point alike), ending or bifurcating.
    flow = 0.5 * np.arctan2(xy[:, 1] - 200, xy[:, 0] - 150) + 0.2 * rng.standard_normal(count)
    theta = (flow + math.pi * rng.integers(0, 2, count)) % (2 * math.pi)
    return np.column_stack([xy, theta]).astype(np.float32)


def impression(
    minutiae: np.ndarray, seed: int, angle: float = 0.5, shift=(25.0, -30.0), drop: float = 0.15, spurious: int = 5
) -> np.ndarray:
    """Another impression: rotated and shifted, jittered, some minutiae lost and a few spurious ones added."""
    rng = np.random.default_rng(seed)
    kept = minutiae[rng.random(len(minutiae)) >= drop].astype(np.float64)
    centre = kept[:, :2].mean(axis=0)
    # Image y points down and θ is counter-clockwise, so a visual rotation by `angle` is y-flipped.
    cos, sin = math.cos(angle), math.sin(angle)
    dx, dy = kept[:, 0] - centre[0], kept[:, 1] - centre[1]
    x = centre[0] + cos * dx + sin * dy + shift[0] + rng.normal(0, 2.0, len(kept))
    y = centre[1] - sin * dx + cos * dy + shift[1] + rng.normal(0, 2.0, len(kept))
    theta = kept[:, 2] + angle + rng.normal(0, 0.08, len(kept))
    extra = np.column_stack(
        [
            rng.uniform(x.min(), x.max(), spurious),
            rng.uniform(y.min(), y.max(), spurious),
            rng.uniform(0, 2 * math.pi, spurious),
        ]
    )
    return np.vstack([np.column_stack([x, y, theta % (2 * math.pi)]), extra]).astype(np.float32)


def test_cylinders_have_the_preset_sizes() -> None:
    matching = mcc.cylinders(finger(1))
    indexing = mcc.cylinders(finger(1), mcc.INDEXING)
    assert matching.bits.shape[1] * 8 == 16 * 16 * 6
    assert indexing.bits.shape[1] * 8 == 8 * 8 * 5
    assert 0 < len(matching) <= 45 and len(matching) == len(matching.minutiae)
    assert matching.bits.any() and not matching.bits.all()


def test_mated_impression_scores_far_above_unrelated_finger() -> None:
    enrolled = mcc.cylinders(finger(1))
    mate = mcc.similarity(enrolled, mcc.cylinders(impression(finger(1), seed=2)))
    strangers = [mcc.similarity(enrolled, mcc.cylinders(finger(seed))) for seed in range(10, 20)]
    assert mate > 0.3
    assert max(strangers) < 0.5 * mate


def test_score_is_symmetric_enough_and_bounded() -> None:
    a, b = mcc.cylinders(finger(1)), mcc.cylinders(impression(finger(1), seed=3))
    forward, backward = mcc.similarity(a, b), mcc.similarity(b, a)
    assert 0.0 <= forward <= 1.0 and 0.0 <= backward <= 1.0
    assert forward == pytest.approx(backward, abs=0.05)


def test_identical_sets_score_highest() -> None:
    a = mcc.cylinders(finger(4))
    assert mcc.similarity(a, a) > 0.9


@pytest.mark.parametrize("angle", [0.0, math.pi / 3, -math.pi / 3, 1.4, 2.5])
def test_pure_rotation_and_translation_leave_the_cylinders_unchanged(angle: float) -> None:
    original = finger(5)
    moved = impression(original, seed=6, angle=angle, shift=(40.0, 15.0), drop=0.0, spurious=0)
    # No jitter: rebuild without noise by calling the transform on exact values.
    rng_free = original.astype(np.float64)
    centre = rng_free[:, :2].mean(axis=0)
    cos, sin = math.cos(angle), math.sin(angle)
    dx, dy = rng_free[:, 0] - centre[0], rng_free[:, 1] - centre[1]
    exact = np.column_stack(
        [
            centre[0] + cos * dx + sin * dy + 40,
            centre[1] - sin * dx + cos * dy + 15,
            (rng_free[:, 2] + angle) % (2 * math.pi),
        ]
    ).astype(np.float32)
    a, b = mcc.cylinders(original), mcc.cylinders(exact)
    assert len(a) == len(b)
    # Cell centres land on the same spots up to float rounding and the 2-px hull raster: nearly all bits agree.
    agreement = np.mean(np.unpackbits(a.bits) == np.unpackbits(b.bits))
    assert agreement > 0.99
    if abs(angle) > mcc.MATCHING.max_direction_difference:
        # MCC (δθ = π/2) refuses pairs of minutiae turned by more than 90°: no finger is placed that way.
        assert mcc.similarity(a, b) < 0.1
        return
    assert mcc.similarity(a, b) > 0.9
    assert mcc.similarity(a, mcc.cylinders(moved)) > 0.3


@pytest.mark.parametrize("count", [0, 1, 2])
def test_tiny_inputs_score_zero_without_error(count: int) -> None:
    few = mcc.cylinders(finger(7)[:count])
    assert len(few) == 0
    assert mcc.similarity(few, mcc.cylinders(finger(7))) == 0.0
    assert mcc.similarity(few, few) == 0.0
    assert mcc.from_bytes(mcc.to_bytes(few)).bits.shape == few.bits.shape


def test_nan_rows_are_ignored() -> None:
    minutiae = finger(8)
    with_nan = np.vstack([minutiae, [[np.nan, 1.0, 0.0]]]).astype(np.float32)
    assert np.array_equal(mcc.cylinders(with_nan).bits, mcc.cylinders(minutiae).bits)


def test_serialisation_round_trip_is_exact_for_both_presets() -> None:
    for params in (mcc.MATCHING, mcc.INDEXING):
        original = mcc.cylinders(finger(9), params)
        data = mcc.to_bytes(original)
        restored = mcc.from_bytes(data)
        assert restored.params == params
        assert np.array_equal(restored.bits, original.bits)
        assert np.array_equal(restored.cell_mask, original.cell_mask)
        assert np.array_equal(restored.minutiae, original.minutiae)
    probe = mcc.cylinders(impression(finger(9), seed=1))
    matching = mcc.cylinders(finger(9))
    assert mcc.similarity(probe, mcc.from_bytes(mcc.to_bytes(matching))) == mcc.similarity(probe, matching)


def test_corrupt_bytes_are_rejected() -> None:
    data = mcc.to_bytes(mcc.cylinders(finger(9)))
    with pytest.raises(ValueError):
        mcc.from_bytes(data[:-1])
    with pytest.raises(ValueError):
        mcc.from_bytes(b"XXXX" + data[4:])


def test_presets_cannot_be_mixed() -> None:
    with pytest.raises(ValueError):
        mcc.similarity(mcc.cylinders(finger(1)), mcc.cylinders(finger(1), mcc.INDEXING))


def test_pair_count_grows_with_minutiae() -> None:
    assert mcc.pair_count(5, 60) == 4
    assert mcc.pair_count(60, 80) == 12
