"""Run every benchmark in sequence and print one summary table.

    python -m benchmarks.run            # full: all LFW images; galleries of 10k, 100k and 1M (~8 min on 2 cores
                                        #   once the LFW descriptors are cached; computing them adds 10-20 min)
    python -m benchmarks.run --quick    # smaller: 300 LFW persons; galleries of 10k and 100k, 300 queries

Each benchmark still prints its own tables and appends its own record to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import console, err_console, machine, print_machine, table


def _face_accuracy(record: dict[str, Any]) -> str:
    ops = record["operating_points"]
    return (
        f"EER {record['eer']:.2%}; dedup_threshold {ops['dedup']['threshold']:.4f} "
        f"(FNMR {ops['dedup']['fnmr']:.2%} at FMR 1e-3); verify_threshold {ops['verify']['threshold']:.4f} "
        f"(FNMR {ops['verify']['fnmr']:.2%} at FMR 1e-4); FTE {record['fte_rate']:.2%}; "
        f"rank-1 {record['identification']['rank1_hit_rate']:.2%}"
    )


def _synthetic_faces(record: dict[str, Any]) -> str:
    real, synthetic = record["real"], record["synthetic"]
    return (
        f"genuine {real['genuine_mean']:.3f}±{real['genuine_std']:.3f} real vs "
        f"{synthetic['genuine_mean']:.3f}±{synthetic['genuine_std']:.3f} synthetic; impostor "
        f"{real['impostor_mean']:.3f}±{real['impostor_std']:.3f} vs {synthetic['impostor_mean']:.3f}"
        f"±{synthetic['impostor_std']:.3f}"
    )


def _gallery_speed(record: dict[str, Any]) -> str:
    advice = record["recommendation"]
    largest = [r for r in record["rows"] if r["size"] == advice["largest_size"]]
    flat = next(r for r in largest if r["index"] == "flat")
    ivf = next((r for r in largest if r["nprobe"] == advice["nprobe"]), None)
    text = f"at {advice['largest_size']:,}: flat p50 {flat['p50_ms']:.2f} ms"
    if ivf:
        text += f", ivf nprobe={ivf['nprobe']} p50 {ivf['p50_ms']:.2f} ms recall@10 {ivf['recall_at_10']:.4f}"
    return text + f"; recommend nprobe={advice['nprobe']}, exact_max={advice['exact_max']:,}"


def _generic(record: dict[str, Any]) -> str:
    return f"see benchmarks/results/{record.get('benchmark', '?')}.latest.json"


def plan(args: argparse.Namespace) -> list[tuple[str, list[str], Callable[[dict[str, Any]], str]]]:
    """(module, arguments, one-line summary) for every benchmark to run, in order."""
    common = (
        ["--seed", str(args.seed)]
        + (["--data", str(args.data)] if args.data else [])
        + (["--no-save"] if args.no_save else [])
    )
    steps = [
        ("face_accuracy", common + (["--limit-people", "300"] if args.quick else []), _face_accuracy),
        ("synthetic_faces", common, _synthetic_faces),
        (
            "gallery_speed",
            common + (["--sizes", "10000,100000", "--queries", "300"] if args.quick else []),
            _gallery_speed,
        ),
    ]
    # The later benchmarks: each exposes main(argv) -> record and accepts the common arguments; optional
    # QUICK_ARGUMENTS (extra arguments for --quick) and summary_line(record) -> str.
    # (fusion_calibration is not here: it rewrites matcher/calibration.json, so it is run on purpose.)
    for name in (
        "finger_accuracy",
        "finger_gate",
        "finger_index",
        "fusion",
        "gallery_rebuild",
        "enrolment_throughput",
        "idp_throughput",
        "cli_startup",
    ):
        if importlib.util.find_spec(f"benchmarks.{name}") is None:
            continue
        module = importlib.import_module(f"benchmarks.{name}")
        quick = list(getattr(module, "QUICK_ARGUMENTS", ["--quick"])) if args.quick else []
        steps.append((name, common + quick, getattr(module, "summary_line", _generic)))
    return [step for step in steps if step[0] not in args.skip]


def main(argv: list[str] | None = None) -> list[tuple[str, str, str]]:
    """Run the plan; a failing benchmark is reported in the summary and the others still run."""
    parser = argparse.ArgumentParser(description="Run all civid benchmarks.")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a check in a few minutes")
    parser.add_argument("--data", type=Path, default=None, help="benchmark data folder")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--no-save", action="store_true", help="do not append to benchmarks/results/")
    parser.add_argument(
        "--skip",
        type=lambda text: text.split(","),
        default=[],
        help="comma-separated benchmarks to leave out (e.g. gallery_speed)",
    )
    args = parser.parse_args(argv)
    print_machine(machine())
    summary, failed = [], False
    for name, arguments, summarise in plan(args):
        console.rule(f"[bold]{name}")
        started = time.perf_counter()
        try:
            record = importlib.import_module(f"benchmarks.{name}").main(arguments)
            line = summarise(record)
        except SystemExit as stop:  # e.g. exit code 2: the data folder is missing
            line, failed = f"stopped (exit code {stop.code})", True
        except Exception as error:  # noqa: BLE001 - one broken benchmark must not hide the others
            err_console.print_exception()
            line, failed = f"failed: {type(error).__name__}: {error}", True
        summary.append((name, f"{time.perf_counter() - started:,.0f} s", line))
    console.rule("[bold]summary")
    console.print(
        table("civid benchmarks" + (" (quick)" if args.quick else ""), ["benchmark", "time", "result"], summary)
    )
    if failed:
        raise SystemExit(1)
    return summary


if __name__ == "__main__":
    main()
