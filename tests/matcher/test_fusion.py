"""Score calibration to log-likelihood ratios and their fusion across modalities."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from matcher.fusion import CALIBRATION_FILE, Calibration, Fusion, fit_calibration


def test_fitted_llr_approaches_the_analytic_ratio_of_two_gaussians():
    # genuine ~ N(1, 1), impostor ~ N(0, 1): log10 LR(x) = (x - 0.5) * log10(e)
    rng = np.random.default_rng(7)
    table = fit_calibration("test", rng.normal(1.0, 1.0, 200_000), rng.normal(0.0, 1.0, 200_000), knots=30)
    for x in (-0.5, 0.0, 0.5, 1.0, 1.5):
        assert table(x) == pytest.approx((x - 0.5) * math.log10(math.e), abs=0.06)


def test_fitted_table_is_monotone_even_when_the_data_are_not():
    rng = np.random.default_rng(1)
    genuine = np.concatenate([rng.normal(0.8, 0.05, 500), rng.normal(0.2, 0.02, 40)])  # a bump of low genuines
    impostor = rng.normal(0.3, 0.1, 5000)
    table = fit_calibration("test", genuine, impostor)
    assert all(b >= a for a, b in zip(table.llr, table.llr[1:]))
    assert table(0.9) > 1.0 and table(0.1) < 0.0


def test_llr_is_clamped_beyond_the_fitted_range():
    table = Calibration("face", (0.0, 1.0), (-2.0, 3.0))
    assert table(-5.0) == -2.0 and table(5.0) == 3.0 and table(0.5) == pytest.approx(0.5)


@pytest.mark.parametrize("scores, llr", [((0.5,), (1.0,)), ((0.5, 0.4), (0.0, 1.0)), ((0.1, 0.2), (1.0, 0.0))])
def test_malformed_calibrations_are_refused(scores, llr):
    with pytest.raises(ValueError):
        Calibration("x", scores, llr)


def test_fusion_adds_the_llr_of_every_modality_compared():
    fusion = Fusion(
        face=Calibration("face", (0.0, 1.0), (-4.0, 4.0)), finger=Calibration("finger", (0.0, 1.0), (-1.0, 3.0))
    )
    fused = fusion.fuse(0.75, {2: 0.5, 7: 1.0})
    assert fused.face_llr == pytest.approx(2.0) and fused.finger_llr == pytest.approx(1.0 + 3.0)
    assert fused.llr == pytest.approx(6.0) and fused.modalities == ("face", "finger")
    face_only = fusion.fuse(0.75)
    assert face_only.llr == pytest.approx(2.0) and face_only.modalities == ("face",)
    assert fusion.fuse(None, {3: 0.0}).modalities == ("finger",)


def test_shipped_calibration_loads_and_orders_scores():
    data = json.loads(CALIBRATION_FILE.read_text())
    assert data["source"]
    fusion = Fusion.load()
    assert fusion.face(0.99) > fusion.face(0.80)
    assert fusion.finger(0.9) > fusion.finger(0.05)
