"""How long does ``civid --help`` (and a few ``civid … --help``) take to start? Target (issue #11): 0.5 s idle.

Each command runs N times as a fresh ``python -m server …`` process (what the ``civid`` entry point does:
import ``server.cli``, build the typer app, print help), with this checkout on PYTHONPATH. The runs are
interleaved round-robin across the commands after one warm-up each, so a burst of load on a shared machine
hits every command alike. ``python -c pass`` is timed the same way as the machine-noise reference: the
ratio column says how many bare interpreter starts one command costs, which compares across machines and
load better than milliseconds do.

    python -m benchmarks.cli_startup [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks.common import (
    REPO_ROOT,
    add_common_arguments,
    console,
    machine,
    print_machine,
    progress,
    save_result,
    table,
)

NAME = "cli_startup"
QUICK_ARGUMENTS = ["--runs", "5"]
TARGET_S = 0.5
REFERENCE = "python -c pass"
COMMANDS: dict[str, list[str]] = {
    REFERENCE: ["-c", "pass"],
    "civid --help": ["-m", "server", "--help"],
    "civid enrol --help": ["-m", "server", "enrol", "--help"],
    "civid keys --help": ["-m", "server", "keys", "--help"],
    "civid clients add --help": ["-m", "server", "clients", "add", "--help"],
    "civid staff list --help": ["-m", "server", "staff", "list", "--help"],
}


def _time_once(arguments: list[str], env: dict[str, str]) -> float:
    """Wall-clock seconds of one fresh interpreter running ``arguments``; a failing command stops the run."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *arguments],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=120,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return elapsed


def run(args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "COLUMNS": "100"}
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for arguments in COMMANDS.values():  # warm-up: byte-code compiled, files in the page cache
        _time_once(arguments, env)
    with progress() as bar:
        task = bar.add_task(f"{len(COMMANDS)} commands x {args.runs} runs", total=len(COMMANDS) * args.runs)
        for _ in range(args.runs):
            for name, arguments in COMMANDS.items():
                samples[name].append(_time_once(arguments, env))
                bar.advance(task)
    reference_ms = float(np.median(samples[REFERENCE])) * 1000
    rows = []
    for name, seconds in samples.items():
        median_ms = float(np.median(seconds)) * 1000
        rows.append(
            {
                "command": name,
                "runs": len(seconds),
                "median_ms": round(median_ms, 1),
                "p95_ms": round(float(np.percentile(seconds, 95)) * 1000, 1),
                "min_ms": round(min(seconds) * 1000, 1),
                "ratio_to_bare_python": round(median_ms / reference_ms, 1),
            }
        )
    help_row = next(r for r in rows if r["command"] == "civid --help")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    console.print(
        table(
            f"CLI start-up, {args.runs} fresh processes each (load average {load:.2f})",
            ["command", "median ms", "p95 ms", "min ms", "x bare python"],
            [[r["command"], r["median_ms"], r["p95_ms"], r["min_ms"], r["ratio_to_bare_python"]] for r in rows],
        )
    )
    verdict = "meets" if help_row["median_ms"] <= TARGET_S * 1000 else "misses"
    console.print(
        f"civid --help median {help_row['median_ms']:.0f} ms {verdict} the {TARGET_S * 1000:.0f} ms target "
        f"(load average {load:.2f}; the target is for an idle machine)"
    )
    record = {
        "rows": rows,
        "load_average_1min": round(load, 2),
        "target": f"civid --help <= {TARGET_S} s idle",
        "arguments": {"runs": args.runs},
    }
    return save_result(NAME, record, save=not args.no_save)


def summary_line(record: dict[str, Any]) -> str:
    """One line for benchmarks/run.py."""
    row = next(r for r in record["rows"] if r["command"] == "civid --help")
    return (
        f"civid --help median {row['median_ms']:.0f} ms, p95 {row['p95_ms']:.0f} ms "
        f"({row['ratio_to_bare_python']}x a bare python start); target {TARGET_S * 1000:.0f} ms idle"
    )


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(result)  # --data and --seed are accepted (benchmarks.run passes them) and unused
    result.add_argument("--runs", type=int, default=20, help="timed fresh processes per command")
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parser().parse_args(argv)
    print_machine(machine())
    return run(args)


if __name__ == "__main__":
    main()
