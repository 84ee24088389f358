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


def _capped(cap: float = 2.75) -> Fusion:
    # A finger table whose top (score 1.0) says LLR 3.8, above a dedup threshold of 3.0, as FVC tables do.
    return Fusion(
        face=Calibration("face", (0.0, 1.0), (-4.0, 5.0)),
        finger=Calibration("finger", (0.0, 1.0), (-2.0, 3.8)),
        finger_llr_cap=cap,
    )


def test_one_finger_at_the_top_of_its_table_does_not_clear_the_dedup_threshold():
    fusion, dedup = _capped(), 3.0
    one = fusion.fuse(None, {2: 1.0})
    assert fusion.finger(1.0) == pytest.approx(3.8)  # the table alone would clear it
    assert one.finger_llr == pytest.approx(2.75) and one.llr < dedup


def test_two_fingers_or_a_finger_and_a_face_clear_the_dedup_threshold():
    fusion, dedup = _capped(), 3.0
    two = fusion.fuse(None, {2: 1.0, 7: 1.0}).llr
    assert two == pytest.approx(5.5) and two >= dedup
    # Face cosine 0.5 -> LLR 0.5: a weak face beside a finger at the cap is enough; the face alone is not.
    assert fusion.fuse(0.5).llr < dedup <= fusion.fuse(0.5, {2: 1.0}).llr
    # Two fingers at the cap still clear it against a face at the floor (a poor or substituted photo).
    against_floor = fusion.fuse(0.0, {2: 1.0, 7: 1.0}).llr
    assert against_floor == pytest.approx(-2.0 + 5.5) and against_floor >= dedup


def test_the_cap_leaves_negative_and_floored_finger_evidence_alone():
    fusion = _capped()
    assert fusion.finger_llr(0.5) == pytest.approx(fusion.finger(0.5))
    assert fusion.finger_llr(0.0) == pytest.approx(-2.0)


def test_a_cap_at_or_above_the_dedup_threshold_is_a_problem_named_with_both_values():
    assert _capped(2.75).threshold_problem(3.0) is None
    problem = _capped(3.0).threshold_problem(3.0)
    assert problem and "finger LLR cap (3," in problem and "dedup_llr_threshold (3)" in problem
    uncapped = Fusion(face=Calibration("face", (0.0, 1.0), (0.0, 1.0)), finger=Calibration("f", (0.0, 1.0), (0.0, 1.0)))
    assert uncapped.threshold_problem(3.0) is not None  # no cap stored: refused, never assumed


def test_shipped_calibration_caps_one_finger_below_the_default_dedup_threshold():
    from civid.settings import Settings

    fusion = Fusion.load()
    dedup = Settings.model_fields["dedup_llr_threshold"].default
    assert fusion.threshold_problem(dedup) is None
    top = fusion.finger.scores[-1]
    assert fusion.fuse(None, {1: top}).llr < dedup <= fusion.fuse(None, {1: top, 6: top}).llr
