"""The tables ``benchmarks.finger_lodo`` prints: per held-out database, the calibration check, the shipped method,
the thresholds to ship, the refused templates, extraction, and the summary (printing only; every figure is
computed in ``benchmarks.finger_lodo``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from benchmarks.common import console, table
from benchmarks.finger_lodo import FMR_TARGETS, LLR_LEVELS, fitness_defaults


def print_extraction(extraction: dict[str, dict[str, Any]], lodo: dict[str, Any]) -> None:
    rows = []
    for pipeline, e in extraction.items():
        if pipeline not in lodo:
            continue
        result = lodo[pipeline]
        worst = max(result["folds"], key=lambda f: f["eer"])
        rows.append(
            (
                pipeline,
                _percent(result["mean"]["eer"]),
                f"{_percent(worst['eer'])} ({worst['database']})",
                _percent(result["mean"]["observed_fnmr@1e-03"], 1),
                "—" if e["minutiae_mean"] is None else f"{e['minutiae_mean']:.0f}",
                "—" if e["extract_ms_mean"] is None else f"{e['extract_ms_mean']:.0f} / {e['extract_ms_p95']:.0f}",
                str(e["failed_to_extract"]),
            )
        )
    console.print(
        table(
            "Pipelines side by side: LODO mean EER, worst held-out database, FNMR at the out-of-fold FMR 1e-3 "
            "threshold (LODO mean); extraction ms per image as timed when extracted (2 worker processes on a "
            "shared machine: noisy; the records pipeline imports, it does not extract)",
            ["pipeline", "EER (LODO mean)", "worst database", "FNMR @ FMR 1e-3", "minutiae", "ms mean / p95", "FTE"],
            rows,
        )
    )


def _percent(value: float | None, digits: int = 2) -> str:
    return "—" if value is None or math.isnan(value) else f"{100 * value:.{digits}f}%"


def _rate(value: float) -> str:
    return "0" if value == 0 else f"{value:.1e}"


def print_lodo(
    lodo: dict[str, Any],
    calibration: dict[str, Any],
    pooled_in_sample: dict[str, float],
    dedup_llr: float,
    today: Any,
) -> None:
    for pipeline, result in lodo.items():
        rows = []
        for fold in [*result["folds"], None]:
            figures = fold["at_fmr"] if fold else None
            cells = [
                fold["database"] if fold else "mean (LODO)",
                _percent(fold["eer"] if fold else result["mean"]["eer"]),
            ]
            for target in FMR_TARGETS:
                key = f"{target:.0e}"
                if figures:
                    f = figures[key]
                    cells += [
                        f"{_rate(f['observed_fmr'])} ({f['observed_false_matches']}) t {f['threshold']:.3g}",
                        _percent(f["observed_fnmr"], 1),
                        _percent(f["in_sample_fnmr"], 1),
                    ]
                else:
                    m = result["mean"]
                    cells += [
                        _rate(m[f"observed_fmr@{key}"]),
                        _percent(m[f"observed_fnmr@{key}"], 1),
                        _percent(m[f"in_sample_fnmr@{key}"], 1),
                    ]
            rows.append(cells)
        folds = len(result["folds"])
        console.print(
            table(
                f"{pipeline}: leave-one-database-out, thresholds fitted on the other {folds - 1} databases' "
                f"{(folds - 1) * 2880:,} impostor pairs; measured on 280 genuine / 2,880 impostor pairs "
                f"of the held-out one (FMR 1e-4 is below one database's resolution, 3.5e-4). Pooled EER in-sample: "
                f"{_percent(pooled_in_sample[pipeline])}",
                [
                    "held-out database",
                    "EER",
                    *(
                        column
                        for target in FMR_TARGETS
                        for column in (
                            f"FMR observed @ target {target:.0e} (false matches) · threshold",
                            f"FNMR @ {target:.0e}",
                            f"FNMR @ {target:.0e} in-sample",
                        )
                    ),
                ],
                rows,
            )
        )
    for pipeline, rows in calibration.items():
        lines = []
        for row in rows:
            cells = [row["database"], row["calibration"]]
            for level in row["levels"]:
                cells.append(
                    f"{level['claimed']:.1e} / {_rate(level['observed'])} ({level['observed_false_matches']})"
                    + ("" if level["holds"] else " ✗")
                )
            cells += [
                _percent(row["one_finger_fnmr_at_dedup"], 1),
                str(row["one_finger_false_matches_at_dedup"]),
                f"{row['max_llr']:.2f}",
            ]
            lines.append(cells)
        console.print(
            table(
                f"{pipeline}: calibration claimed vs observed impostor rate at LLR ≥ t on the held-out database "
                "(claimed = 10^-t × the genuine share at LLR ≥ t, ≤ 10^-t; ✗ = observed above claimed). "
                "'shipped' = matcher/calibration.json (fitted on every database, so in-sample here); "
                "'out-of-fold' = the same method fitted on the other databases. 'all held out': false matches "
                "summed over "
                "every held-out database's impostor pairs vs the mean claim, mean FNMR",
                [
                    "held-out database",
                    "calibration",
                    *(f"LLR ≥ {level:g}: claimed / observed (false matches)" for level in LLR_LEVELS),
                    f"one-finger FNMR @ dedup LLR {dedup_llr:g}",
                    f"impostors @ dedup LLR {dedup_llr:g}",
                    "table's top LLR",
                ],
                lines,
            )
        )
    console.print(
        f"[dim]the shipped finger table tops out at LLR {today.llr[-1]:.2f}; a table that never reaches LLR t claims 0 "
        "there (no score can clear it)[/]"
    )


def print_fitness(summaries: dict[str, Any], lodo: dict[str, Any], lodo_usable: dict[str, Any]) -> None:
    """Templates refused (records) or flagged (images, not enforced) per database and why; the LODO EER with
    everything beside the EER with the refused templates' pairs left out (— where a database has none left)."""
    from matcher import record_fitness

    rows = []
    for key, summary in summaries.items():
        found = summary["fitness"]
        stress = summary.get("fitness_stress")
        coverage, density = found["frame_coverage"], found["minutiae_per_cm2"]
        rows.append(
            [
                key,
                f"{found['refused']} / {found['templates']}"
                + ("" if found["enforced"] else " (flagged, not enforced)"),
                ", ".join(f"{code} {n}" for code, n in found["reasons"].items()) or "—",
                ", ".join(str(p) for p in found["declared_ppi"]),
                f"{coverage.get('p0', float('nan')):.2f} / {coverage.get('p50', float('nan')):.2f}",
                f"{density.get('p0', float('nan')):.1f} / {density.get('p50', float('nan')):.1f} / "
                f"{density.get('p100', float('nan')):.1f}",
                f"{stress['refused']} / {stress['templates']}" if stress else "—",
            ]
        )
    limits = fitness_defaults()
    console.print(
        table(
            "Unfit for matching (matcher/record_fitness.py, default limits: "
            f"{500 - limits.ppi_tolerance:g}–{500 + limits.ppi_tolerance:g} ppi, coverage ≥ "
            f"{limits.min_frame_coverage:g}, {limits.min_minutiae_per_cm2:g}–{limits.max_minutiae_per_cm2:g} "
            "minutiae/cm²). Records: refused by the import (422); images: the image path refuses on declared "
            "resolution only (FVC files state 1 dpi = not stated), the geometry is shown as flagged. "
            f"{record_fitness.TOO_FEW} is the quality gate's rejection, not a refusal. Stress: each record rescaled "
            "as from a 640×480 frame",
            [
                "pipeline / database",
                "refused",
                "findings (templates)",
                "declared ppi",
                "coverage min / median",
                "minutiae/cm² min / median / max",
                "stress: refused",
            ],
            rows,
        )
    )
    rows = []
    for pipeline, result in lodo.items():
        usable = lodo_usable.get(pipeline)
        kept_folds = usable["folds"] if usable else [None] * len(result["folds"])
        for fold, kept in zip([*result["folds"], None], [*kept_folds, None]):
            everything = fold["eer"] if fold else result["mean"]["eer"]
            without = (kept["eer"] if kept else usable["mean"]["eer"]) if usable else None
            pairs = f"{kept['genuine_pairs']} / {kept['impostor_pairs']}" if kept else ""
            where = fold["database"] if fold else "mean (LODO)"
            rows.append([pipeline, where, _percent(everything), _percent(without), pairs])
    console.print(
        table(
            "Leave-one-database-out EER: every template vs the refused templates' pairs left out",
            ["pipeline", "held-out database", "EER, everything", "EER, refused excluded", "pairs kept (gen / imp)"],
            rows,
        )
    )


def print_summary(lodo: dict[str, Any], speed: dict[str, float]) -> None:
    rows = []
    for pipeline, result in lodo.items():
        eers = [f["eer"] for f in result["folds"]]
        worst = int(np.argmax(eers))
        rows.append(
            [
                pipeline,
                _percent(result["mean"]["eer"]),
                f"{_percent(eers[worst])} ({result['folds'][worst]['database']})",
                " / ".join(f"{100 * e:.2f}" for e in eers),
                _percent(result["mean"]["observed_fnmr@1e-03"], 1),
                f"{speed[pipeline]:,.0f}" if pipeline in speed else "—",
            ]
        )
    console.print(
        table(
            "Summary: EER per held-out database and its mean; FNMR at the threshold fitted on the other databases "
            "for FMR 1e-3 (mean over held-out databases); comparisons per CPU-second (one core)",
            ["pipeline", "LODO mean EER", "worst database", "EER per database (%)", "FNMR @ FMR 1e-3", "cmp/s/core"],
            rows,
        )
    )


def print_shipped_method(check: dict[str, Any]) -> None:
    cap = check["finger_llr_cap"]
    variants = [("one table", check["single_table"])]
    if "by_worse_minutiae" in check:
        variants.append(("two tables by worse-template minutiae", check["by_worse_minutiae"]))
    for label, variant in variants:
        lines = []
        for row in [*variant["folds"], None]:
            chosen = row if row is not None else variant["all"]
            cells = [row["database"] if row else f"all {variant['all']['folds']} held out"]
            cells += [
                f"{level['claimed']:.1e} / {_rate(level['observed'])} ({level['observed_false_matches']})"
                + ("" if level["holds"] else " ✗")
                for level in chosen["levels"]
            ]
            figures = row if row is not None else {**variant["all"]["mean"], **variant["all"]}
            cells += [
                f"{figures['cllr_bits']:.3f}",
                _percent(figures["one_finger_fnmr_at_dedup"], 1),
                str(figures["one_finger_false_matches_at_dedup"]),
                _rate(figures["two_fingers_fmr_at_dedup"]),
                _percent(figures["two_fingers_fnmr_at_dedup"], 1),
            ]
            lines.append(cells)
        dedup = check["single_table"]["folds"][0]["dedup_llr_threshold"]
        console.print(
            table(
                f"Shipped finger calibration method ({label}; images·MCC and records·MCC pooled), leave-one-database-"
                f"out: claimed / observed impostor share at LLR ≥ t on the held-out database (✗ = observed above "
                f"claimed); one finger uncapped at the dedup threshold {dedup:g}; two fingers each capped at {cap:g} "
                "and independent (so one finger alone never reaches it)",
                [
                    "held-out database",
                    *(f"LLR ≥ {level:g}" for level in LLR_LEVELS),
                    "Cllr (bits)",
                    f"1 finger FNMR @ {dedup:g}",
                    f"1 finger impostors @ {dedup:g}",
                    f"2 fingers FMR @ {dedup:g}",
                    f"2 fingers FNMR @ {dedup:g}",
                ],
                lines,
            )
        )
    if "quality_aware_helps" in check:
        console.print(f"quality-aware tables (by worse-template minutiae) help: {check['quality_aware_helps']}")
    console.print(f"[dim]finger dependence: {check['finger_dependence']}[/]")


def print_thresholds(thresholds: dict[str, Any], lodo: dict[str, Any]) -> None:
    rows = []
    for pipeline, fitted in thresholds.items():
        for target in FMR_TARGETS:
            key = f"{target:.0e}"
            at, mean, worst = fitted[key], lodo[pipeline]["mean"], lodo[pipeline]["worst"]
            rows.append(
                [
                    pipeline,
                    key,
                    f"{at['threshold']:.4f}",
                    f"{_rate(mean[f'observed_fmr@{key}'])} / {_rate(worst[f'observed_fmr@{key}'])}",
                    f"{_percent(mean[f'observed_fnmr@{key}'], 1)} / {_percent(worst[f'observed_fnmr@{key}'], 1)}",
                ]
            )
    console.print(
        table(
            "Thresholds to ship: fitted on every database's impostor pairs pooled; beside them, the held-out FMR and "
            "FNMR (mean / worst database) of the same target fitted on the other databases",
            ["pipeline", "FMR target", "threshold (all databases)", "LODO FMR mean / worst", "LODO FNMR mean / worst"],
            rows,
        )
    )


def print_alternating(alternating: dict[str, dict[str, Any]]) -> None:
    """Comparisons per CPU-second of a matcher and of MCC timed slice by slice in turn on the same pairs."""
    if not alternating:
        return
    rows = []
    for pipeline, timed in alternating.items():
        rates = timed["comparisons_per_cpu_second"]
        rows.append(
            [
                pipeline,
                f"{rates[pipeline]:,.0f}",
                f"{timed['reference']}: {rates[timed['reference']]:,.0f}",
                f"{timed['ratio_to_reference']:.2f}",
                f"{timed['pairs']} ({timed['database']})",
            ]
        )
    console.print(
        table(
            "Comparisons per CPU-second, timed in turn with MCC (slices of the same pairs alternated, so the machine's "
            "load falls on both alike: quote the ratio)",
            ["pipeline", "cmp/s/core", "MCC, same pairs", "ratio", "pairs"],
            rows,
        )
    )
