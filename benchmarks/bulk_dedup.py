"""Bulk deduplication of a register (``civid abis dedup-bulk``): time, pairs/s and recall of planted duplicates.

Question: how long does the all-vs-all face search of a 100k and a 1M register take on this machine, exact
against approximate (IVF), and does the approximate one still find the people registered twice? Target
(issue 14): 1M faces in at most 30 minutes. Method:
- register: ``n`` synthetic face templates, of which a fraction (``--planted``, 1%) are a second registration
  of an earlier person (a fresh photo of the same identity): the planted pairs, the truth;
- the array core (``matcher.bulk_pairs``, what the command runs after decrypting the templates): build the index
  (exact ``IndexFlatIP``, or IVF with nlist ≈ 2·sqrt(n)), then every face's k nearest neighbours in batches,
  pairs at or above the dedup threshold kept once each and re-ranked exactly; timed end to end;
- recall: planted pairs found / planted pairs whose exact cosine reaches the threshold ("reachable": what an
  exact all-vs-all could find at that threshold); pairs/s = candidate pairs re-ranked per second; faces/s =
  queries per second;
- the database path (the command's own function, ``enrollment.dedup_bulk``: decrypt, search, fingers none,
  fuse, store pairs and cases, per-batch commits) at ``--db-size`` on SQLite, to show its overhead per face.
Complexity: exact all-vs-all is O(n²·d); IVF visits nprobe of ~2·sqrt(n) lists per query, O(n^1.5·nprobe·d/2).
Sizes not run are extrapolated from the largest measured IVF size with that exponent (stated as such).

Faces: ``matched-cone`` (default) draws descriptors from a two-level Gaussian whose scales are set from the LFW
fit's recorded statistics (benchmarks/results/synthetic_faces.latest.json: genuine mean 0.953, impostor mean
0.834, between/within effective dimensions 23/61), for machines without the LFW descriptor cache; ``lfw-fit``
uses ``benchmarks.synthetic_faces`` (fitted on LFW; computing its cache takes tens of minutes). The output
names which was used and prints the genuine/impostor means it achieved.

    nice python -m benchmarks.bulk_dedup --sizes 10000,100000,1000000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from numpy.typing import NDArray

from benchmarks.common import (
    RESULTS_DIR,
    add_common_arguments,
    console,
    data_dir,
    err_console,
    machine,
    print_machine,
    progress,
    rss_mib,
    save_result,
    table,
)

NAME = "bulk_dedup"
DIM = 128
TARGET_1M_S = 30 * 60
# Recorded by benchmarks/synthetic_faces.py on LFW (A-L): what the matched cone reproduces.
REAL = {"genuine_mean": 0.9526, "impostor_mean": 0.8337, "between_dims": 23.0, "within_dims": 60.8}


@dataclass(frozen=True)
class Register:
    """n templates (one per owner), the last ``planted`` of them second registrations of owners 0..planted-1."""

    vectors: NDArray[np.float32]
    planted: int

    @property
    def pairs(self) -> set[tuple[int, int]]:
        n = len(self.vectors)
        return {(i, n - self.planted + i) for i in range(self.planted)}


class MatchedCone:
    """A two-level Gaussian around one direction: identity centres (between-identity spread) plus photo noise
    (within), each with a spectrum of the given effective dimension; scales from the recorded LFW means."""

    def __init__(self, rng: np.random.Generator) -> None:
        # For unit-mean descriptors with spreads B, W orthogonal to it: impostor ≈ 1/(1+B+W), genuine ≈ (1+B)/(1+B+W).
        total = 1 / REAL["impostor_mean"] - 1
        self.between = REAL["genuine_mean"] * (1 + total) - 1
        self.within = total - self.between
        basis, _ = np.linalg.qr(rng.standard_normal((DIM, DIM)))
        self.mean = basis[:, 0]
        self.between_factor = basis[:, 1:] * np.sqrt(_spectrum(REAL["between_dims"], self.between))
        self.within_factor = basis[:, 1:] * np.sqrt(_spectrum(REAL["within_dims"], self.within))

    def identities(self, count: int, rng: np.random.Generator) -> NDArray[np.float32]:
        return (self.mean + rng.standard_normal((count, DIM - 1)) @ self.between_factor.T).astype(np.float32)

    def photos(self, centres: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.float32]:
        out = np.empty_like(centres)
        for start in range(0, len(centres), 100_000):
            block = centres[start : start + 100_000]
            noisy = block + rng.standard_normal((len(block), DIM - 1)) @ self.within_factor.T
            out[start : start + len(block)] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
        return out


def _spectrum(effective_dims: float, total: float) -> NDArray[np.float64]:
    """DIM-1 decaying eigenvalues summing to ``total`` whose participation ratio is ``effective_dims``."""
    low, high = 0.01, 10.0
    for _ in range(60):  # bisect the decay rate on the participation ratio (sum)²/sum(²)
        rate = (low + high) / 2
        values = np.exp(-rate * np.arange(DIM - 1))
        ratio = values.sum() ** 2 / (values**2).sum()
        low, high = (low, rate) if ratio < effective_dims else (rate, high)
    return values * total / values.sum()


def make_register(generator: Any, size: int, planted_fraction: float, rng: np.random.Generator) -> Register:
    planted = int(round(size * planted_fraction))
    centres = generator.identities(size - planted, rng)
    first = generator.photos(centres, rng)
    again = generator.photos(centres[:planted], rng)
    return Register(np.ascontiguousarray(np.vstack([first, again]), dtype=np.float32), planted)


def run_core(register: Register, exact_max: int, nprobe: int, args: argparse.Namespace) -> dict[str, Any]:
    """The array core end to end on one register; timings, pairs and recall."""
    from matcher.bulk_pairs import ScanOptions, build_index, scan

    n = len(register.vectors)
    options = ScanOptions(
        neighbours=args.neighbours, exact_max=exact_max, nprobe=nprobe, batch_size=args.batch, min_score=args.threshold
    )
    ids = np.arange(1, n + 1, dtype=np.int64)
    owners = np.arange(n, dtype=np.int64)
    started, cpu_started = time.perf_counter(), time.process_time()
    index = build_index(register.vectors, options)
    built = time.perf_counter()
    found: set[tuple[int, int]] = set()
    pairs = 0
    with progress() as bar:
        task = bar.add_task(f"{'exact' if n <= exact_max else f'IVF nprobe {nprobe}'} n={n:,}", total=n)
        for batch in scan(index, ids, owners, register.vectors, np.arange(n), options):
            pairs += len(batch)
            found.update(zip(batch.first.tolist(), batch.second.tolist()))
            bar.advance(task, batch.queried)
    finished, cpu_s = time.perf_counter(), time.process_time() - cpu_started
    truth = register.pairs
    planted_scores = np.einsum(
        "ij,ij->i", register.vectors[: register.planted], register.vectors[n - register.planted :]
    )
    reachable = {pair for pair, score in zip(sorted(truth), planted_scores) if score >= args.threshold}
    total_s = finished - started
    return {
        "size": n,
        "index": "flat" if n <= exact_max else "ivf",
        "nlist": int(getattr(index, "nlist", 0)),
        "nprobe": nprobe if n > exact_max else None,
        "build_s": round(built - started, 2),
        "search_s": round(finished - built, 2),
        "total_s": round(total_s, 2),
        # CPU seconds of every thread: on a shared machine the wall time says more about the neighbours.
        "cpu_s": round(cpu_s, 2),
        "faces_per_s": round(n / total_s, 1),
        "candidate_pairs": pairs,
        "pairs_per_s": round(pairs / total_s, 1),
        "planted": len(truth),
        "planted_reachable": len(reachable),
        "planted_found": len(found & truth),
        "recall_of_reachable": round(len(found & reachable) / max(1, len(reachable)), 4),
        "rss_mib": round(rss_mib()),
    }


def run_database(generator: Any, size: int, args: argparse.Namespace) -> dict[str, Any]:
    """The command's own function over a SQLite register of ``size`` synthetic people (sealed templates)."""
    from benchmarks.common import bench_services, bench_settings
    from benchmarks.database_fill import fill
    from civid.audit import Actor
    from enrollment import dedup_bulk
    from matcher.bulk_pairs import ScanOptions

    rng = np.random.default_rng(args.seed + 1)
    register = make_register(generator, size, args.planted, rng)
    with tempfile.TemporaryDirectory() as folder:
        services = bench_services(bench_settings(Path(folder)))
        try:
            fill(services, register.vectors)
            actor = Actor(None, "benchmark", "admin")
            options = dedup_bulk.BulkOptions(
                ScanOptions(neighbours=args.neighbours, batch_size=1000, min_score=args.threshold),
                services.settings.dedup_llr_threshold,
            )
            started = time.perf_counter()
            run_id = dedup_bulk.start_run(services, actor, options)
            run = dedup_bulk.execute(services, actor, run_id)
            total_s = time.perf_counter() - started
            with services.sessions() as session:
                from enrollment.dedup_bulk_report import pair_lines

                lines = pair_lines(session, dedup_bulk.load_run(session, run_id))
            enrolment_of = {i: i + 1 for i in range(size)}  # database_fill numbers enrolments 1..n in row order
            truth = {(enrolment_of[a], enrolment_of[b]) for a, b in register.pairs}
            with services.sessions() as session:
                from sqlalchemy import select

                from models import BulkDedupPair

                stored = {
                    (a, b)
                    for a, b in session.execute(
                        select(BulkDedupPair.first_enrolment_id, BulkDedupPair.second_enrolment_id)
                    )
                }
        finally:
            services.close()
    return {
        "size": size,
        "total_s": round(total_s, 2),
        "faces_per_s": round(size / total_s, 1),
        "candidate_pairs": run.pairs_found,
        "cases_opened": run.cases_opened,
        "planted": len(truth),
        "planted_found": len(stored & truth),
        "report_lines": len(lines),
    }


def extrapolate(measured: list[dict[str, Any]], size: int, key: str) -> dict[int, float]:
    """``key`` (total_s or cpu_s) at ``size`` per nprobe, from the largest IVF measurement with that nprobe, by the
    n^1.5 law of IVF all-vs-all at fixed nprobe."""
    estimates = {}
    for nprobe in sorted({m["nprobe"] for m in measured if m["index"] == "ivf"}):
        largest = max((m for m in measured if m["nprobe"] == nprobe), key=lambda m: m["size"])
        estimates[nprobe] = float(largest[key]) * (size / largest["size"]) ** 1.5
    return estimates


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for label in sorted({_label(r) for r in results}):
        points = sorted((r["size"], r["total_s"]) for r in results if _label(r) == label)
        axis.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    axis.axhline(TARGET_1M_S, color="grey", linestyle="--", label="target: 1M in 30 min")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("register size (face templates)")
    axis.set_ylabel("bulk dedup time (s)")
    axis.set_title("civid abis dedup-bulk: all-vs-all time (array core)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _same_commit(commit: str, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """This run's results and those of earlier runs of the same commit (sizes run as separate commands), the
    newest measurement of each (size, index, nprobe)."""
    history = json.loads((RESULTS_DIR / f"{NAME}.json").read_text())
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in [r for r in history if r.get("commit") == commit]:
        for result in record.get("core", []):
            merged[(result["size"], result["index"], result["nprobe"])] = result
    for result in results:
        merged[(result["size"], result["index"], result["nprobe"])] = result
    return list(merged.values())


def _label(result: dict[str, Any]) -> str:
    return "exact (flat)" if result["index"] == "flat" else f"IVF nprobe {result['nprobe']}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="register sizes, comma-separated")
    parser.add_argument("--nprobe", default="16,64", help="IVF lists visited per query, comma-separated")
    parser.add_argument("--exact-up-to", type=int, default=100_000, help="also run exact search up to this size")
    parser.add_argument("--neighbours", type=int, default=10, help="k nearest faces per face")
    parser.add_argument("--batch", type=int, default=20_000, help="queries per batch")
    parser.add_argument("--threshold", type=float, default=0.9251, help="cosine floor of a candidate pair")
    parser.add_argument("--planted", type=float, default=0.01, help="fraction of the register registered twice")
    parser.add_argument("--db-size", type=int, default=5000, help="size of the database-path run (0: skip)")
    parser.add_argument("--faces", choices=("matched-cone", "lfw-fit"), default="matched-cone")
    args = parser.parse_args(argv)
    info = machine()
    print_machine(info)
    rng = np.random.default_rng(args.seed)
    if args.faces == "lfw-fit":
        from benchmarks.synthetic_faces import SyntheticFaces

        generator: Any = SyntheticFaces.load_or_fit(data_dir(args.data))
    else:
        generator = MatchedCone(rng)
    sizes = [int(s) for s in args.sizes.split(",")]
    probes = [int(p) for p in args.nprobe.split(",")]
    check = make_register(generator, 20_000, 0.05, np.random.default_rng(args.seed + 2))
    genuine = float(np.mean(np.einsum("ij,ij->i", check.vectors[:1000], check.vectors[-1000:])))
    impostor = float(np.mean(np.einsum("ij,ij->i", check.vectors[:5000], check.vectors[5000:10000])))
    err_console.print(f"[dim]faces: {args.faces}; genuine mean {genuine:.4f}, impostor mean {impostor:.4f}[/]")
    results = []
    for size in sizes:
        register = make_register(generator, size, args.planted, rng)
        if size <= args.exact_up_to:
            results.append(run_core(register, exact_max=size, nprobe=0, args=args))
        for nprobe in probes:
            results.append(run_core(register, exact_max=0, nprobe=nprobe, args=args))
        del register
    database = run_database(generator, args.db_size, args) if args.db_size else None
    columns = ("size", "index", "nprobe", "build s", "search s", "total s", "CPU s", "faces/s", "pairs", "pairs/s")
    console.print(
        table(
            f"Bulk dedup, array core (all faces against all, k={args.neighbours})",
            (*columns, "planted found / reachable / planted", "recall", "RSS MiB"),
            [
                (
                    f"{r['size']:,}",
                    r["index"],
                    r["nprobe"] or "—",
                    r["build_s"],
                    r["search_s"],
                    r["total_s"],
                    r["cpu_s"],
                    r["faces_per_s"],
                    r["candidate_pairs"],
                    r["pairs_per_s"],
                    f"{r['planted_found']} / {r['planted_reachable']} / {r['planted']}",
                    r["recall_of_reachable"],
                    r["rss_mib"],
                )
                for r in results
            ],
        )
    )
    estimates: dict[str, Any] = {}
    if not any(r["size"] >= 1_000_000 for r in results):
        wall, cpu = extrapolate(results, 1_000_000, "total_s"), extrapolate(results, 1_000_000, "cpu_s")
        for nprobe in wall:
            estimates[f"nprobe_{nprobe}"] = {"wall_s": round(wall[nprobe], 1), "cpu_s": round(cpu[nprobe], 1)}
            console.print(
                f"1M faces, IVF nprobe {nprobe}, extrapolated by n^1.5 from the largest run: wall "
                f"{wall[nprobe] / 60:.1f} min here, {cpu[nprobe] / 60:.1f} CPU-min (÷ cores on an idle machine)"
            )
    if database:
        console.print(
            table(
                "Bulk dedup through the database (enrollment.dedup_bulk, SQLite)",
                ("size", "total s", "faces/s", "pairs", "cases", "planted found / planted"),
                [
                    (
                        f"{database['size']:,}",
                        database["total_s"],
                        database["faces_per_s"],
                        database["candidate_pairs"],
                        database["cases_opened"],
                        f"{database['planted_found']} / {database['planted']}",
                    )
                ],
            )
        )
    record = {
        "arguments": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "faces": {"generator": args.faces, "genuine_mean": round(genuine, 4), "impostor_mean": round(impostor, 4)},
        "core": results,
        "database": database,
        "estimates": estimates,
        "target_1m_s": TARGET_1M_S,
    }
    saved = save_result(NAME, record, save=not args.no_save)
    if not args.no_save:
        plot(_same_commit(saved["commit"], results), RESULTS_DIR / f"{NAME}.png")
        err_console.print(f"[dim]plot written to benchmarks/results/{NAME}.png[/]")
    else:
        console.print_json(json.dumps(record))


if __name__ == "__main__":
    main()
