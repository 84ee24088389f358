"""The finger LLR table as civid ships it, checked leave-one-database-out: the functions finger_lodo, fusion_calibration
and fusion share.

civid ships one finger table (``matcher/calibration.json``) for both kinds of template it stores — minutiae MINDTCT
extracts from enrolment images and imported ISO/IEC 19794-2 records — so the table is fitted on both pooled: the
images·MINDTCT+MCC scores of FVC2000 + FVC2002 DB1–4 B and the SecuGen records·MCC scores of FVC2002 DB1–4 B
(records exist for FVC2002 only). One *fold* leaves one database out — its images and, for FVC2002, its records —
fits the table on everything else by ``benchmarks.fusion_calibration.fit`` (the shipped method) and scores the
held-out database's pairs with it.

Per fold (``fold_check``): claimed vs observed impostor share at LLR >= 1..4 (``finger_lodo.claimed_vs_observed``),
Cllr, and at the dedup threshold: one finger's FNMR and false matches uncapped, and the cap's effect (a capped finger
never reaches the threshold alone); two fingers by independence (two comparisons drawn independently from the
held-out database's own LLRs, each capped; FVC links no two fingers to one person, so the dependence between
fingers cannot be measured here). ``quality_fold_check`` repeats it with one table per half of the fitting pairs
split by the minutiae count of the pair's worse template (known at run time: ``FingerTemplate.minutiae_count``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

# One finger's LLR never counts for more than this (written to matcher/calibration.json as "finger_llr_cap"). It
# must be below the dedup threshold (3.0) so that no finger alone clears it, and at least (3.0 + 2.0) / 2 so that
# two fingers at the cap still clear it against a face at the floor (-2: a poor or substituted photo): 2.75 leaves
# 0.25 either side. Fitted out of fold the tables top out at LLR 3.3-3.9 (finger_lodo), above the threshold.
FINGER_LLR_CAP = 2.75
DEDUP_LEVELS = (1.0, 2.0, 3.0, 4.0)


def sources_without(sources: Sequence[Any], name: str) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Genuine and impostor scores of every source (finger_lodo.DatabaseScores) but those named ``name``, pooled."""
    others = [s for s in sources if s.name != name]
    return np.concatenate([s.genuine for s in others]), np.concatenate([s.impostor for s in others])


def sources_of(sources: Sequence[Any], name: str) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Genuine and impostor scores of the sources named ``name`` (a database's images and records), pooled."""
    chosen = [s for s in sources if s.name == name]
    return np.concatenate([s.genuine for s in chosen]), np.concatenate([s.impostor for s in chosen])


def fold_tables(sources: Sequence[Any], seed: int) -> dict[str, Any]:
    """Per database name: the shipped method's table fitted on every other database's sources."""
    from benchmarks.fusion_calibration import fit

    names = list(dict.fromkeys(s.name for s in sources))
    return {name: fit("finger", *sources_without(sources, name), np.random.default_rng(seed)) for name in names}


def interpolate(calibration: Any, scores: NDArray[np.float32]) -> NDArray[np.float64]:
    """``Calibration.__call__`` over an array (clamped piecewise-linear)."""
    return np.interp(np.asarray(scores, np.float64), calibration.scores, calibration.llr)


def cllr_bits(genuine_llr: NDArray[np.float64], impostor_llr: NDArray[np.float64]) -> float:
    """Log-likelihood-ratio cost (bits): 0 perfect, 1 = a map that always says LLR 0; lower is better calibrated."""
    ln10 = math.log(10)
    cost = np.logaddexp(0, -genuine_llr * ln10).mean() + np.logaddexp(0, impostor_llr * ln10).mean()
    return float(0.5 * cost / math.log(2))


def two_finger_rates(
    genuine_llr: NDArray[np.float64], impostor_llr: NDArray[np.float64], threshold: float
) -> tuple[float, float]:
    """(FMR, FNMR) of ``LLR_1 + LLR_2 >= threshold`` with the two comparisons independent draws of the given LLRs
    (every ordered pair of values counted, exactly)."""

    def upper_share(values: NDArray[np.float64]) -> float:
        ordered = np.sort(values)
        reaching = len(ordered) - np.searchsorted(ordered, threshold - ordered, side="left")
        return float(reaching.sum() / len(ordered) ** 2)

    return upper_share(impostor_llr), 1.0 - upper_share(genuine_llr)


def _figures(
    genuine_llr: NDArray[np.float64], impostor_llr: NDArray[np.float64], dedup_llr: float, cap: float
) -> dict[str, Any]:
    from benchmarks.finger_lodo import claimed_vs_observed

    capped_g, capped_i = np.minimum(genuine_llr, cap), np.minimum(impostor_llr, cap)
    two_fmr, two_fnmr = two_finger_rates(capped_g, capped_i, dedup_llr)
    return {
        "genuine_pairs": len(genuine_llr),
        "impostor_pairs": len(impostor_llr),
        "levels": claimed_vs_observed(genuine_llr, impostor_llr, DEDUP_LEVELS),
        "cllr_bits": cllr_bits(genuine_llr, impostor_llr),
        "dedup_llr_threshold": dedup_llr,
        "one_finger_fnmr_at_dedup": float(np.count_nonzero(genuine_llr < dedup_llr) / len(genuine_llr)),
        "one_finger_false_matches_at_dedup": int(np.count_nonzero(impostor_llr >= dedup_llr)),
        "one_finger_reaches_dedup_capped": bool((capped_g >= dedup_llr).any() or (capped_i >= dedup_llr).any()),
        "finger_llr_cap": cap,
        "genuine_at_cap": float(np.count_nonzero(genuine_llr >= cap) / len(genuine_llr)),
        "impostors_at_cap": int(np.count_nonzero(impostor_llr >= cap)),
        "two_fingers_fmr_at_dedup": two_fmr,
        "two_fingers_fnmr_at_dedup": two_fnmr,
    }


def fold_check(sources: Sequence[Any], tables: dict[str, Any], dedup_llr: float, cap: float) -> list[dict[str, Any]]:
    """Per held-out database: the out-of-fold table's claims, Cllr and dedup figures (see the module docstring)."""
    rows = []
    for name, table in tables.items():
        genuine, impostor = sources_of(sources, name)
        rows.append(
            {
                "database": name,
                "top_llr": float(table.llr[-1]),
                **_figures(interpolate(table, genuine), interpolate(table, impostor), dedup_llr, cap),
            }
        )
    return rows


def worse_minutiae_split(sources: Sequence[Any], name: str) -> float:
    """The median, over the fitting pairs of fold ``name``, of the minutiae count of each pair's worse template."""
    others = [s for s in sources if s.name != name]
    return float(np.median(np.concatenate([np.r_[s.genuine_minutiae, s.impostor_minutiae] for s in others])))


def _half(source: Any, kind: str, split: float, low: bool) -> NDArray[np.float32]:
    """The ``kind`` ("genuine"/"impostor") scores of ``source`` whose worse template has fewer (``low``) or at least
    ``split`` minutiae."""
    counts = getattr(source, f"{kind}_minutiae")
    scores: NDArray[np.float32] = getattr(source, kind)
    return scores[(counts < split) if low else (counts >= split)]


def quality_fold_check(sources: Sequence[Any], dedup_llr: float, cap: float, seed: int) -> list[dict[str, Any]]:
    """``fold_check`` with two tables per fold, one per half of the fitting pairs split by the worse template's
    minutiae count (at the fitting pairs' median); each held-out pair is scored by the table of its half."""
    from benchmarks.fusion_calibration import fit

    rows = []
    for name in dict.fromkeys(s.name for s in sources):
        split = worse_minutiae_split(sources, name)
        others = [s for s in sources if s.name != name]
        held = [s for s in sources if s.name == name]
        llr: dict[str, list[NDArray[np.float64]]] = {"genuine": [], "impostor": []}
        tops = {}
        for low in (True, False):
            table = fit(
                "finger",
                np.concatenate([_half(s, "genuine", split, low) for s in others]),
                np.concatenate([_half(s, "impostor", split, low) for s in others]),
                np.random.default_rng(seed),
            )
            tops["below" if low else "at_or_above"] = float(table.llr[-1])
            for kind in ("genuine", "impostor"):
                llr[kind] += [interpolate(table, _half(s, kind, split, low)) for s in held]
        rows.append(
            {
                "database": name,
                "minutiae_split": split,
                "top_llr": tops,
                **_figures(np.concatenate(llr["genuine"]), np.concatenate(llr["impostor"]), dedup_llr, cap),
            }
        )
    return rows


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Every fold together: false matches summed against the mean claim per level; means and worst of the rest."""
    levels = []
    for position, level in enumerate(rows[0]["levels"]):
        false_matches = sum(r["levels"][position]["observed_false_matches"] for r in rows)
        pairs = sum(r["levels"][position]["impostor_pairs"] for r in rows)
        claimed = float(np.mean([r["levels"][position]["claimed"] for r in rows]))
        levels.append(
            {
                "llr": level["llr"],
                "claimed": claimed,
                "observed": false_matches / pairs,
                "observed_false_matches": false_matches,
                "impostor_pairs": pairs,
                "holds": false_matches / pairs <= claimed,
                "folds_holding": sum(bool(r["levels"][position]["holds"]) for r in rows),
            }
        )
    mean = {
        key: float(np.mean([r[key] for r in rows]))
        for key in ("cllr_bits", "one_finger_fnmr_at_dedup", "two_fingers_fnmr_at_dedup", "two_fingers_fmr_at_dedup")
    }
    worst = {key: float(np.max([r[key] for r in rows])) for key in mean}
    return {
        "folds": len(rows),
        "levels": levels,
        "mean": mean,
        "worst": worst,
        "one_finger_false_matches_at_dedup": sum(r["one_finger_false_matches_at_dedup"] for r in rows),
        "impostor_pairs": sum(r["impostor_pairs"] for r in rows),
        "one_finger_reaches_dedup_capped": any(r["one_finger_reaches_dedup_capped"] for r in rows),
    }
