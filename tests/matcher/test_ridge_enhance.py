"""Ridge enhancement: the orientation and period it estimates on ridges of known direction and spacing, the
foreground it finds, and an enhanced image whose ridges are where the capture's are."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matcher import ridge_enhance
from tests import synthetic_fingerprints as synthetic


def stripes(angle_deg: float, period: float, size: tuple[int, int] = (200, 240)) -> np.ndarray:
    """Straight dark ridges running at ``angle_deg`` (from +x, y down), ``period`` px apart, on light grey."""
    ys, xs = np.mgrid[0 : size[0], 0 : size[1]].astype(np.float64)
    theta = math.radians(angle_deg)
    across = -xs * math.sin(theta) + ys * math.cos(theta)
    return np.clip(128 + 90 * np.cos(2 * math.pi * across / period), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("angle", [0.0, 30.0, 90.0, 135.0])
def test_orientation_field_follows_the_ridges(angle):
    ridge, coherence = ridge_enhance.orientation_field(stripes(angle, 9.0).astype(np.float32))
    centre = ridge[60:140, 60:180]
    error = np.abs((centre - math.radians(angle) + math.pi / 2) % math.pi - math.pi / 2)
    assert np.degrees(error).max() < 3.0
    assert coherence[60:140, 60:180].min() > 0.9


@pytest.mark.parametrize("period", [7.0, 9.0, 12.0])
def test_the_ridge_period_is_measured(period):
    assert ridge_enhance.enhance(stripes(20.0, period)).period == pytest.approx(period, abs=0.6)


def test_foreground_is_the_print_and_not_the_blank_around_it():
    canvas = np.full((300, 420), 210, np.uint8)
    canvas[:, 60:360] = synthetic.impressions(4, 1)[0]
    mask = ridge_enhance.foreground_of(canvas)
    assert not mask[:, :50].any() and not mask[:, 370:].any()
    assert mask[150, 210]  # the middle of the print
    assert 0.2 < mask.mean() < 0.7


def test_enhanced_ridges_lie_where_the_captures_ridges_are():
    image = synthetic.impressions(6, 1)[0]
    enhanced = ridge_enhance.enhance(image)
    inner = ridge_enhance.border_distance(enhanced.mask) > 20
    assert inner.sum() > 10_000
    agreement = np.corrcoef(image[inner].astype(float), enhanced.image[inner].astype(float))[0, 1]
    assert agreement > 0.6  # dark stays dark: the filter keeps the ridges' place and polarity
    assert (enhanced.image[~enhanced.mask] == 255).all()
    assert enhanced.image.shape == image.shape and enhanced.image.dtype == np.uint8


def test_a_blank_image_has_no_foreground_and_enhances_to_white():
    enhanced = ridge_enhance.enhance(np.full((120, 120), 200, np.uint8))
    assert not enhanced.mask.any()
    assert (enhanced.image == 255).all()
