"""The out-of-fold check of the shipped finger calibration method (benchmarks/finger_calibration.py), on synthetic
scores: folds leave a database's every source out, the cap keeps one finger below the dedup threshold, two
independent fingers are counted exactly, and quality-aware tables are fitted per minutiae half."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.finger_calibration import (
    fold_check,
    fold_tables,
    quality_fold_check,
    sources_without,
    summary,
    two_finger_rates,
    worse_minutiae_split,
)
from benchmarks.finger_lodo import DatabaseScores, shipped_method_check


def _source(name: str, rng: np.random.Generator, genuine_mean: float = 3.0) -> DatabaseScores:
    genuine_minutiae = rng.integers(15, 60, 280).astype(np.int32)
    impostor_minutiae = rng.integers(15, 60, 2880).astype(np.int32)
    # Fewer minutiae, weaker genuine scores: the signal a quality-aware table could use.
    genuine = rng.normal(genuine_mean, 1.0, 280) + (genuine_minutiae - 37) / 20
    return DatabaseScores(
        name,
        genuine.astype(np.float32),
        rng.normal(0.0, 1.0, 2880).astype(np.float32),
        genuine_minutiae,
        impostor_minutiae,
    )


def _sources() -> list[DatabaseScores]:
    rng = np.random.default_rng(21)
    # "B" has two sources (images and records), as an FVC2002 database does.
    return [_source("A", rng), _source("B", rng), _source("C", rng), _source("B", rng, genuine_mean=2.5)]


def test_a_fold_leaves_out_every_source_of_its_database():
    sources = _sources()
    genuine, impostor = sources_without(sources, "B")
    assert len(genuine) == 2 * 280 and len(impostor) == 2 * 2880
    assert np.array_equal(impostor, np.concatenate([sources[0].impostor, sources[2].impostor]))
    assert np.array_equal(genuine, np.concatenate([sources[0].genuine, sources[2].genuine]))
    assert list(fold_tables(sources, seed=1)) == ["A", "B", "C"]


def test_two_finger_rates_count_every_pair_of_independent_draws():
    genuine = np.array([1.0, 2.0, 3.0])
    impostor = np.array([-1.0, 0.0, 2.0, 2.5])
    fmr, fnmr = two_finger_rates(genuine, impostor, 4.0)
    # Impostor sums >= 4: (2, 2), (2, 2.5), (2.5, 2), (2.5, 2.5) of 16; genuine sums < 4: (1,1), (1,2), (2,1) of 9.
    assert fmr == pytest.approx(4 / 16) and fnmr == pytest.approx(3 / 9)


def test_the_capped_finger_never_reaches_the_dedup_threshold_though_the_table_does():
    sources = _sources()
    rows = fold_check(sources, fold_tables(sources, seed=1), dedup_llr=3.0, cap=2.75)
    assert [r["database"] for r in rows] == ["A", "B", "C"]
    assert rows[1]["genuine_pairs"] == 2 * 280 and rows[1]["impostor_pairs"] == 2 * 2880
    assert all(r["top_llr"] > 3.0 for r in rows)  # uncapped, one finger could clear it
    assert all(r["one_finger_fnmr_at_dedup"] < 1.0 for r in rows)
    assert not any(r["one_finger_reaches_dedup_capped"] for r in rows)
    assert all(0.0 < r["two_fingers_fnmr_at_dedup"] < 1.0 for r in rows)
    total = summary(rows)
    assert total["impostor_pairs"] == 4 * 2880 and not total["one_finger_reaches_dedup_capped"]
    assert total["mean"]["cllr_bits"] == pytest.approx(np.mean([r["cllr_bits"] for r in rows]))


def test_quality_tables_split_the_fitting_pairs_at_their_median_worse_minutiae_count():
    sources = _sources()
    split = worse_minutiae_split(sources, "A")
    fitting = [s for s in sources if s.name != "A"]
    pooled = np.concatenate([np.r_[s.genuine_minutiae, s.impostor_minutiae] for s in fitting])
    assert split == np.median(pooled)
    rows = quality_fold_check(sources, dedup_llr=3.0, cap=2.75, seed=1)
    assert [r["database"] for r in rows] == ["A", "B", "C"]
    assert rows[0]["genuine_pairs"] == 280 and set(rows[0]["top_llr"]) == {"below", "at_or_above"}


def test_shipped_method_check_reports_whether_quality_tables_help_and_the_dependence_caveat():
    check = shipped_method_check(_sources(), dedup_llr=3.0, seed=1)
    assert check["finger_llr_cap"] < 3.0
    assert isinstance(check["quality_aware_helps"], bool)
    assert "not measurable on FVC" in check["finger_dependence"]
    single, quality = check["single_table"]["all"], check["by_worse_minutiae"]["all"]
    expected = (
        quality["mean"]["cllr_bits"] < single["mean"]["cllr_bits"]
        and sum(x["folds_holding"] for x in quality["levels"]) >= sum(x["folds_holding"] for x in single["levels"])
        and quality["mean"]["two_fingers_fnmr_at_dedup"] <= single["mean"]["two_fingers_fnmr_at_dedup"]
    )
    assert check["quality_aware_helps"] == expected
