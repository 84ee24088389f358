"""civid's extractors on synthetic prints: the masked and enhanced ones keep a print's minutiae and drop the
spurious ones MINDTCT reports along its edge and in a noisy background; NFIQ 2 and the frame stay the capture's.

A synthetic master pattern has no ground-truth minutiae list, so the "true" minutiae here are those MINDTCT
finds on a clean rendering of the master (almost no noise), at least 20 px inside the fingertip; the probes are
noisy renderings of the same master, in the same frame, so a true minutia is found again at the same place.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from matcher import mcc, nbis_bridge
from matcher.extraction import BORDER_MARGIN, Extractor, extract, inside
from matcher.iso19794 import FingerView, Minutia, MinutiaType, minutiae_array
from tests import synthetic_fingerprints as synthetic

TOLERANCE_PX = 10  # a found minutia this close to a true one is the same minutia (about one ridge period)


def render(pattern: np.ndarray, noise: float, seed: int) -> np.ndarray:
    """The master as a grey capture in its own frame: dark ridges on light, Gaussian noise of ``noise`` grey levels."""
    ink = 1.0 / (1.0 + np.exp(-10.0 * pattern))
    grey = cv2.GaussianBlur((220.0 - 170.0 * ink).astype(np.float32), (0, 0), 0.7)
    grey += np.random.default_rng(seed).normal(0.0, noise, pattern.shape).astype(np.float32)
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)


def true_minutiae(seed: int) -> tuple[np.ndarray, list[Minutia]]:
    pattern = synthetic.master(seed)
    fingertip = cv2.GaussianBlur(np.abs(pattern), (0, 0), 4.0) / 0.6 > 0.5
    depth = cv2.distanceTransform(fingertip.astype(np.uint8), cv2.DIST_L2, 5)
    clean = nbis_bridge.extract(render(pattern, 2.0, seed)).minutiae
    return pattern, [m for m in clean if depth[m.y, m.x] >= 20]


def matched(found: tuple[Minutia, ...] | list[Minutia], reference: tuple[Minutia, ...] | list[Minutia]) -> float:
    """The share of ``found`` within TOLERANCE_PX of some minutia of ``reference``."""
    if not found or not reference:
        return 0.0
    a = np.array([(m.x, m.y) for m in found], float)
    b = np.array([(m.x, m.y) for m in reference], float)
    nearest = np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1]).min(axis=1)
    return float(np.mean(nearest <= TOLERANCE_PX))


@pytest.mark.parametrize("seed", [3, 5])
def test_masked_and_enhanced_keep_the_true_minutiae_and_drop_most_spurious_ones(seed):
    pattern, truth = true_minutiae(seed)
    assert len(truth) >= 15  # enough to measure on
    noisy = render(pattern, 30.0, seed + 100)
    plain = extract(noisy, extractor=Extractor.MINDTCT).minutiae
    plain_precision = matched(plain, truth)
    for extractor in (Extractor.MASKED, Extractor.ENHANCED):
        found = extract(noisy, extractor=extractor).minutiae
        recall, precision = matched(truth, found), matched(found, truth)
        assert recall >= 0.9, (extractor, recall)
        # MINDTCT alone: about a third of what it reports is a true minutia (the rest: the edge, the noise).
        assert precision >= 0.6, (extractor, precision)
        assert precision >= plain_precision + 0.25, (extractor, precision, plain_precision)


def test_a_noisy_patch_beside_the_print_gives_mindtct_minutiae_and_the_masked_extractors_none():
    image = synthetic.impressions(21, 1)[0]
    canvas = np.full((300, 460), int(np.median(image[:20, :20])), np.uint8)
    canvas[:, :300] = image
    # Dirt on the platen: a maze of ridge-sized blobs, apart from the print.
    blobs = cv2.GaussianBlur(np.random.default_rng(7).normal(0, 1, (220, 140)).astype(np.float32), (0, 0), 2.5)
    canvas[40:260, 310:450] = np.where(blobs > 0, 60, 215).astype(np.uint8)
    in_patch = {e: sum(m.x >= 305 for m in extract(canvas, extractor=e).minutiae) for e in Extractor}
    assert in_patch[Extractor.MINDTCT] >= 5
    assert in_patch[Extractor.MASKED] == 0
    assert in_patch[Extractor.ENHANCED] == 0


def test_nfiq2_and_the_frame_are_the_captures_whichever_extractor():
    image = synthetic.impressions(12, 1)[0]
    captured = nbis_bridge.extract(image, ppi=569)
    for extractor in Extractor:
        found = extract(image, ppi=569, extractor=extractor)
        assert (found.width, found.height, found.nfiq2) == (captured.width, captured.height, captured.nfiq2)
        assert (found.width, found.height) == (round(300 * 500 / 569), round(300 * 500 / 569))
        assert all(0 <= m.x < found.width and 0 <= m.y < found.height for m in found.minutiae)
    assert extract(image, ppi=569, extractor=Extractor.MINDTCT).minutiae == captured.minutiae


def test_enhanced_templates_still_tell_fingers_apart_with_mcc():
    prints = {seed: synthetic.impressions(seed, 2) for seed in (11, 12, 13)}
    cylinders = {
        (seed, i): mcc.cylinders(minutiae_array(FingerView(0, extract(image, extractor=Extractor.ENHANCED).minutiae)))
        for seed, images in prints.items()
        for i, image in enumerate(images)
    }
    genuine = [mcc.similarity(cylinders[(s, 0)], cylinders[(s, 1)]) for s in prints]
    impostor = [
        mcc.similarity(cylinders[(a, i)], cylinders[(b, j)])
        for a in prints
        for b in prints
        if a < b
        for i in (0, 1)
        for j in (0, 1)
    ]
    assert min(genuine) > max(impostor)


def test_inside_keeps_only_minutiae_far_enough_from_the_foreground_edge():
    mask = np.zeros((100, 100), bool)
    mask[20:80, 20:80] = True
    at = [Minutia(x, 50, 0, MinutiaType.RIDGE_ENDING, 50) for x in (10, 25, 20 + int(BORDER_MARGIN), 50)]
    kept = inside(tuple(at), mask, BORDER_MARGIN)
    assert [m.x for m in kept] == [20 + int(BORDER_MARGIN), 50]
    # The image's own edge counts as the foreground's edge.
    assert inside((Minutia(2, 50, 0, MinutiaType.RIDGE_ENDING, 50),), np.ones((100, 100), bool), 4.0) == ()
