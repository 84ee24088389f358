"""The finger gate on its own: synthetic prints pass with margin; faces, noise and blank scans are refused
with a stable reason, the measured value and the limit (real prints: benchmarks/finger_gate.py,
which also shows what it does not refuse: dense printed text)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from matcher import finger_gate
from matcher.finger_gate import DEFAULT
from tests.conftest import FIXTURES
from tests.synthetic_fingerprints import impressions

FACES = (
    "biden_2010_blue_room.jpg",
    "collins_nasa_portrait.png",
    "obama_2009_congress.jpg",
    "obama_2010_blue_room.jpg",
    "obama_2012_portrait.jpg",
)


def grey_fixture(name: str) -> np.ndarray:
    return np.asarray(Image.open(FIXTURES / name).convert("L"))


@pytest.mark.parametrize("seed", [101, 102, 201, 202, 301, 302, 501, 11, 12, 13])
def test_synthetic_prints_pass_the_gate_with_margin(seed):
    for image in impressions(seed, 3):
        verdict = finger_gate.check(image)
        assert verdict.passed, verdict
        m = verdict.measurement
        assert m.coherence >= DEFAULT.min_coherence * 1.5 and m.in_band >= DEFAULT.min_in_band * 2, m
        assert DEFAULT.min_ridge_period_px <= m.ridge_period_px <= DEFAULT.max_ridge_period_px


@pytest.mark.parametrize("name", FACES)
def test_a_face_portrait_has_no_ridge_frequency(name):
    verdict = finger_gate.check(grey_fixture(name))
    assert verdict.reason == finger_gate.RIDGE_FREQUENCY, verdict
    assert verdict.value is not None and verdict.value < verdict.limit == DEFAULT.min_in_band


def _noise(sigma: float) -> np.ndarray:
    noise = np.random.default_rng(7).integers(0, 256, (320, 320), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), sigma) if sigma else noise


@pytest.mark.parametrize(
    "image, reason",
    [
        (np.full((300, 300), 200, np.uint8), finger_gate.FOREGROUND),
        (np.tile(np.linspace(0, 255, 300).astype(np.uint8), (300, 1)), finger_gate.FOREGROUND),
        (_noise(0), finger_gate.RIDGE_FLOW),
        (_noise(1.0), finger_gate.RIDGE_FLOW),
        (_noise(2.0), finger_gate.RIDGE_FLOW),  # its dominant period is a ridge period, but it has no flow
    ],
    ids=["flat", "gradient", "noise", "noise-blur-1", "noise-blur-2"],
)
def test_images_without_friction_ridges_are_refused_with_the_measurement_and_the_limit(image, reason):
    verdict = finger_gate.check(image)
    assert verdict.reason == reason, verdict
    assert verdict.value is not None and verdict.limit is not None and verdict.value < verdict.limit


def test_a_small_part_of_a_print_on_a_blank_scan_is_too_little_foreground():
    print_ = impressions(102, 1)[0]
    scan = np.full((400, 400), 220, np.uint8)
    scan[100:132, 100:132] = print_[130:162, 130:162]  # 32 × 32 px: 2.6 mm²
    verdict = finger_gate.check(scan)
    assert verdict.reason == finger_gate.FOREGROUND and verdict.value < DEFAULT.min_foreground_mm2


def test_the_params_are_frozen_and_the_gate_measures_only_grey_arrays():
    with pytest.raises(AttributeError):
        DEFAULT.min_coherence = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        finger_gate.measure(np.zeros((300, 300, 3), np.uint8))
    assert finger_gate.check(np.zeros((8, 8), np.uint8)).reason == finger_gate.FOREGROUND
