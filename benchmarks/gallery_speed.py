"""1:N search speed and recall of civid's FAISS gallery, exact (flat) against approximate (IVF).

Question: up to which gallery size is exact search fast enough, and which IVF ``nprobe`` keeps recall
>= 0.995 against exact at 1M templates with p50 <= 10 ms per identify? Method:
- gallery: synthetic identities that mimic dlib descriptors (``benchmarks.synthetic_faces``), one
  photo each; sizes nest (the 10k gallery is the first 10k of the 1M one);
- queries: fresh photos of 1,000 enrolled identities chosen at random (mated searches);
- exact: ``FaissGallery(exact_max=huge)`` (IndexFlatIP); approximate: ``FaissGallery(exact_max=0)``
  (IndexIVFFlat, nlist from ``ivf_list_count``), one trained index measured at several nprobe values;
- latency: one query at a time through ``FaissGallery.search`` (k=10), p50/p95 in ms; throughput: all
  queries in one batched call; build time: ``rebuild`` from in-memory batches of 100k (the in-memory
  part of a rebuild from the database); memory: process RSS after the build;
- recall@10: share of exact top-10 ids found in the approximate top-10; recall@1: approximate top-1 =
  exact top-1; mate@1: the query's own identity ranked first.
FAISS runs with its default OpenMP threads (one per core).

    python -m benchmarks.gallery_speed --sizes 10000,100000,1000000
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from numpy.typing import NDArray

from benchmarks.common import (
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
from benchmarks.synthetic_faces import SyntheticFaces

NAME = "gallery_speed"
BATCH = 100_000
NEVER_IVF = 10**12


def batches(vectors: NDArray[np.float32], size: int) -> Iterator[tuple[NDArray[np.int64], NDArray[np.float32]]]:
    """(ids, vectors) of the first ``size`` gallery entries in batches, as a database rebuild would stream them."""
    for start in range(0, size, BATCH):
        stop = min(size, start + BATCH)
        yield np.arange(start, stop, dtype=np.int64), vectors[start:stop]


def measure(gallery: Any, queries: NDArray[np.float32], k: int, bar: Any, task: Any) -> dict[str, Any]:
    """Single-query latencies, batched throughput and the batched result ids, shape (q, k)."""
    latencies = np.empty(len(queries))
    for position in range(len(queries)):
        started = time.perf_counter()
        gallery.search(queries[position : position + 1], k)
        latencies[position] = time.perf_counter() - started
        bar.advance(task)
    started = time.perf_counter()
    hits = gallery.search(queries, k)
    batch_seconds = time.perf_counter() - started
    ids = np.full((len(queries), k), -1, np.int64)
    for row, row_hits in enumerate(hits):
        ids[row, : len(row_hits)] = [hit.template_id for hit in row_hits]
    return {
        "p50_ms": float(np.percentile(latencies, 50) * 1e3),
        "p95_ms": float(np.percentile(latencies, 95) * 1e3),
        "batch_qps": float(len(queries) / batch_seconds),
        "ids": ids,
    }


def build(gallery: Any, vectors: NDArray[np.float32], size: int) -> dict[str, float]:
    """Rebuild ``gallery`` with the first ``size`` vectors; seconds and RSS (MiB) before and after."""
    gc.collect()
    before = rss_mib()
    started = time.perf_counter()
    gallery.rebuild(batches(vectors, size), total=size)
    return {"build_s": time.perf_counter() - started, "rss_mib": rss_mib(), "rss_delta_mib": rss_mib() - before}


def run_size(
    size: int,
    gallery_vectors: NDArray[np.float32],
    queries: NDArray[np.float32],
    query_ids: NDArray[np.int64],
    args: argparse.Namespace,
    bar: Any,
) -> list[dict[str, Any]]:
    """Exact then IVF at every nprobe for one gallery size: one result row each."""
    from matcher.gallery import FaissGallery, ivf_list_count

    rows = []
    exact = FaissGallery(exact_max=NEVER_IVF)
    built = build(exact, gallery_vectors, size)
    task = bar.add_task(f"{size:>9,} flat", total=len(queries))
    result = measure(exact, queries, args.k, bar, task)
    truth = result.pop("ids")
    rows.append(
        {
            "size": size,
            "index": exact.kind,
            "nprobe": None,
            "nlist": None,
            **built,
            **result,
            "recall_at_10": 1.0,
            "recall_at_1": 1.0,
            "mate_at_1": float((truth[:, 0] == query_ids).mean()),
        }
    )
    del exact
    approximate = FaissGallery(exact_max=0, nprobe=args.nprobe[0])
    built = build(approximate, gallery_vectors, size)
    nlist = int(approximate._index.nlist)
    # 0 (FAISS default): threads split a batch by query, so one query runs on one core; 1: one query's
    # inverted lists are split across threads. FaissGallery uses 1; --parallel-mode 0 compares.
    approximate._index.parallel_mode = args.parallel_mode
    for position, nprobe in enumerate(args.nprobe):
        approximate.set_nprobe(nprobe)
        task = bar.add_task(f"{size:>9,} ivf nprobe={nprobe}", total=len(queries))
        result = measure(approximate, queries, args.k, bar, task)
        found = result.pop("ids")
        recall_10 = np.mean([len(np.intersect1d(a, t)) / args.k for a, t in zip(found, truth)])
        rows.append(
            {
                "size": size,
                "index": approximate.kind,
                "nprobe": nprobe,
                "nlist": nlist,
                # the build is shared by every nprobe: report it once
                **(built if position == 0 else {"build_s": None, "rss_mib": None, "rss_delta_mib": None}),
                **result,
                "recall_at_10": float(recall_10),
                "recall_at_1": float((found[:, 0] == truth[:, 0]).mean()),
                "mate_at_1": float((found[:, 0] == query_ids).mean()),
                "ivf_list_count": ivf_list_count(size),
            }
        )
    del approximate
    gc.collect()
    return rows


def recommend(rows: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """nprobe: smallest meeting the recall target at the largest size; exact_max: where flat p50 hits the budget."""
    largest = max(r["size"] for r in rows)
    meeting = [
        r
        for r in rows
        if r["size"] == largest
        and r["index"] == "ivf"
        and r["recall_at_10"] >= args.target_recall
        and r["recall_at_1"] >= args.target_recall
    ]
    nprobe = min((r["nprobe"] for r in meeting), default=None)
    chosen = next((r for r in meeting if r["nprobe"] == nprobe), None)
    flat = sorted((r["size"], r["p50_ms"]) for r in rows if r["index"] == "flat")
    # Flat search cost is linear in the gallery size: fit p50 = a + b·size and solve for the budget.
    if len(flat) >= 2:
        slope, intercept = np.polyfit([s for s, _ in flat], [p for _, p in flat], 1)
        crossover = (args.target_ms - intercept) / slope if slope > 0 else float("inf")
    else:
        crossover = flat[0][0] * args.target_ms / flat[0][1]
    exact_max = _round_down_125(crossover)
    return {
        "nprobe": nprobe,
        "nprobe_p50_ms_at_largest": chosen["p50_ms"] if chosen else None,
        "nprobe_recall_at_10": chosen["recall_at_10"] if chosen else None,
        "largest_size": largest,
        "flat_p50_budget_ms": args.target_ms,
        "flat_crossover_size": float(crossover),
        "exact_max": exact_max,
        "target_recall": args.target_recall,
    }


def _round_down_125(value: float) -> int:
    """Round down to 1, 2 or 5 times a power of ten (a readable setting)."""
    if not math.isfinite(value) or value <= 0:
        return 0
    power = 10 ** math.floor(math.log10(value))
    return int(max(step * power for step in (1, 2, 5) if step * power <= value))


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Generate the gallery, measure every size, print the tables, save the record."""
    import faiss

    info = machine()
    print_machine(info)
    model = SyntheticFaces.load_or_fit(data_dir(args.data))  # the fit is seeded on its own (seed 0)
    rng = np.random.default_rng(args.seed)
    largest = max(args.sizes)
    err_console.print(f"[dim]generating {largest:,} synthetic identities…[/]")
    centres = model.identities(largest, rng)
    gallery_vectors = model.photos(centres, rng)
    probes = {}
    for size in args.sizes:
        query_ids = np.sort(rng.choice(size, size=min(args.queries, size), replace=False)).astype(np.int64)
        probes[size] = (model.photos(centres[query_ids], rng), query_ids)
    del centres
    rows: list[dict[str, Any]] = []
    with progress() as bar:
        for size in sorted(args.sizes):
            rows += run_size(size, gallery_vectors, *probes[size], args, bar)
    advice = recommend(rows, args)

    def show(value: float | None, pattern: str) -> str:
        return "" if value is None else format(value, pattern)

    console.print(
        table(
            f"1:N search, {args.queries:,} mated queries, k={args.k}, faiss threads {faiss.omp_get_max_threads()}, "
            f"IVF parallel_mode {args.parallel_mode}",
            [
                "gallery",
                "index",
                "nlist",
                "nprobe",
                "build s",
                "RSS MiB (Δ)",
                "p50 ms",
                "p95 ms",
                "batch q/s",
                "recall@10",
                "recall@1",
                "mate@1",
            ],
            [
                (
                    f"{r['size']:,}",
                    r["index"],
                    r["nlist"] or "",
                    r["nprobe"] or "",
                    show(r["build_s"], ".2f"),
                    "" if r["rss_mib"] is None else f"{r['rss_mib']:,.0f} ({r['rss_delta_mib']:+,.0f})",
                    f"{r['p50_ms']:.3f}",
                    f"{r['p95_ms']:.3f}",
                    f"{r['batch_qps']:,.0f}",
                    f"{r['recall_at_10']:.4f}",
                    f"{r['recall_at_1']:.4f}",
                    f"{r['mate_at_1']:.4f}",
                )
                for r in rows
            ],
        )
    )
    if advice["nprobe"] is None:
        nprobe_note = "no measured nprobe reaches it"
    else:
        latency = advice["nprobe_p50_ms_at_largest"]
        nprobe_note = (
            f"p50 {latency:.2f} ms: {'meets' if latency <= args.target_ms else 'MISSES'} "
            f"the {args.target_ms:g} ms target"
        )
    console.print(
        table(
            "Recommendation",
            ["setting", "value", "why"],
            [
                (
                    "nprobe",
                    advice["nprobe"] if advice["nprobe"] is not None else "none measured",
                    f"smallest with recall@10 and recall@1 >= {args.target_recall} at {advice['largest_size']:,}; "
                    + nprobe_note,
                ),
                (
                    "exact_max",
                    f"{advice['exact_max']:,}",
                    f"flat p50 reaches {args.target_ms} ms near "
                    f"{advice['flat_crossover_size']:,.0f} templates (linear fit)",
                ),
            ],
        )
    )
    record = {
        "arguments": {
            "sizes": args.sizes,
            "queries": args.queries,
            "nprobe": args.nprobe,
            "k": args.k,
            "parallel_mode": args.parallel_mode,
            "seed": args.seed,
            "target_ms": args.target_ms,
            "target_recall": args.target_recall,
        },
        "faiss_threads": faiss.omp_get_max_threads(),
        "rows": rows,
        "recommendation": advice,
    }
    return save_result(NAME, record, save=not args.no_save)


def _int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    result = argparse.ArgumentParser(description="1:N gallery search latency, throughput and recall.")
    add_common_arguments(result)
    result.add_argument(
        "--sizes", type=_int_list, default=[10_000, 100_000, 1_000_000], help="gallery sizes, comma-separated"
    )
    result.add_argument("--queries", type=int, default=1000, help="mated queries per size")
    result.add_argument(
        "--nprobe",
        type=_int_list,
        default=[16, 32, 64, 128, 256, 512, 1024],
        help="IVF nprobe values to measure (values above nlist act as nlist)",
    )
    result.add_argument("--k", type=int, default=10, help="candidates per search")
    result.add_argument(
        "--parallel-mode",
        type=int,
        default=1,
        help="FAISS IVF parallel_mode (0: default, by query; 1: one query's lists across threads)",
    )
    result.add_argument("--target-ms", type=float, default=10.0, help="p50 latency budget per identify")
    result.add_argument("--target-recall", type=float, default=0.995, help="recall needed against exact search")
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Entry point: parse ``argv`` and run."""
    return run(parser().parse_args(argv))


if __name__ == "__main__":
    main()
