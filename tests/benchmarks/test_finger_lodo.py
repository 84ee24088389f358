"""Leave-one-database-out fitting, the calibration check and the DET drawing of benchmarks/finger_lodo.py,
on synthetic scores (the real FVC data is for the benchmark only)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.det import Curve, det_points, plot_det, plot_score_histograms
from benchmarks.face_accuracy import threshold_at_rate
from benchmarks.finger_lodo import (
    DatabaseScores,
    all_databases_thresholds,
    calibration_check,
    calibration_summary,
    claimed_vs_observed,
    fit_out_of_fold_calibration,
    held_out_figures,
    leave_one_database_out,
    llr_of,
    pooled_without,
)


def _database(name: str, rng: np.random.Generator, impostor_shift: float = 0.0) -> DatabaseScores:
    return DatabaseScores(
        name,
        rng.normal(3.0, 1.0, 280).astype(np.float32),
        rng.normal(impostor_shift, 1.0, 2880).astype(np.float32),
    )


def _databases() -> list[DatabaseScores]:
    rng = np.random.default_rng(12)
    # The third database's impostors score higher: a threshold fitted on the other two lets more through.
    return [_database("A", rng), _database("B", rng), _database("C", rng, impostor_shift=1.0)]


def test_threshold_is_fitted_on_the_other_databases_and_measured_on_the_held_out_one():
    databases = _databases()
    figures = held_out_figures(databases, 2, fmr_targets=(1e-2,))["at_fmr"]["1e-02"]
    others = np.sort(np.concatenate([databases[0].impostor, databases[1].impostor]))
    assert figures["threshold"] == threshold_at_rate(others, 1e-2)[0]
    assert figures["fitted_on_impostor_pairs"] == 2 * 2880
    held = databases[2]
    assert figures["observed_fmr"] == np.count_nonzero(held.impostor >= figures["threshold"]) / 2880
    assert figures["observed_fnmr"] == np.count_nonzero(held.genuine < figures["threshold"]) / 280
    # Out of fold the shifted database overshoots the target; fitted in-sample it would not.
    assert figures["observed_fmr"] > 3e-2
    assert figures["in_sample_fmr"] <= 1e-2
    assert figures["in_sample_fnmr"] > figures["observed_fnmr"]


def test_fmr_target_below_one_false_match_is_marked_unresolvable():
    figures = held_out_figures(_databases(), 0, fmr_targets=(1e-2, 1e-4))["at_fmr"]
    assert figures["1e-02"]["resolvable"] and not figures["1e-04"]["resolvable"]


def test_pooled_without_leaves_out_only_the_held_out_database():
    databases = _databases()
    pooled = pooled_without(databases, 1)
    assert len(pooled.genuine) == 560 and len(pooled.impostor) == 5760
    assert not np.isin(databases[1].impostor, pooled.impostor).any()


def test_lodo_mean_is_the_mean_over_held_out_databases():
    result = leave_one_database_out(_databases(), fmr_targets=(1e-3,))
    assert [f["database"] for f in result["folds"]] == ["A", "B", "C"]
    assert result["mean"]["eer"] == pytest.approx(np.mean([f["eer"] for f in result["folds"]]))
    fnmr = [f["at_fmr"]["1e-03"]["observed_fnmr"] for f in result["folds"]]
    assert result["mean"]["observed_fnmr@1e-03"] == pytest.approx(np.mean(fnmr))


def test_claimed_vs_observed_counts_impostors_at_or_above_each_llr():
    genuine = np.array([0.5, 1.0, 2.0, 3.0, 4.0])
    impostor = np.array([-1.0] * 95 + [1.0] * 4 + [2.5])
    rows = {row["llr"]: row for row in claimed_vs_observed(genuine, impostor, levels=(1.0, 2.0))}
    assert rows[1.0]["observed_false_matches"] == 5 and rows[1.0]["observed"] == 0.05
    assert rows[1.0]["claimed"] == pytest.approx(0.1 * 4 / 5)  # 10^-1 x the genuine share at LLR >= 1
    assert rows[1.0]["claimed_ceiling"] == pytest.approx(0.1)
    assert rows[1.0]["fnmr"] == pytest.approx(0.2)
    assert rows[1.0]["holds"]
    assert rows[2.0]["observed"] == 0.01 and rows[2.0]["claimed"] == pytest.approx(0.01 * 3 / 5)
    assert not rows[2.0]["holds"]


def test_out_of_fold_calibration_is_fitted_without_the_held_out_database():
    databases = _databases()
    rows = calibration_check(databases, today=None, dedup_llr=3.0, seed=1)
    assert [(r["database"], r["calibration"]) for r in rows] == [
        ("A", "out-of-fold"),
        ("B", "out-of-fold"),
        ("C", "out-of-fold"),
    ]
    table = fit_out_of_fold_calibration(pooled_without(databases, 2), seed=1)
    held = databases[2]
    expected_fnmr = np.count_nonzero(llr_of(table, held.genuine) < 3.0) / 280
    assert rows[2]["one_finger_fnmr_at_dedup"] == pytest.approx(expected_fnmr)
    assert list(table.llr) == sorted(table.llr)


def test_calibration_fitted_on_the_same_distribution_keeps_its_claim():
    rng = np.random.default_rng(3)
    fitting = DatabaseScores(
        "fit", rng.normal(3.0, 1.0, 5000).astype(np.float32), rng.normal(0.0, 1.0, 25000).astype(np.float32)
    )
    table = fit_out_of_fold_calibration(fitting, seed=3)
    genuine, impostor = rng.normal(3.0, 1.0, 5000), rng.normal(0.0, 1.0, 200_000)
    for row in claimed_vs_observed(
        llr_of(table, genuine.astype(np.float32)), llr_of(table, impostor.astype(np.float32)), (1.0,)
    ):
        assert row["observed"] <= 2 * row["claimed"]


def test_det_points_run_from_everything_accepted_to_everything_refused():
    fmr, fnmr = det_points(np.array([2.0, 3.0], np.float32), np.array([1.0, 2.0], np.float32))
    assert fmr[0] == 1.0 and fnmr[0] == 0.0
    assert fmr[-1] == 0.0 and fnmr[-1] == 1.0
    assert list(fmr) == sorted(fmr, reverse=True)


def test_det_and_histogram_plots_write_png_files(tmp_path):
    rng = np.random.default_rng(5)
    curve = Curve("synthetic", rng.normal(3, 1, 280).astype(np.float32), rng.normal(0, 1, 2880).astype(np.float32))
    det = plot_det(
        {"one panel": [curve, Curve("again", curve.genuine, curve.impostor, emphasised=True)]}, tmp_path / "det.png"
    )
    scores = plot_score_histograms({"one panel": curve}, tmp_path / "scores.png")
    for path in (det, scores):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_calibration_summary_sums_false_matches_over_every_held_out_database():
    rows = calibration_check(_databases(), today=None, dedup_llr=3.0, seed=1)
    summary = calibration_summary(rows, "out-of-fold")
    first = summary["levels"][0]
    assert first["impostor_pairs"] == 3 * 2880
    assert first["observed_false_matches"] == sum(r["levels"][0]["observed_false_matches"] for r in rows)
    assert first["claimed"] == pytest.approx(np.mean([r["levels"][0]["claimed"] for r in rows]))


def test_lodo_reports_the_worst_held_out_database_beside_the_mean():
    result = leave_one_database_out(_databases(), fmr_targets=(1e-2,))
    fmr = [f["at_fmr"]["1e-02"]["observed_fmr"] for f in result["folds"]]
    assert result["worst"]["observed_fmr@1e-02"] == max(fmr) > result["mean"]["observed_fmr@1e-02"]


def test_shipped_thresholds_are_fitted_on_every_database_pooled():
    databases = _databases()
    fitted = all_databases_thresholds(databases, fmr_targets=(1e-3,))
    pooled = np.sort(np.concatenate([d.impostor for d in databases]))
    assert fitted["impostor_pairs"] == 3 * 2880
    assert fitted["1e-03"]["threshold"] == threshold_at_rate(pooled, 1e-3)[0]
    assert fitted["1e-03"]["fitted_fmr"] <= 1e-3
