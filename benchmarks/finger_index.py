"""Indexed 1:N fingerprint search (MCC cylinders in FAISS, votes per finger) and the MCC 1:1 matcher.

Questions: (a) how much of the gallery must the index hand to the 1:1 matcher (penetration) for the
mate to be among it (pre-selection error), and how accurate and fast is ``mcc.similarity`` 1:1;
(b) how fast is one identify, and how much memory, at 10k, 100k and 1M fingers.

(a) Real fingers: the four FVC2002 "B" databases of SecuGen ISO/IEC 19794-2 records (10 fingers x 8
impressions each), read with ``matcher.iso19794.decode`` / ``minutiae_array``.
- Pre-selection: gallery = impression 1 of each of the 40 fingers plus ``--pad`` synthetic fingers
  (distractors, below); probes = impressions 2-8 of the 40 fingers (280 searches). For each probe the
  index ranks every finger that got a vote; the pre-selection error at penetration p is the share of
  probes whose mate is not within the top ceil(p x gallery size) (a mate with no votes is a miss at any
  p). Also: rank-1 identification after the top ``--rerank`` candidates are re-scored by
  ``mcc.similarity`` on the matching cylinders.
- 1:1 (FVC protocol, per database): genuine = every pair of impressions of a finger (28 x 10 = 280);
  impostor "FVC" = impression 1 vs impression 1 of every other finger (45; EER only); impostor "all" =
  every cross-finger pair (2,880; EER, FNMR at FMR 1e-2 and 1e-3). Comparisons/s on precomputed
  cylinders, single process.
(b) Synthetic galleries: ``synthetic_minutiae`` draws ~40 minutiae per finger (count ~ N(38, 9)) on a
  150-250 x 220-340 px print (as dense as the SecuGen records: ~20 set bits per indexing cylinder), 10 px
  apart at least, directions following a loop, whorl or arch flow field with noise and a random
  end/bifurcation flip. Finger i is drawn from seed (seed, i), so the 10k gallery is the first 10k
  fingers of the 100k one; indexing cylinders are cached in benchmarks/cache/. Generating them costs
  ~3 ms per finger, so galleries above ``--distinct`` repeat the distinct fingers under new ids: such a
  row measures latency and memory only (its error figures are not meaningful).
  Probes: a fresh impression (rotated <= 0.35 rad, shifted <= 30 px, 3 px / 0.1 rad jitter, 20% of
  minutiae lost, 15% spurious added) of ``--queries`` enrolled fingers. Per query: build its cylinders,
  ``FingerIndex.search`` (the index part), then ``mcc.similarity`` against the ``--shortlist`` candidates
  (matching cylinders precomputed, as a service would cache them): identify = search + re-rank.
  Memory: process RSS after the build, and its growth. FAISS uses its default OpenMP threads.

    python -m benchmarks.finger_index                        # FVC + 10k, 100k, 1M
    python -m benchmarks.finger_index --skip-fvc --sizes 1000000 --distinct 100000 --kinds ivf
    python -m benchmarks.finger_index --quick                # FVC with a 2k pad, 10k gallery
"""

from __future__ import annotations

import argparse
import gc
import itertools
import math
import multiprocessing
import os
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
    CACHE_DIR,
    DataMissing,
    add_common_arguments,
    console,
    data_dir,
    machine,
    print_machine,
    progress,
    rss_mib,
    save_result,
    table,
)
from benchmarks.face_accuracy import (
    equal_error_rate,
    false_non_match_rate,
    threshold_at_rate,
)

NAME = "finger_index"
FVC_FOLDER = Path("fingerprints") / "fvc2002"
DATABASES = (1, 2, 3, 4)
FINGERS = tuple(range(101, 111))
IMPRESSIONS = tuple(range(1, 9))
PENETRATIONS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.10, 0.20)
FMR_TARGETS = (1e-2, 1e-3)
GENERATOR = "synthetic-fingers-v2"  # bump when synthetic_minutiae changes, to invalidate caches
CHUNK = 2000
REAL_ID_BASE = 10**12  # real FVC fingers get ids far above the synthetic ones


# --- synthetic fingers ----------------------------------------------------------------------------------
def synthetic_minutiae(rng: np.random.Generator) -> NDArray[np.float32]:
    """One synthetic finger: (N, 3) x, y, θ (ISO convention) with a ridge-flow-like direction field."""
    count = int(np.clip(rng.normal(38, 9), 12, 70))
    width, height = rng.uniform(150, 250), rng.uniform(220, 340)
    candidates = np.column_stack([rng.uniform(20, 20 + width, 4 * count), rng.uniform(20, 20 + height, 4 * count)])
    kept: list[NDArray[np.float64]] = []
    for point in candidates:
        if len(kept) == count:
            break
        if not kept or np.min(np.sum((np.array(kept) - point) ** 2, axis=1)) >= 100:
            kept.append(point)
    xy = np.array(kept)
    core = np.array([20 + width * rng.uniform(0.3, 0.7), 20 + height * rng.uniform(0.3, 0.6)])
    angle_to_core = np.arctan2(-(xy[:, 1] - core[1]), xy[:, 0] - core[0])
    pattern = rng.integers(0, 3)
    if pattern == 0:  # loop
        flow = 0.5 * angle_to_core
    elif pattern == 1:  # whorl
        flow = angle_to_core + math.pi / 2
    else:  # arch
        flow = 0.4 * np.sin((xy[:, 0] - core[0]) / 60.0)
    theta = flow + rng.normal(0, 0.3) + rng.normal(0, 0.15, len(xy)) + math.pi * rng.integers(0, 2, len(xy))
    return np.column_stack([xy, theta % (2 * math.pi)]).astype(np.float32)


def impression(minutiae: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.float32]:
    """Another impression of a finger: moved, jittered, 20% of minutiae lost, 15% spurious ones added."""
    kept = minutiae[rng.random(len(minutiae)) >= 0.2].astype(np.float64)
    if len(kept) == 0:
        return np.zeros((0, 3), np.float32)
    angle = rng.uniform(-0.35, 0.35)
    centre = kept[:, :2].mean(axis=0)
    cos, sin = math.cos(angle), math.sin(angle)
    dx, dy = kept[:, 0] - centre[0], kept[:, 1] - centre[1]
    x = centre[0] + cos * dx + sin * dy + rng.uniform(-30, 30) + rng.normal(0, 3, len(kept))
    y = centre[1] - sin * dx + cos * dy + rng.uniform(-30, 30) + rng.normal(0, 3, len(kept))
    theta = kept[:, 2] + angle + rng.normal(0, 0.1, len(kept))
    spurious = round(0.15 * len(minutiae))
    extra = np.column_stack(
        [
            rng.uniform(x.min(), x.max(), spurious),
            rng.uniform(y.min(), y.max(), spurious),
            rng.uniform(0, 2 * math.pi, spurious),
        ]
    )
    return np.vstack([np.column_stack([x, y, theta % (2 * math.pi)]), extra]).astype(np.float32)


def synthetic_finger(seed: int, number: int) -> NDArray[np.float32]:
    """Finger ``number`` of the synthetic population ``seed`` (reproducible one by one)."""
    return synthetic_minutiae(np.random.default_rng([seed, number]))


def _indexing_chunk(task: tuple[int, int, int]) -> tuple[NDArray[np.int16], NDArray[np.uint8]]:
    """Cylinder counts and stacked indexing-cylinder bits of fingers start..stop-1."""
    from matcher import mcc

    seed, start, stop = task
    sets = [mcc.cylinders(synthetic_finger(seed, n), mcc.INDEXING).bits for n in range(start, stop)]
    return np.array([len(s) for s in sets], np.int16), np.concatenate(sets)


def synthetic_gallery(size: int, seed: int, workers: int) -> tuple[NDArray[np.int16], NDArray[np.uint8]]:
    """(cylinder count per finger, all indexing cylinder bits) of the first ``size`` synthetic fingers, cached."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    for cached in sorted(CACHE_DIR.glob(f"{GENERATOR}-{seed}-*.npz"), key=lambda p: int(p.stem.rsplit("-", 1)[1])):
        if int(cached.stem.rsplit("-", 1)[1]) >= size:
            with np.load(cached) as stored:
                counts = stored["counts"][:size]
                return counts, stored["bits"][: int(counts.sum(dtype=np.int64))]
    tasks = [(seed, start, min(size, start + CHUNK)) for start in range(0, size, CHUNK)]
    counts_parts, bits_parts = [], []
    with progress() as bar, multiprocessing.get_context("fork").Pool(workers) as pool:
        task = bar.add_task(f"synthetic cylinders ({workers} workers)", total=size)
        for counts, bits in pool.imap(_indexing_chunk, tasks):
            counts_parts.append(counts)
            bits_parts.append(bits)
            bar.advance(task, len(counts))
    counts, bits = np.concatenate(counts_parts), np.concatenate(bits_parts)
    path = CACHE_DIR / f"{GENERATOR}-{seed}-{size}.npz"
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, counts=counts, bits=bits)
    os.replace(tmp, path)
    return counts, bits


def gallery_batches(counts: NDArray[np.int16], bits: NDArray[np.uint8], batch: int = 100_000) -> Iterator[tuple]:
    """(finger ids, indexing Cylinders) in batches, as a rebuild from the database would stream them."""
    from matcher import mcc

    ends = np.cumsum(counts, dtype=np.int64)
    starts = ends - counts
    for first in range(0, len(counts), batch):
        last = min(len(counts), first + batch)
        sets = [
            mcc.Cylinders(bits[a:b], np.zeros((b - a, 8), np.uint8), np.zeros((b - a, 3), np.float32), mcc.INDEXING)
            for a, b in zip(starts[first:last].tolist(), ends[first:last].tolist())
        ]
        yield np.arange(first, last, dtype=np.int64), sets


# --- real fingers -----------------------------------------------------------------------------------
def load_fvc(data: Path) -> dict[tuple[int, int, int], NDArray[np.float32]]:
    """Minutiae of every FVC2002 B record, keyed by (database, finger, impression)."""
    from matcher.iso19794 import decode, minutiae_array

    root = data / FVC_FOLDER
    if not root.is_dir():
        raise DataMissing(f"{root} not found (FVC2002 B databases).")
    result = {}
    for db, finger, shot in itertools.product(DATABASES, FINGERS, IMPRESSIONS):
        record = decode((root / f"DB{db}_B" / f"{finger}_{shot}.iso").read_bytes())
        result[db, finger, shot] = minutiae_array(record.views[0]) if record.views else np.zeros((0, 3), np.float32)
    return result


def verification(matching: dict, bar: Any) -> tuple[list[dict[str, Any]], float]:
    """FVC-protocol 1:1 figures per database, and comparisons per second over all of them."""
    from matcher import mcc

    rows, compared, seconds = [], 0, 0.0
    task = bar.add_task("1:1 MCC (FVC protocol)", total=len(DATABASES) * 3160)
    for db in DATABASES:
        keys = [(db, f, s) for f in FINGERS for s in IMPRESSIONS]
        genuine, impostor_all, impostor_fvc = [], [], []
        for a, b in itertools.combinations(keys, 2):
            started = time.perf_counter()
            score = mcc.similarity(matching[a], matching[b])
            seconds += time.perf_counter() - started
            compared += 1
            if a[1] == b[1]:
                genuine.append(score)
            else:
                impostor_all.append(score)
                if a[2] == 1 and b[2] == 1:
                    impostor_fvc.append(score)
            bar.advance(task)
        genuine_sorted, all_sorted, fvc_sorted = (
            np.sort(np.array(v, np.float32)) for v in (genuine, impostor_all, impostor_fvc)
        )
        eer_all, _ = equal_error_rate(genuine_sorted, all_sorted)
        eer_fvc, _ = equal_error_rate(genuine_sorted, fvc_sorted)
        row = {
            "database": db,
            "genuine": len(genuine),
            "impostor_all": len(impostor_all),
            "impostor_fvc": len(impostor_fvc),
            "eer_all": eer_all,
            "eer_fvc": eer_fvc,
        }
        for rate in FMR_TARGETS:
            threshold, _ = threshold_at_rate(all_sorted, rate)
            row[f"fnmr_at_fmr_{rate:g}"] = false_non_match_rate(genuine_sorted, threshold)
            row[f"threshold_at_fmr_{rate:g}"] = threshold
        rows.append(row)
    return rows, compared / seconds


def preselection(real: dict, pad: int, args: argparse.Namespace, bar: Any) -> dict[str, Any]:
    """Mate ranks of the 280 FVC probes in a gallery of 40 real fingers + ``pad`` synthetic ones."""
    from matcher import mcc
    from matcher.finger_index import FingerIndex

    counts, bits = synthetic_gallery(pad, args.seed, args.workers)
    index = FingerIndex(
        exact_max=args.exact_max, nprobe=args.nprobe, neighbours=args.neighbours, vote_power=args.vote_power
    )
    index.rebuild(gallery_batches(counts, bits), total=pad)
    fingers = [(db, f) for db in DATABASES for f in FINGERS]
    real_ids = np.arange(REAL_ID_BASE, REAL_ID_BASE + len(fingers), dtype=np.int64)
    index.add(real_ids, [mcc.cylinders(real[db, f, 1], mcc.INDEXING) for db, f in fingers])
    gallery_size = len(index)
    enrolled_matching = {int(i): mcc.cylinders(real[db, f, 1]) for i, (db, f) in zip(real_ids, fingers)}
    synthetic_matching: dict[int, Any] = {}

    def matching_of(finger_id: int) -> Any:
        if finger_id >= REAL_ID_BASE:
            return enrolled_matching[finger_id]
        if finger_id not in synthetic_matching:
            synthetic_matching[finger_id] = mcc.cylinders(synthetic_finger(args.seed, finger_id))
        return synthetic_matching[finger_id]

    ranks, reranked_hits, search_ms = [], [], []
    task = bar.add_task(f"pre-selection, gallery {gallery_size:,}", total=len(fingers) * 7)
    for finger_id, (db, f) in zip(real_ids.tolist(), fingers):
        for shot in IMPRESSIONS[1:]:
            probe = mcc.cylinders(real[db, f, shot], mcc.INDEXING)
            started = time.perf_counter()
            ranked = [fid for fid, _ in index.search(probe, gallery_size)]
            search_ms.append(1000 * (time.perf_counter() - started))
            ranks.append(ranked.index(finger_id) if finger_id in ranked else gallery_size)
            probe_matching = mcc.cylinders(real[db, f, shot])
            shortlist = ranked[: args.rerank]
            scores = [mcc.similarity(probe_matching, matching_of(fid)) for fid in shortlist]
            reranked_hits.append(bool(shortlist) and shortlist[int(np.argmax(scores))] == finger_id)
            bar.advance(task)
    ranks = np.array(ranks)
    curve = []
    for rate in PENETRATIONS:
        allowed = max(1, math.ceil(rate * gallery_size))
        curve.append(
            {"penetration": rate, "shortlist": allowed, "preselection_error": float((ranks >= allowed).mean())}
        )
    return {
        "gallery": gallery_size,
        "pad": pad,
        "probes": len(ranks),
        "index": index.kind,
        "curve": curve,
        "mate_rank_median": float(np.median(ranks)),
        "rank1_index": float((ranks == 0).mean()),
        "rerank": args.rerank,
        "rank1_after_rerank": float(np.mean(reranked_hits)),
        "search_ms_p50": float(np.percentile(search_ms, 50)),
    }


# --- speed at scale ---------------------------------------------------------------------------------
def speed(size: int, args: argparse.Namespace, bar: Any, kind: str) -> dict[str, Any]:
    """Build a ``kind`` index of ``size`` synthetic fingers; identify latency, mate hit rate, memory."""
    from matcher import mcc
    from matcher.finger_index import FingerIndex

    distinct = min(size, args.distinct)
    counts, bits = synthetic_gallery(distinct, args.seed, args.workers)
    if size > distinct:  # latency and memory only: finger i is synthetic finger i mod distinct
        repeats = -(-size // distinct)
        counts = np.tile(counts, repeats)[:size]
        bits = np.tile(bits, (repeats, 1))[: int(counts.sum(dtype=np.int64))]
    gc.collect()
    before = rss_mib()
    exact_max = {"flat": 10**12, "ivf": 0}.get(kind, args.exact_max)  # "auto": FingerIndex's own choice
    index = FingerIndex(exact_max=exact_max, nprobe=args.nprobe, neighbours=args.neighbours, vote_power=args.vote_power)
    started = time.perf_counter()
    index.rebuild(gallery_batches(counts, bits), total=size)
    build_s = time.perf_counter() - started
    del counts, bits
    gc.collect()
    after = rss_mib()
    rng = np.random.default_rng([args.seed, size, 7])
    queries = rng.choice(size, size=min(args.queries, size), replace=False)
    cylinder_ms, search_ms, rerank_ms, identify_ms, hits_index, hits_rank1 = [], [], [], [], [], []
    task = bar.add_task(f"{size:>9,} {kind} identify", total=len(queries))
    for number in queries.tolist():
        finger = number % distinct
        probe_minutiae = impression(synthetic_finger(args.seed, finger), np.random.default_rng([args.seed, number, 1]))
        started = time.perf_counter()
        probe_index, probe_matching = mcc.cylinders(probe_minutiae, mcc.INDEXING), mcc.cylinders(probe_minutiae)
        cylinder_ms.append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        shortlist = [fid % distinct for fid, _ in index.search(probe_index, args.shortlist)]
        search_ms.append(1000 * (time.perf_counter() - started))
        candidates = [mcc.cylinders(synthetic_finger(args.seed, fid)) for fid in shortlist]  # a service caches these
        started = time.perf_counter()
        scores = [mcc.similarity(probe_matching, candidate) for candidate in candidates]
        rerank_ms.append(1000 * (time.perf_counter() - started))
        identify_ms.append(cylinder_ms[-1] + search_ms[-1] + rerank_ms[-1])
        hits_index.append(finger in shortlist)
        hits_rank1.append(bool(shortlist) and shortlist[int(np.argmax(scores))] == finger)
        bar.advance(task)
    row = {
        "size": size,
        "distinct": distinct,
        "index": index.kind,
        "cylinders": index.cylinder_count,
        "build_s": build_s,
        "rss_mib": after,
        "rss_delta_mib": after - before,
        "shortlist": args.shortlist,
        "penetration": index.penetration(args.shortlist),
        "queries": len(queries),
        "nprobe": args.nprobe if index.kind == "ivf" else None,
        "neighbours": args.neighbours,
        "preselection_error": 1 - float(np.mean(hits_index)),
        "rank1": float(np.mean(hits_rank1)),
    }
    for name, values in (
        ("cylinder", cylinder_ms),
        ("search", search_ms),
        ("rerank", rerank_ms),
        ("identify", identify_ms),
    ):
        row[f"{name}_p50_ms"] = float(np.percentile(values, 50))
        row[f"{name}_p95_ms"] = float(np.percentile(values, 95))
    del index
    gc.collect()
    return row


# --- the run ---------------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    """FVC pre-selection and 1:1, then synthetic speed per size; tables and the JSON record."""
    import faiss

    from matcher import mcc

    info = machine()
    print_machine(info)
    record: dict[str, Any] = {
        "arguments": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "faiss_threads": faiss.omp_get_max_threads(),
    }
    with progress() as bar:
        if not args.skip_fvc:
            real = load_fvc(data_dir(args.data))
            started = time.perf_counter()
            matching = {key: mcc.cylinders(m) for key, m in real.items()}
            record["cylinder_ms_matching"] = 1000 * (time.perf_counter() - started) / len(real)
            record["minutiae_mean"] = float(np.mean([len(m) for m in real.values()]))
            record["valid_cylinders_mean"] = float(np.mean([len(c) for c in matching.values()]))
            record["preselection"] = preselection(real, args.pad, args, bar)
            if not args.skip_verification:
                record["verification"], record["comparisons_per_s"] = verification(matching, bar)
        record["speed"] = [speed(size, args, bar, kind) for size in args.sizes for kind in args.kinds]
    _print(record)
    return save_result(NAME, record, save=not args.no_save)


def _print(record: dict[str, Any]) -> None:
    if "preselection" in record:
        pre = record["preselection"]
        console.print(
            table(
                f"Pre-selection: 280 FVC2002 probes (impressions 2-8) vs impression 1 of 40 fingers "
                f"+ {pre['pad']:,} synthetic ({pre['gallery']:,} fingers, {pre['index']}); "
                f"mate rank-1 from the index {pre['rank1_index']:.3f}, "
                f"after re-ranking the top {pre['rerank']} by MCC {pre['rank1_after_rerank']:.3f}; search p50 "
                f"{pre['search_ms_p50']:.1f} ms",
                ["penetration", "shortlist", "pre-selection error"],
                [(f"{r['penetration']:.1%}", r["shortlist"], f"{r['preselection_error']:.2%}") for r in pre["curve"]],
            )
        )
    if "verification" in record:
        console.print(
            table(
                f"MCC LSS-R 1:1 on SecuGen ISO records (FVC protocol); "
                f"{record['comparisons_per_s']:,.0f} comparisons/s, "
                f"cylinders {record['cylinder_ms_matching']:.1f} ms/finger; OpenAFIS EER 8.9/9.6/15.0/7.1%",
                ["database", "genuine", "impostors all (FVC)", "EER all", "EER FVC", "FNMR@FMR1e-2", "FNMR@FMR1e-3"],
                [
                    (
                        f"DB{r['database']}_B",
                        r["genuine"],
                        f"{r['impostor_all']} ({r['impostor_fvc']})",
                        f"{r['eer_all']:.2%}",
                        f"{r['eer_fvc']:.2%}",
                        f"{r['fnmr_at_fmr_0.01']:.2%}",
                        f"{r['fnmr_at_fmr_0.001']:.2%}",
                    )
                    for r in record["verification"]
                ],
            )
        )
    if record.get("speed"):
        console.print(
            table(
                "Identify on synthetic galleries (one probe finger; identify = cylinders + index search + MCC re-rank; "
                "a gallery above its distinct count repeats fingers: its error columns do not count)",
                [
                    "gallery (distinct)",
                    "index",
                    "cylinders",
                    "build s",
                    "RSS MiB (Δ)",
                    "shortlist (pen.)",
                    "search p50/p95 ms",
                    "re-rank p50 ms",
                    "identify p50/p95 ms",
                    "pre-sel. error",
                    "rank-1",
                ],
                [
                    (
                        f"{r['size']:,} ({r['distinct']:,})",
                        r["index"],
                        f"{r['cylinders']:,}",
                        f"{r['build_s']:.1f}",
                        f"{r['rss_mib']:,.0f} ({r['rss_delta_mib']:+,.0f})",
                        f"{r['shortlist']} ({r['penetration']:.3%})",
                        f"{r['search_p50_ms']:.1f}/{r['search_p95_ms']:.1f}",
                        f"{r['rerank_p50_ms']:.1f}",
                        f"{r['identify_p50_ms']:.1f}/{r['identify_p95_ms']:.1f}",
                        f"{r['preselection_error']:.2%}",
                        f"{r['rank1']:.3f}",
                    )
                    for r in record["speed"]
                ],
            )
        )


def _int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    result = argparse.ArgumentParser(description="MCC fingerprint index: penetration, 1:1 accuracy, speed at scale.")
    add_common_arguments(result)
    result.add_argument("--quick", action="store_true", help="small run: 2k pad, 10k gallery, 50 queries")
    result.add_argument("--pad", type=int, default=10_000, help="synthetic fingers added to the FVC gallery")
    result.add_argument("--sizes", type=_int_list, default=[10_000, 100_000, 1_000_000], help="synthetic gallery sizes")
    result.add_argument(
        "--kinds",
        type=lambda t: t.split(","),
        default=["auto"],
        help="index kinds, comma-separated: auto (by --exact-max), flat, ivf",
    )
    result.add_argument("--queries", type=int, default=200, help="mated identify queries per size")
    result.add_argument("--shortlist", type=int, default=100, help="candidates re-ranked by MCC per identify")
    result.add_argument("--rerank", type=int, default=50, help="candidates re-ranked in the FVC pre-selection run")
    result.add_argument("--neighbours", type=int, default=256, help="gallery cylinders retrieved per probe cylinder")
    result.add_argument("--vote-power", type=float, default=3.0, help="a vote is similarity ** this")
    result.add_argument("--nprobe", type=int, default=16, help="IVF lists visited per band and probe cylinder")
    result.add_argument("--exact-max", type=int, default=1_000_000, help="cylinders up to which the index is flat")
    result.add_argument(
        "--distinct",
        type=int,
        default=1_000_000,
        help="distinct synthetic fingers; larger galleries repeat them (then only latency and memory count)",
    )
    result.add_argument("--workers", type=int, default=2, help="processes generating synthetic cylinders")
    result.add_argument("--skip-fvc", action="store_true", help="only the synthetic speed runs")
    result.add_argument("--skip-verification", action="store_true", help="no FVC 1:1 run")
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Entry point: parse ``argv`` and run."""
    args = parser().parse_args(argv)
    if args.quick:
        args.pad, args.sizes, args.queries = min(args.pad, 2000), [10_000], min(args.queries, 50)
    return run(args)


if __name__ == "__main__":
    main()
