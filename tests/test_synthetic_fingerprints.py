"""The synthetic fingerprint generator: deterministic, well-formed, and realistic enough that
NIST MINDTCT finds a normal number of minutiae and BOZORTH3 tells fingers apart."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests import synthetic_fingerprints as synthetic

# Two fingers reused by every test, so the cached masters are generated once (~1 s each).
FINGER_A = 7
FINGER_B = 8


def _correlation(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.corrcoef(first.astype(np.float64).ravel(), second.astype(np.float64).ravel())[0, 1])


def test_master_is_float32_ridge_pattern_in_unit_range_and_read_only():
    pattern = synthetic.master(FINGER_A)

    assert pattern.shape == (300, 300)
    assert pattern.dtype == np.float32
    assert pattern.min() >= -1.0 and pattern.max() <= 1.0
    # A grown ridge pattern is mostly saturated ridge or valley inside the fingertip, 0 outside.
    assert (np.abs(pattern) > 0.9).mean() > 0.4
    assert pattern[0, 0] == 0.0
    assert not pattern.flags.writeable


def test_master_is_regenerated_identically_from_its_seed():
    cached = np.array(synthetic.master(FINGER_A))
    synthetic._cached_master.cache_clear()

    regenerated = synthetic.master(FINGER_A)

    assert np.array_equal(cached, regenerated)


def test_different_seeds_give_unrelated_masters():
    correlation = _correlation(synthetic.master(FINGER_A), synthetic.master(FINGER_B))

    assert abs(correlation) < 0.2


def test_impressions_are_deterministic_to_the_byte():
    first = [synthetic.png_bytes(image) for image in synthetic.impressions(FINGER_A, 2)]
    second = [synthetic.png_bytes(image) for image in synthetic.impressions(FINGER_A, 2)]

    assert first == second


def test_impressions_are_uint8_dark_ridges_on_light_background():
    for image in synthetic.impressions(FINGER_A, 2):
        assert image.shape == (300, 300)
        assert image.dtype == np.uint8
        corners = np.concatenate([image[:15, :15].ravel(), image[-15:, -15:].ravel()])
        centre = image[120:180, 120:180]
        assert corners.mean() > 170  # light background
        assert np.percentile(centre, 10) < 90  # dark ridges
        assert np.percentile(centre, 90) > 140  # light valleys between them


def test_impressions_of_one_master_differ_from_each_other():
    first, second = synthetic.impressions(FINGER_A, 2)

    assert not np.array_equal(first, second)
    assert np.abs(first.astype(int) - second.astype(int)).mean() > 10


def test_impression_index_and_seed_both_change_the_capture():
    pattern = synthetic.master(FINGER_A)
    base = synthetic.impression(pattern, FINGER_A, 0)

    assert not np.array_equal(base, synthetic.impression(pattern, FINGER_A, 1))
    assert not np.array_equal(base, synthetic.impression(pattern, FINGER_A + 100, 0))


def test_impression_takes_the_shape_of_any_master_pattern():
    rows = np.arange(120, dtype=np.float32)[:, None]
    stripes = np.repeat(np.cos(2 * np.pi * rows / 9.0), 100, axis=1).astype(np.float32)

    image = synthetic.impression(stripes, seed=1, index=0)

    assert image.shape == (120, 100)
    assert image.dtype == np.uint8


def test_png_bytes_round_trip_losslessly():
    image = synthetic.impressions(FINGER_A, 1)[0]

    encoded = synthetic.png_bytes(image)
    decoded = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_UNCHANGED)

    assert encoded.startswith(b"\x89PNG")
    assert np.array_equal(decoded, image)


def test_mindtct_finds_realistic_minutiae_and_bozorth3_separates_fingers():
    nbis = pytest.importorskip("nbis")
    extractor = nbis.new_nbis_extractor(
        nbis.NbisExtractorSettings(
            min_quality=0.0,
            get_center=False,
            check_fingerprint=False,
            compute_nfiq2=False,
            ppi=500.0,
        )
    )
    minutiae = {
        finger: [extractor.extract_minutiae(synthetic.png_bytes(image)) for image in synthetic.impressions(finger, 2)]
        for finger in (FINGER_A, FINGER_B)
    }
    for prints in minutiae.values():
        for extracted in prints:
            assert 15 <= len(extracted.get()) <= 90

    genuine = [prints[0].compare(prints[1]) for prints in minutiae.values()]
    impostor = [
        minutiae[FINGER_A][0].compare(minutiae[FINGER_B][0]),
        minutiae[FINGER_A][1].compare(minutiae[FINGER_B][1]),
    ]
    # BOZORTH3: ~40 and above is a likely match, impostors usually score under 20.
    assert min(genuine) > 40
    assert max(impostor) < 25
