"""Out-of-fold score fusion and out-of-fold variant selection of benchmarks/finger_lodo.py (synthetic scores)."""

from __future__ import annotations

import numpy as np

from benchmarks.finger_fusion import comparisons_per_second, fit_fusion
from benchmarks.finger_lodo import DatabaseScores, fused_folds, selected_folds


def _database(name: str, rng: np.random.Generator, genuine_mean: float, scale: float = 1.0) -> DatabaseScores:
    return DatabaseScores(
        name,
        np.clip(rng.normal(genuine_mean, 0.1, 280) * scale, 0, None).astype(np.float32),
        np.clip(rng.normal(0.1, 0.05, 2880) * scale, 0, None).astype(np.float32),
    )


def test_fusion_weights_the_informative_matcher_and_separates_better_than_either() -> None:
    rng = np.random.default_rng(3)
    # Two matchers that each see half of the evidence; noise independent between them.
    truth_g, truth_i = rng.normal(0.5, 0.1, 500), rng.normal(0.2, 0.1, 5000)
    a = [(truth_g + rng.normal(0, 0.1, 500)).clip(0), (truth_i + rng.normal(0, 0.1, 5000)).clip(0)]
    b = [(truth_g + rng.normal(0, 0.1, 500)).clip(0) * 100, (truth_i + rng.normal(0, 0.1, 5000)).clip(0) * 100]
    fit = fit_fusion(("mcc", "bozorth3"), [a[0], b[0]], [a[1], b[1]])
    assert fit.weights[0] > 0 and fit.weights[1] > 0
    fused_g, fused_i = fit([a[0], b[0]]), fit([a[1], b[1]])
    assert ((fused_g > 0) & (fused_g < 1)).all()

    def overlap(g: np.ndarray, i: np.ndarray) -> float:  # impostors above the genuine median
        return float(np.mean(i >= np.median(g)))

    assert overlap(fused_g, fused_i) < min(overlap(a[0], a[1]), overlap(b[0], b[1]))


def test_fused_folds_do_not_see_the_held_out_database() -> None:
    rng = np.random.default_rng(5)
    mcc = [_database(n, rng, 0.5) for n in "ABC"]
    boz = [_database(n, rng, 0.5, scale=50.0) for n in "ABC"]
    folds = fused_folds([mcc, boz], ["mcc", "bozorth3"])
    assert [d.name for d in folds[0]] == ["A", "B", "C"]
    # Changing database C's scores changes fold C's fit only through C itself: folds A and B see C in the fit,
    # fold C's view of A and B is unchanged.
    moved = [*mcc[:2], DatabaseScores("C", mcc[2].genuine * 0.3, mcc[2].impostor)]
    again = fused_folds([moved, boz], ["mcc", "bozorth3"])
    np.testing.assert_array_equal(again[2][0].genuine, folds[2][0].genuine)
    assert not np.array_equal(again[0][1].genuine, folds[0][1].genuine)


def test_selected_folds_pick_the_variant_best_on_the_other_databases() -> None:
    rng = np.random.default_rng(9)
    # variant 0 is better on A, B and C, variant 1 only on D
    good = [_database(n, rng, 0.5) for n in "ABCD"]
    poor = [_database(n, rng, 0.15) for n in "ABCD"]
    variant_0 = [*good[:3], poor[3]]
    variant_1 = [*poor[:3], good[3]]
    views, chosen = selected_folds([variant_0, variant_1])
    assert chosen == [0, 0, 0, 0]  # on any three of the others variant 0 wins at least two to one
    assert views[3][3] is variant_0[3]  # D is measured with the variant fitted without it, not its best
    _, chosen_when_d_dominates = selected_folds([[*good[:1], *poor[1:]], [*poor[:1], *good[1:]]])
    assert chosen_when_d_dominates == [1, 1, 1, 1]


def test_comparisons_per_second_counts_pairs_over_cpu_time() -> None:
    pairs = np.zeros((200, 2), np.int64)
    rate = comparisons_per_second(lambda i, j: float(sum(range(2000))), pairs)
    assert 0 < rate < 1e7
