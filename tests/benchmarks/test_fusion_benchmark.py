"""benchmarks/fusion.py's out-of-fold finger LLRs, FPIR targets and extrapolation, on synthetic scores."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.fusion import (
    Chimera,
    FingerFolds,
    check_against_fuse,
    finger_llrs,
    independence_figures,
    search_figures,
)
from matcher.fusion import Calibration, Fusion


def _folds() -> FingerFolds:
    # Database "X" (fingers 0-9) is scored by a table fitted without it, "Y" (10-19) by another.
    tables = {
        "X": Calibration("finger", (0.0, 1.0), (-1.0, 4.0)),
        "Y": Calibration("finger", (0.0, 1.0), (-1.0, 1.0)),
    }
    return FingerFolds(tables, cap=2.75, databases=("X", "Y"))


def test_each_probe_finger_is_scored_by_the_table_fitted_without_its_database_and_capped():
    folds = _folds()
    chimeras = [Chimera(0, (0, 1), (3,)), Chimera(1, (2, 3), (14,))]
    owner = np.array([0, 1])
    finger = np.ones((2, 2, 1))  # every score at the top of both tables
    result = finger_llrs(chimeras, owner, finger, folds)
    assert result[0, :, 0] == pytest.approx([2.75, 2.75])  # "X" says 4.0, capped
    assert result[1, :, 0] == pytest.approx([1.0, 1.0])  # "Y" says 1.0
    fusion = Fusion(face=Calibration("face", (0.0, 1.0), (-3.0, 3.0)), finger=folds.tables["Y"], finger_llr_cap=2.75)
    face = np.full((2, 2), 0.5)
    fused = np.full((2, 2), 0.0) + result.sum(axis=2)
    check_against_fuse(fusion, [c.fingers for c in chimeras], folds, face, finger, fused)
    with pytest.raises(AssertionError):
        check_against_fuse(fusion, [c.fingers for c in chimeras], folds, face, finger, fused + 0.5)


def test_fpir_1e3_is_reported_unresolvable_below_a_thousand_non_mated_searches():
    rng = np.random.default_rng(4)
    scores = rng.normal(0.0, 1.0, (300, 300))
    scores[np.arange(300), np.arange(300)] += 6.0
    figures = search_figures(scores, np.arange(300))
    assert "fnir" in figures["fnir_at_fpir"]["1e-02"]
    assert "not_resolvable" in figures["fnir_at_fpir"]["1e-03"]


def test_extrapolated_fnir_grows_with_the_gallery():
    rng = np.random.default_rng(8)
    figures = independence_figures(
        rng.normal(3.0, 1.0, 20_000),
        rng.normal(-3.0, 1.0, 200_000),
        np.minimum(rng.normal(2.0, 1.0, 2_000), 2.75),
        np.minimum(rng.normal(-1.5, 0.7, 20_000), 2.75),
        max_fingers=2,
    )
    fused = figures["extrapolated"]["fused face + 2 finger(s)"]
    fnmr = [fused[str(n)]["1e-02"]["fnmr"] for n in (10_000, 100_000, 1_000_000)]
    assert fnmr == sorted(fnmr) and fnmr[-1] > fnmr[0]
    assert fused["1000000"]["1e-03"]["fnmr"] >= fused["1000000"]["1e-02"]["fnmr"]
