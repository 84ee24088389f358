"""Fingerprint accuracy leave-one-database-out: eight FVC databases, every threshold fitted without the one measured.

Question: do civid's fingerprint thresholds and its finger calibration hold on a sensor they were not fitted
on? Data: FVC2000 DB1–4 B and FVC2002 DB1–4 B (eight databases, six sensors; FVC2000's files declare 1 dpi and
are read as 500 ppi, FVC2002 DB2 as 569 ppi and resampled, as ``benchmarks.finger_accuracy`` does). Pipelines,
with ``finger_accuracy``'s functions (its template cache, FVC pairs, scorers): images·MINDTCT+MCC,
images·MINDTCT+BOZORTH3, images·masked+MCC and images·enhanced+MCC (``matcher.extraction``'s extractors; eight
databases) and SecuGen ISO records·MCC (FVC2002 only: four databases). Each pipeline's extraction time per image
(mean and p95, as ``finger_accuracy`` measures it: 2 worker processes, a shared machine) is printed beside its
figures.

Per database: 280 genuine pairs (all 28 pairs of each finger's 8 impressions) and all 2,880 cross-finger
impostor pairs. For each held-out database:
- EER on its own scores (threshold-free);
- for FMR 1e-2, 1e-3, 1e-4: the threshold fitted on the pooled impostor scores of the *other* databases
  (seven; three for records), then the held-out database's observed FMR and FNMR at it. Beside it, labelled
  "in-sample", the FNMR at the threshold fitted on the held-out database itself. One false match among 2,880
  is 3.5e-4, so an observed FMR of 1e-4 cannot be resolved on one database (0 or >= 3.5e-4);
- calibration check: the shipped ``matcher/calibration.json`` finger table (MCC pipelines; fitted on all eight
  databases, so in-sample here) and an out-of-fold table fitted by the same method
  (``benchmarks.fusion_calibration.fit``: quantile bins, density ratio, pool-adjacent-violators) on the other
  databases, each scored on the held-out one: per LLR level t = 1..4, the impostor share
  at LLR >= t against what the LLR claims (see ``claimed_vs_observed``), and the FNMR of one finger at the
  dedup threshold (``Settings.dedup_llr_threshold``);
- the shipped method itself (``benchmarks.finger_calibration``: images·MCC and records·MCC pooled), out of fold,
  with the per-finger cap, two fingers by independence, and quality-aware tables (by the worse template's minutiae
  count) beside it; and the thresholds to ship, fitted on every database pooled, with their LODO mean and worst.
Templates the service would refuse as unfit for matching (``benchmarks.fitness``: an imported record whose declared
resolution or minutiae geometry does not fit, ``matcher.record_fitness``) are counted per database with their
reasons, and the leave-one-database-out EER is given twice: with every template, and with the pairs that hold a
refused template left out ("refused excluded"; JSON ``lodo_refused_excluded``, every figure of ``lodo``).
DET curves (per database and pooled) and score histograms are written as PNG beside the JSON.

    python -m benchmarks.finger_lodo --data ../shared/data
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from numpy.typing import NDArray

from benchmarks.common import (
    CACHE_DIR,
    REPO_ROOT,
    RESULTS_DIR,
    add_common_arguments,
    console,
    data_dir,
    err_console,
    machine,
    print_machine,
    save_result,
)
from benchmarks.face_accuracy import equal_error_rate, false_non_match_rate, threshold_at_rate

NAME = "finger_lodo"
DATABASES = tuple((collection, n) for collection in ("fvc2000", "fvc2002") for n in (1, 2, 3, 4))
FMR_TARGETS = (1e-2, 1e-3, 1e-4)
LLR_LEVELS = (1.0, 2.0, 3.0, 4.0)
# pipeline -> (template source, matcher, collections it runs on)
PIPELINES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "images·MINDTCT+MCC": ("images", "mcc", ("fvc2000", "fvc2002")),
    "images·MINDTCT+BOZORTH3": ("images", "bozorth3", ("fvc2000", "fvc2002")),
    # matcher.extraction's other extractors: MINDTCT's minutiae kept only inside the print's foreground
    # ("masked"), and MINDTCT on the Gabor-enhanced image, likewise masked ("enhanced").
    "images·masked+MCC": ("masked", "mcc", ("fvc2000", "fvc2002")),
    "images·enhanced+MCC": ("enhanced", "mcc", ("fvc2000", "fvc2002")),
    "records·MCC": ("records", "mcc", ("fvc2002",)),
    **{
        f"{source}{'·MINDTCT' if source == 'images' else ''}+MCC-GC s={share}": (
            source,
            f"mcc-gc:{share}",
            ("fvc2000", "fvc2002") if source == "images" else ("fvc2002",),
        )
        for source in ("images", "records")
        for share in (0.2, 0.5)
    },
    # the better extractor and the better matcher together
    "images·enhanced+MCC-GC s=0.5": ("enhanced", "mcc-gc:0.5", ("fvc2000", "fvc2002")),
    # matcher.edge_graph: SourceAFIS-style edge hash, roots and pairings grown along matching edges
    "images·MINDTCT+EDGE": ("images", "edge", ("fvc2000", "fvc2002")),
    "images·enhanced+EDGE": ("enhanced", "edge", ("fvc2000", "fvc2002")),
    "records·EDGE": ("records", "edge", ("fvc2002",)),
}
# pipeline -> variants of one matcher (differing in one parameter): each fold uses the variant whose mean EER
# over the other databases is lowest, so the parameter too is fitted out of fold
SELECTED: dict[str, tuple[str, ...]] = {
    "images·MINDTCT+MCC-GC": ("images·MINDTCT+MCC-GC s=0.2", "images·MINDTCT+MCC-GC s=0.5"),
    "records·MCC-GC": ("records+MCC-GC s=0.2", "records+MCC-GC s=0.5"),
}
# fused pipeline -> the pipelines whose scores it fuses (benchmarks.finger_fusion, fitted out of fold)
FUSED: dict[str, tuple[str, ...]] = {
    "images·MINDTCT+MCC⊕BOZORTH3": ("images·MINDTCT+MCC", "images·MINDTCT+BOZORTH3"),
    "images·MINDTCT+MCC-GC s=0.5⊕BOZORTH3": ("images·MINDTCT+MCC-GC s=0.5", "images·MINDTCT+BOZORTH3"),
    "images·MINDTCT+MCC⊕EDGE": ("images·MINDTCT+MCC", "images·MINDTCT+EDGE"),
    "images·enhanced+MCC⊕EDGE": ("images·enhanced+MCC", "images·enhanced+EDGE"),
    "records·MCC⊕EDGE": ("records·MCC", "records·EDGE"),
}
ALL_PIPELINES = (*PIPELINES, *SELECTED, *FUSED)
# pipeline -> the pipeline its matcher is timed against, slice by slice on the same pairs (alternating_throughput)
ALTERNATE_WITH = {
    "images·MINDTCT+EDGE": "images·MINDTCT+MCC",
    "images·enhanced+EDGE": "images·enhanced+MCC",
    "records·EDGE": "records·MCC",
}
THROUGHPUT_PAIRS = 400  # pairs timed per matcher (CPU time), half genuine, from the first database scored
# The pipelines matcher/calibration.json's finger table is fitted on (benchmarks.fusion_calibration), pooled.
SHIPPED_CALIBRATION_PIPELINES = ("images·MINDTCT+MCC", "records·MCC")
CALIBRATED_MATCHER = "mcc"  # matcher/calibration.json's finger table maps MCC similarities
SCORES_PIPELINE = "finger_accuracy mcc_scores/bozorth3_scores;v1"  # bump to invalidate the score cache


def _matcher_version(matcher: str) -> str:
    """What keys a matcher's cached scores beyond SCORES_PIPELINE: its parameters, where it has any here."""
    if matcher.startswith("mcc-gc"):
        return repr(_consolidation(matcher))
    if matcher == "edge":
        from matcher import edge_graph

        return f"{edge_graph.SCORE_VERSION};{edge_graph.EDGE_GRAPH!r}"
    return ""


def _consolidation(matcher: str) -> Any:
    """``mcc-gc:<share>`` -> matcher.consolidation's parameters with that min_overlap_share."""
    from dataclasses import replace

    from matcher.consolidation import CONSOLIDATION

    return replace(CONSOLIDATION, min_overlap_share=float(matcher.partition(":")[2]))


@dataclass(frozen=True)
class DatabaseScores:
    """One database's comparison scores: genuine (G,) and cross-finger impostor (I,), higher = more alike."""

    name: str  # e.g. "FVC2000 DB1"
    genuine: NDArray[np.float32]
    impostor: NDArray[np.float32]
    # Per pair, the minutiae count of its worse template (G,) and (I,); None where not known (synthetic tests).
    genuine_minutiae: NDArray[np.int32] | None = None
    impostor_minutiae: NDArray[np.int32] | None = None


# --- leave-one-database-out thresholds -------------------------------------------------------------------
def pooled_without(databases: Sequence[DatabaseScores], held_out: int) -> DatabaseScores:
    """The genuine and impostor scores of every database but ``databases[held_out]``, pooled."""
    others = [d for k, d in enumerate(databases) if k != held_out]
    known = all(d.genuine_minutiae is not None and d.impostor_minutiae is not None for d in others)
    return DatabaseScores(
        "pooled without " + databases[held_out].name,
        np.concatenate([d.genuine for d in others]),
        np.concatenate([d.impostor for d in others]),
        np.concatenate([d.genuine_minutiae for d in others if d.genuine_minutiae is not None]) if known else None,
        np.concatenate([d.impostor_minutiae for d in others if d.impostor_minutiae is not None]) if known else None,
    )


def rates_at(scores: DatabaseScores, threshold: float) -> tuple[float, float]:
    """(FMR, FNMR) of the decision score >= ``threshold`` on ``scores``."""
    false_matches = int(np.count_nonzero(scores.impostor >= threshold))
    return false_matches / len(scores.impostor), false_non_match_rate(np.sort(scores.genuine), threshold)


def held_out_figures(
    databases: Sequence[DatabaseScores], held_out: int, fmr_targets: Sequence[float] = FMR_TARGETS
) -> dict[str, Any]:
    """One fold: the held-out database's EER, and per FMR target the out-of-fold threshold and its observed
    FMR/FNMR there, with the in-sample threshold and FNMR beside it."""
    held = databases[held_out]
    fitting = pooled_without(databases, held_out)
    fitting_impostor, held_impostor = np.sort(fitting.impostor), np.sort(held.impostor)
    eer, eer_threshold = equal_error_rate(np.sort(held.genuine), held_impostor)
    operating: dict[str, Any] = {}
    for target in fmr_targets:
        threshold, fitted_fmr = threshold_at_rate(fitting_impostor, target)
        observed_fmr, observed_fnmr = rates_at(held, threshold)
        in_sample_threshold, in_sample_fmr = threshold_at_rate(held_impostor, target)
        operating[f"{target:.0e}"] = {
            "threshold": threshold,
            "fitted_on_impostor_pairs": len(fitting_impostor),
            "fitted_fmr": fitted_fmr,
            "observed_fmr": observed_fmr,
            "observed_false_matches": int(np.count_nonzero(held.impostor >= threshold)),
            "observed_fnmr": observed_fnmr,
            "in_sample_threshold": in_sample_threshold,
            "in_sample_fmr": in_sample_fmr,
            "in_sample_fnmr": rates_at(held, in_sample_threshold)[1],
            "resolvable": target * len(held.impostor) >= 1,
        }
    return {
        "database": held.name,
        "genuine_pairs": len(held.genuine),
        "impostor_pairs": len(held.impostor),
        "eer": eer,
        "eer_threshold": eer_threshold,
        "at_fmr": operating,
    }


def leave_one_database_out(
    databases: Sequence[DatabaseScores],
    fmr_targets: Sequence[float] = FMR_TARGETS,
    fold_databases: Callable[[int], Sequence[DatabaseScores]] | None = None,
) -> dict[str, Any]:
    """Every fold's figures, and their means over the held-out databases. ``fold_databases(k)``, when given, is
    every database's scores as fold k sees them (a fused score whose fusion was fitted without database k)."""
    folds = [
        held_out_figures(fold_databases(k) if fold_databases else databases, k, fmr_targets)
        for k in range(len(databases))
    ]
    mean: dict[str, Any] = {"eer": float(np.mean([f["eer"] for f in folds]))}
    worst: dict[str, Any] = {"eer": float(np.max([f["eer"] for f in folds]))}
    for target in fmr_targets:
        key = f"{target:.0e}"
        for figure in ("observed_fmr", "observed_fnmr", "in_sample_fnmr"):
            mean[f"{figure}@{key}"] = float(np.mean([f["at_fmr"][key][figure] for f in folds]))
            worst[f"{figure}@{key}"] = float(np.max([f["at_fmr"][key][figure] for f in folds]))
    return {"folds": folds, "mean": mean, "worst": worst}


def all_databases_thresholds(
    databases: Sequence[DatabaseScores], fmr_targets: Sequence[float] = FMR_TARGETS
) -> dict[str, Any]:
    """The thresholds a deployment ships: fitted on every database's impostor pairs pooled, per FMR target (their
    held-out behaviour is what the leave-one-database-out folds measure)."""
    impostor = np.sort(np.concatenate([d.impostor for d in databases]))
    genuine = np.sort(np.concatenate([d.genuine for d in databases]))
    result: dict[str, Any] = {"impostor_pairs": len(impostor), "genuine_pairs": len(genuine)}
    for target in fmr_targets:
        threshold, fitted_fmr = threshold_at_rate(impostor, target)
        result[f"{target:.0e}"] = {
            "threshold": threshold,
            "fitted_fmr": fitted_fmr,
            "fnmr_in_sample": false_non_match_rate(genuine, threshold),
        }
    return result


# --- calibration check -----------------------------------------------------------------------------------
def claimed_vs_observed(
    llr_genuine: NDArray[np.float64], llr_impostor: NDArray[np.float64], levels: Sequence[float] = LLR_LEVELS
) -> list[dict[str, Any]]:
    """Per LLR level t, the impostor share at LLR >= t against what a calibrated LLR claims of it.

    With LLR = log10 p(s|mated) / p(s|non-mated) (matcher.fusion), every score at LLR >= t is at least 10^t times
    likelier mated, so P(LLR >= t | non-mated) <= 10^-t * P(LLR >= t | mated) <= 10^-t. "claimed" is the first
    bound, with the genuine share measured on the same scores; the looser 10^-t is kept beside it."""
    rows = []
    for level in levels:
        false_matches = int(np.count_nonzero(llr_impostor >= level))
        genuine_share = float(np.count_nonzero(llr_genuine >= level) / len(llr_genuine))
        rows.append(
            {
                "llr": level,
                "claimed_ceiling": 10.0**-level,
                "claimed": 10.0**-level * genuine_share,
                "observed": false_matches / len(llr_impostor),
                "observed_false_matches": false_matches,
                "impostor_pairs": len(llr_impostor),
                "fnmr": 1.0 - genuine_share,
                "holds": false_matches / len(llr_impostor) <= 10.0**-level * genuine_share,
            }
        )
    return rows


def calibration_summary(rows: Sequence[dict[str, Any]], calibration: str) -> dict[str, Any]:
    """One calibration's check over every held-out database together: false matches summed over all their
    impostor pairs against the mean of the per-database claims, per LLR level; FNMR at the dedup threshold."""
    chosen = [r for r in rows if r["calibration"] == calibration]
    levels = []
    for position, level in enumerate(chosen[0]["levels"]):
        false_matches = sum(r["levels"][position]["observed_false_matches"] for r in chosen)
        pairs = sum(r["levels"][position]["impostor_pairs"] for r in chosen)
        claimed = float(np.mean([r["levels"][position]["claimed"] for r in chosen]))
        levels.append(
            {
                "llr": level["llr"],
                "claimed_ceiling": level["claimed_ceiling"],
                "claimed": claimed,
                "observed": false_matches / pairs,
                "observed_false_matches": false_matches,
                "impostor_pairs": pairs,
                "fnmr": float(np.mean([r["levels"][position]["fnmr"] for r in chosen])),
                "holds": false_matches / pairs <= claimed,
            }
        )
    return {
        "database": f"all {len(chosen)} held out",
        "calibration": calibration,
        "levels": levels,
        "dedup_llr_threshold": chosen[0]["dedup_llr_threshold"],
        "one_finger_fnmr_at_dedup": float(np.mean([r["one_finger_fnmr_at_dedup"] for r in chosen])),
        "one_finger_false_matches_at_dedup": sum(r["one_finger_false_matches_at_dedup"] for r in chosen),
        "max_llr": max(r["max_llr"] for r in chosen),
    }


def fit_out_of_fold_calibration(fitting: DatabaseScores, seed: int) -> Any:
    """An LLR table fitted on ``fitting`` by the method that made matcher/calibration.json."""
    from benchmarks.fusion_calibration import fit

    return fit("finger", fitting.genuine, fitting.impostor, np.random.default_rng(seed))


def llr_of(calibration: Any, scores: NDArray[np.float32]) -> NDArray[np.float64]:
    """``Calibration.__call__`` over an array (the same clamped piecewise-linear interpolation)."""
    return np.interp(scores.astype(np.float64), calibration.scores, calibration.llr)


def calibration_check(
    databases: Sequence[DatabaseScores],
    today: Any | None,
    dedup_llr: float,
    seed: int,
    fold_databases: Callable[[int], Sequence[DatabaseScores]] | None = None,
) -> list[dict[str, Any]]:
    """Per held-out database: claimed vs observed for today's table (when given) and for an out-of-fold fit
    (``fold_databases`` as in ``leave_one_database_out``)."""
    rows = []
    for k in range(len(databases)):
        seen = fold_databases(k) if fold_databases else databases
        held = seen[k]
        tables = {"out-of-fold": fit_out_of_fold_calibration(pooled_without(seen, k), seed)}
        if today is not None:
            tables["shipped"] = today
        for name, calibration in tables.items():
            g, i = llr_of(calibration, held.genuine), llr_of(calibration, held.impostor)
            rows.append(
                {
                    "database": held.name,
                    "calibration": name,
                    "levels": claimed_vs_observed(g, i),
                    "dedup_llr_threshold": dedup_llr,
                    "one_finger_fnmr_at_dedup": float(np.count_nonzero(g < dedup_llr) / len(g)),
                    "one_finger_false_matches_at_dedup": int(np.count_nonzero(i >= dedup_llr)),
                    "max_llr": float(calibration.llr[-1]),
                }
            )
    return rows


def shipped_method_check(sources: Sequence[DatabaseScores], dedup_llr: float, seed: int) -> dict[str, Any]:
    """The shipped finger table's method (images and records pooled) checked leave-one-database-out, with the
    per-finger cap; and the same with one table per minutiae half, to say whether quality-aware tables help."""
    from benchmarks import finger_calibration

    cap = finger_calibration.FINGER_LLR_CAP
    tables = finger_calibration.fold_tables(sources, seed)
    single = finger_calibration.fold_check(sources, tables, dedup_llr, cap)
    result: dict[str, Any] = {
        "sources": [f"{s.name} ({len(s.genuine)} / {len(s.impostor)})" for s in sources],
        "finger_llr_cap": cap,
        "single_table": {"folds": single, "all": finger_calibration.summary(single)},
        "finger_dependence": FINGER_DEPENDENCE,
    }
    if all(s.genuine_minutiae is not None for s in sources):
        quality = finger_calibration.quality_fold_check(sources, dedup_llr, cap, seed)
        result["by_worse_minutiae"] = {"folds": quality, "all": finger_calibration.summary(quality)}
        a, b = result["single_table"]["all"], result["by_worse_minutiae"]["all"]
        result["quality_aware_helps"] = bool(
            b["mean"]["cllr_bits"] < a["mean"]["cllr_bits"]
            and sum(level["folds_holding"] for level in b["levels"])
            >= sum(level["folds_holding"] for level in a["levels"])
            and b["mean"]["two_fingers_fnmr_at_dedup"] <= a["mean"]["two_fingers_fnmr_at_dedup"]
        )
    return result


FINGER_DEPENDENCE = (
    "not measurable on FVC: no two fingers are linked to one person (fingers of different databases are different "
    "fingers), so the independence between fingers of one person that fusion assumes (LLRs add) is assumed, not "
    "measured; two-finger figures here combine two independent draws of one database's comparisons"
)


# --- scores of the real databases ------------------------------------------------------------------------
def _label(collection: str, database: int) -> str:
    return f"{collection.upper()} DB{database}"


def _scores_cache_path(pipeline: str, samples: list[Any]) -> Path:
    digest = hashlib.sha256(f"{SCORES_PIPELINE}\0{pipeline}\0{_matcher_version(PIPELINES[pipeline][1])}".encode())
    for sample in samples:
        digest.update(f"{sample.key}:{sample.size}:{sample.error}:{sample.view.minutiae}\0".encode())
    return CACHE_DIR / f"finger_lodo-scores-{digest.hexdigest()[:16]}.npz"


def scorer(matcher: str, samples: list[Any]) -> Callable[[int, int], float]:
    """``score(i, j)`` of two of ``samples`` by ``matcher`` (0 where a side has no minutiae/cylinders), with
    whatever a template needs (cylinders) built beforehand, as a gallery holds them."""
    if matcher == "bozorth3":
        from matcher.nbis_bridge import bozorth3

        def boz(i: int, j: int) -> float:
            a, b = samples[i], samples[j]
            return bozorth3(a.view, b.view, a.size, b.size) if a.error is None and b.error is None else 0.0

        return boz
    if matcher == "edge":
        return _edge_scorer(samples)
    from benchmarks.finger_accuracy import mcc_cylinders
    from matcher import consolidation, mcc

    cylinders, _ = mcc_cylinders(samples)
    params = None if matcher == "mcc" else _consolidation(matcher)

    def score(i: int, j: int) -> float:
        a, b = cylinders[i], cylinders[j]
        if a is None or b is None:
            return 0.0
        return float(mcc.similarity(a, b) if params is None else consolidation.similarity(a, b, params))

    return score


def _edge_scorer(samples: list[Any]) -> Callable[[int, int], float]:
    """``score(i, j)`` by ``matcher.edge_graph``, every sample's edge template built beforehand (minutia types
    included: the matcher counts agreeing types)."""
    from matcher import edge_graph
    from matcher.iso19794 import minutiae_array

    templates = [
        edge_graph.template(minutiae_array(s.view), np.array([int(m.type) for m in s.view.minutiae], np.int8))
        if s.error is None
        else None
        for s in samples
    ]

    def score(i: int, j: int) -> float:
        a, b = templates[i], templates[j]
        return edge_graph.similarity(a, b) if a is not None and b is not None else 0.0

    return score


def database_scores(
    data: Path, pipeline: str, collection: str, database: int, workers: int
) -> tuple[DatabaseScores, DatabaseScores, dict[str, Any], list[float]]:
    """One pipeline's genuine and impostor scores on one database (cached); the same without the pairs that hold a
    template the service refuses as unfit (``benchmarks.fitness``); its template summary with the fitness counts;
    and the milliseconds each image's extraction took (as measured when it was extracted)."""
    from benchmarks import fitness
    from benchmarks.finger_accuracy import fvc_pairs, load_templates, template_summary, timed_pair_scores

    source, matcher, _ = PIPELINES[pipeline]
    samples = load_templates(data, source, (database,), workers, collection)
    pairs = fvc_pairs(samples)
    label = _label(collection, database)
    cache = _scores_cache_path(pipeline, samples)
    if cache.exists():
        with np.load(cache, allow_pickle=False) as stored:
            genuine, impostor = stored["genuine"], stored["impostor"]
    else:
        everything = np.concatenate([pairs.genuine, pairs.impostor_all])
        scores, _ = timed_pair_scores(f"{label} {pipeline}", everything, scorer(matcher, samples))
        genuine, impostor = scores[: len(pairs.genuine)], scores[len(pairs.genuine) :]
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, genuine=genuine, impostor=impostor)
        os.replace(tmp, cache)
    limits = fitness.default_limits()
    kept = fitness.fit_mask(samples, source, limits)
    kept_genuine = kept[pairs.genuine].all(axis=1)
    kept_impostor = kept[pairs.impostor_all].all(axis=1)
    summary = {**template_summary(samples), "fitness": fitness.summary(samples, source, limits)}
    if source == "records":
        summary["fitness_stress"] = fitness.stress_summary(samples, limits)
    minutiae = np.array([len(s.view.minutiae) if s.error is None else 0 for s in samples], np.int32)
    worse = {kind: minutiae[chosen].min(axis=1) for kind, chosen in (("g", pairs.genuine), ("i", pairs.impostor_all))}
    everything = DatabaseScores(label, genuine.astype(np.float32), impostor.astype(np.float32), worse["g"], worse["i"])
    usable = DatabaseScores(
        label,
        everything.genuine[kept_genuine],
        everything.impostor[kept_impostor],
        worse["g"][kept_genuine],
        worse["i"][kept_impostor],
    )
    times = [s.extract_ms for s in samples if not math.isnan(s.extract_ms)]
    return everything, usable, summary, times


def extraction_summary(times: Sequence[float], summaries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One pipeline's extraction over every database: ms per image (mean, p95), minutiae per template, failures."""
    return {
        "images_timed": len(times),
        "extract_ms_mean": float(np.mean(times)) if times else None,
        "extract_ms_p95": float(np.percentile(times, 95)) if times else None,
        "minutiae_mean": float(np.mean([s["minutiae_mean"] for s in summaries])) if summaries else None,
        "failed_to_extract": sum(s["failed_to_extract"] for s in summaries),
    }


def throughput(data: Path, pipeline: str, collection: str, database: int, workers: int, seed: int) -> float:
    """Comparisons per CPU-second of one base pipeline's matcher on ``THROUGHPUT_PAIRS`` pairs of one
    database (half genuine, half impostor, drawn with ``seed``), templates prepared beforehand."""
    from benchmarks.finger_fusion import comparisons_per_second

    source, matcher, _ = PIPELINES[pipeline]
    samples, chosen = _timed_pairs(data, source, collection, database, workers, seed)
    return comparisons_per_second(scorer(matcher, samples), chosen)


def _timed_pairs(
    data: Path, source: str, collection: str, database: int, workers: int, seed: int
) -> tuple[list[Any], NDArray[np.int64]]:
    """One database's templates and the ``THROUGHPUT_PAIRS`` pairs timed on them (half genuine, drawn with ``seed``)."""
    from benchmarks.finger_accuracy import fvc_pairs, load_templates

    samples = load_templates(data, source, (database,), workers, collection)
    pairs = fvc_pairs(samples)
    rng = np.random.default_rng(seed)
    half = THROUGHPUT_PAIRS // 2
    chosen = np.concatenate(
        [
            pairs.genuine[rng.choice(len(pairs.genuine), min(half, len(pairs.genuine)), replace=False)],
            pairs.impostor_all[rng.choice(len(pairs.impostor_all), half, replace=False)],
        ]
    )
    return samples, chosen


ALTERNATING_ROUNDS = 8  # the timed pairs in this many slices, each timed with one matcher then the other


def alternating_throughput(
    data: Path, pipeline: str, reference: str, collection: str, database: int, workers: int, seed: int
) -> dict[str, Any]:
    """Comparisons per CPU-second of ``pipeline``'s matcher and of ``reference``'s (same templates' source) on the
    same pairs, timed slice by slice in turn, so that the machine's load falls on both alike: the ratio is the
    figure to quote on a shared machine."""
    from benchmarks.finger_fusion import comparisons_per_second

    source = PIPELINES[pipeline][0]
    samples, chosen = _timed_pairs(data, source, collection, database, workers, seed)
    scorers = {name: scorer(PIPELINES[name][1], samples) for name in (pipeline, reference)}
    spent = {name: 0.0 for name in scorers}
    for part in np.array_split(chosen, ALTERNATING_ROUNDS):
        for name, score in scorers.items():
            spent[name] += len(part) / comparisons_per_second(score, part)
    rates = {name: len(chosen) / seconds for name, seconds in spent.items()}
    return {
        "pairs": len(chosen),
        "database": _label(collection, database),
        "comparisons_per_cpu_second": rates,
        "ratio_to_reference": rates[pipeline] / rates[reference],
        "reference": reference,
    }


def fused_folds(components: Sequence[Sequence[DatabaseScores]], matchers: Sequence[str]) -> list[list[DatabaseScores]]:
    """Per fold k: every database's fused scores, the fusion fitted on the component scores of every
    database but k (``benchmarks.finger_fusion.fit_fusion``)."""
    from benchmarks.finger_fusion import fit_fusion

    folds = []
    count = len(components[0])
    for k in range(count):
        fitting = [pooled_without(c, k) for c in components]
        fit = fit_fusion(matchers, [f.genuine for f in fitting], [f.impostor for f in fitting])
        folds.append(
            [
                DatabaseScores(
                    components[0][d].name,
                    fit([c[d].genuine for c in components]),
                    fit([c[d].impostor for c in components]),
                )
                for d in range(count)
            ]
        )
    return folds


# --- the run ---------------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    """Score every pipeline on every database, fit out of fold, print the tables, draw, save; returns the record."""
    from benchmarks.det import Curve, plot_det, plot_score_histograms
    from benchmarks.finger_accuracy import mcc_available
    from benchmarks.finger_lodo_report import (
        print_alternating,
        print_extraction,
        print_fitness,
        print_lodo,
        print_shipped_method,
        print_summary,
        print_thresholds,
    )
    from civid.settings import Settings
    from matcher.fusion import Fusion

    info = machine()
    print_machine(info)
    data = data_dir(args.data)
    missing = mcc_available()
    if missing:
        err_console.print(f"[yellow]{missing}: the MCC pipelines are left out[/]")
    wanted = [p for p in args.pipelines if missing is None or all(PIPELINES[c][1] == "bozorth3" for c in _parts(p))]
    # every base pipeline scored: the ones asked for and the components of the fused ones, in order
    pipelines = list(dict.fromkeys(c for p in wanted for c in _parts(p)))
    dedup_llr = float(Settings.model_fields["dedup_llr_threshold"].default)
    today = Fusion.load().finger

    scores: dict[str, list[DatabaseScores]] = {}
    usable: dict[str, list[DatabaseScores]] = {}
    summaries: dict[str, Any] = {}
    extraction: dict[str, dict[str, Any]] = {}
    speed: dict[str, float] = {}
    alternating: dict[str, dict[str, Any]] = {}
    for pipeline in pipelines:
        scores[pipeline], usable[pipeline] = [], []
        times: list[float] = []
        chosen = [(c, n) for c, n in args.databases if c in PIPELINES[pipeline][2]]
        for collection, database in chosen:
            found, kept, summary, spent = database_scores(data, pipeline, collection, database, args.workers)
            scores[pipeline].append(found)
            usable[pipeline].append(kept)
            summaries[f"{pipeline}/{found.name}"] = summary
            times += spent
        extraction[pipeline] = extraction_summary(times, [summaries[f"{pipeline}/{d.name}"] for d in scores[pipeline]])
        if chosen:
            speed[pipeline] = throughput(data, pipeline, *chosen[0], args.workers, args.seed)
        reference = ALTERNATE_WITH.get(pipeline)
        if chosen and reference:
            alternating[pipeline] = alternating_throughput(
                data, pipeline, reference, *chosen[0], args.workers, args.seed
            )
            speed[pipeline] = alternating[pipeline]["comparisons_per_cpu_second"][pipeline]
    fold_views: dict[str, list[list[DatabaseScores]]] = {}
    variants_chosen: dict[str, list[str]] = {}
    for fused in (p for p in wanted if p in FUSED):
        parts = [scores[c] for c in FUSED[fused]]
        if len({tuple(d.name for d in part) for part in parts}) != 1:
            raise SystemExit(f"{fused}: its components were not scored on the same databases")
        fold_views[fused] = fused_folds(parts, [PIPELINES[c][1] for c in FUSED[fused]])
        scores[fused] = [fold[k] for k, fold in enumerate(fold_views[fused])]  # each database out of fold
        speed[fused] = 1 / sum(1 / speed[c] for c in FUSED[fused])  # both matchers run on every pair
    for selection in (p for p in wanted if p in SELECTED):
        views, chosen_variants = selected_folds([scores[v] for v in SELECTED[selection]])
        fold_views[selection] = views
        scores[selection] = [fold[k] for k, fold in enumerate(views)]
        speed[selection] = min(speed[v] for v in SELECTED[selection])
        variants_chosen[selection] = [SELECTED[selection][c] for c in chosen_variants]
    short = [p for p, s in scores.items() if len(s) < 2]
    if short:
        err_console.print(f"[yellow]{short}: fewer than two databases, no leave-one-out possible; left out[/]")
    scores = {p: s for p, s in scores.items() if len(s) >= 2}

    lodo = {p: leave_one_database_out(s, fold_databases=_view(fold_views, p)) for p, s in scores.items()}
    usable = {p: s for p, s in usable.items() if p in scores}
    # The same folds with every pair that holds a refused template left out (what the service would have matched).
    lodo_usable = {
        p: leave_one_database_out(s) if all(len(d.genuine) and len(d.impostor) for d in s) else None
        for p, s in usable.items()
    }
    calibration = {
        p: calibration_check(
            s,
            today if p in PIPELINES and PIPELINES[p][1] == CALIBRATED_MATCHER else None,
            dedup_llr,
            args.seed,
            _view(fold_views, p),
        )
        for p, s in scores.items()
    }
    for rows in calibration.values():
        rows += [calibration_summary(rows, name) for name in sorted({r["calibration"] for r in rows})]
    mcc_sources = [d for p in SHIPPED_CALIBRATION_PIPELINES for d in scores.get(p, [])]
    shipped_method = shipped_method_check(mcc_sources, dedup_llr, args.seed) if mcc_sources else {}
    thresholds = {p: all_databases_thresholds(s) for p, s in scores.items()}
    pooled = {
        p: DatabaseScores("pooled", *(np.concatenate([getattr(d, k) for d in s]) for k in ("genuine", "impostor")))
        for p, s in scores.items()
    }
    pooled_in_sample = {p: equal_error_rate(np.sort(d.genuine), np.sort(d.impostor))[0] for p, d in pooled.items()}

    det_path = plot_det(
        {
            f"{p} ({len(s)} databases)": [Curve(d.name, d.genuine, d.impostor) for d in s]
            + [Curve("pooled (one threshold for all)", pooled[p].genuine, pooled[p].impostor, emphasised=True)]
            for p, s in scores.items()
        },
        args.figures / f"{NAME}_det.png",
        "DET per database and pooled: 280 genuine / 2,880 cross-finger impostor pairs per database "
        "(FMR below 3.5e-4 is not resolved on one database)",
    )
    histogram_path = plot_score_histograms(
        {p: Curve(f"{len(s)} databases pooled", pooled[p].genuine, pooled[p].impostor) for p, s in scores.items()},
        args.figures / f"{NAME}_scores.png",
        "Score distributions, genuine vs cross-finger impostor pairs",
    )
    print_lodo(lodo, calibration, pooled_in_sample, dedup_llr, today)
    if shipped_method:
        print_shipped_method(shipped_method)
    print_thresholds(thresholds, lodo)
    print_fitness(summaries, lodo, lodo_usable)
    print_extraction(extraction, lodo)
    print_summary(lodo, speed)
    print_alternating(alternating)
    for path in (det_path, histogram_path):
        console.print(f"figure: {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")

    record = {
        "arguments": {
            "pipelines": list(scores),
            "databases": [_label(c, n) for c, n in args.databases],
            "workers": args.workers,
            "seed": args.seed,
        },
        "comparisons_per_cpu_second": {p: speed[p] for p in scores if p in speed},
        "comparisons_alternating_with_mcc": alternating,
        "variant_chosen_per_fold": variants_chosen,
        "comparisons_note": f"CPU time of one process over {THROUGHPUT_PAIRS} pairs of the first database, "
        "templates (cylinders) built beforehand; a fused pipeline runs both matchers",
        "fusion": "benchmarks.finger_fusion: logistic regression on transformed scores, fitted per fold on the "
        "other databases",
        "protocol": {
            "databases": [_label(c, n) for c, n in DATABASES],
            "genuine_per_db": 280,
            "impostor_per_db": 2880,
            "fmr_1e-4_note": "not resolvable on one database: one false match among 2,880 is 3.5e-4",
            "scan_ppi": "FVC2000 500 (files declare 1 dpi), FVC2002 DB2 569 resampled to 500, others 500",
            "llr_claim": "P(LLR >= t | impostor) <= 10^-t * P(LLR >= t | genuine) <= 10^-t",
        },
        "mcc_missing": missing,
        "templates": summaries,
        "extraction": extraction,
        "lodo": lodo,
        "lodo_refused_excluded": lodo_usable,
        "fitness_limits": asdict(fitness_defaults()),
        "pooled_in_sample_eer": pooled_in_sample,
        "calibration": calibration,
        "calibration_shipped_source": Fusion.load().source,
        "shipped_method_out_of_fold": shipped_method,
        "all_databases_thresholds": thresholds,
        "figures": [str(p.relative_to(REPO_ROOT)) for p in (det_path, histogram_path) if p.is_relative_to(REPO_ROOT)],
    }
    return save_result(NAME, record, save=not args.no_save)


def _parts(pipeline: str) -> tuple[str, ...]:
    """The base pipelines a pipeline needs scored: itself, a fused pipeline's components or a selection's
    variants."""
    return FUSED.get(pipeline) or SELECTED.get(pipeline) or (pipeline,)


def selected_folds(variants: Sequence[Sequence[DatabaseScores]]) -> tuple[list[list[DatabaseScores]], list[int]]:
    """Per fold k: the variant with the lowest mean EER over every database but k (its scores, all databases),
    and which variant each fold chose."""
    eers = np.array(
        [[equal_error_rate(np.sort(d.genuine), np.sort(d.impostor))[0] for d in variant] for variant in variants]
    )  # (variants, databases)
    count = eers.shape[1]
    chosen = [int(np.argmin(np.delete(eers, k, axis=1).mean(axis=1))) for k in range(count)]
    return [list(variants[c]) for c in chosen], chosen


def _view(
    fold_views: dict[str, list[list[DatabaseScores]]], pipeline: str
) -> Callable[[int], Sequence[DatabaseScores]] | None:
    views = fold_views.get(pipeline)
    return None if views is None else views.__getitem__


def fitness_defaults() -> Any:
    """The default fitness limits (``benchmarks.fitness.default_limits``)."""
    from benchmarks.fitness import default_limits

    return default_limits()


def _pipelines(text: str) -> list[str]:
    chosen = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in chosen if p not in ALL_PIPELINES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown pipeline(s) {unknown}; choose from {list(ALL_PIPELINES)}")
    return chosen


def _databases(text: str) -> list[tuple[str, int]]:
    """``fvc2000:3,fvc2002:1`` (or ``all``) -> [(collection, database)] in DATABASES order."""
    if text.strip() == "all":
        return list(DATABASES)
    chosen = set()
    for item in filter(None, (part.strip().lower() for part in text.split(","))):
        collection, _, number = item.partition(":")
        if (collection, int(number) if number.isdigit() else 0) not in DATABASES:
            raise argparse.ArgumentTypeError(f"unknown database {item!r}; e.g. fvc2000:3 (DB1-4 of fvc2000/fvc2002)")
        chosen.add((collection, int(number)))
    return [d for d in DATABASES if d in chosen]


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    result = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    add_common_arguments(result)
    result.add_argument(
        "--pipelines",
        type=_pipelines,
        default=list(ALL_PIPELINES),
        help=f"comma-separated, of {', '.join(ALL_PIPELINES)}",
    )
    result.add_argument(
        "--databases",
        type=_databases,
        default=list(DATABASES),
        help="comma-separated collection:number, e.g. fvc2000:3,fvc2002:1 (default: all eight); fits stay out of fold "
        "within the chosen ones",
    )
    result.add_argument("--workers", type=int, default=2, help="processes extracting minutiae (first run only)")
    result.add_argument("--figures", type=Path, default=RESULTS_DIR, help="folder for the PNGs (default results/)")
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Entry point: parse ``argv`` and run."""
    return run(parser().parse_args(argv))


if __name__ == "__main__":
    main()
