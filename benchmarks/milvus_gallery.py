"""Face-only 1:N on Milvus against FAISS: p50/p95 latency and recall@10 against exact search, with the ratio.

Question: does the Milvus backend (matcher/milvus_gallery.py) search a national gallery about as fast and as well
as FAISS in the process, and what does FAISS's ``parallel_mode`` (CIVID_GALLERY_FAISS_PARALLEL_MODE) change when
searches run side by side? Method:
- gallery: ``--size`` synthetic identities that mimic dlib descriptors (``benchmarks.synthetic_faces``); queries:
  fresh photos of ``--queries`` enrolled identities (mated searches), k=10;
- truth: FAISS exact (IndexFlatIP); recall@10 = share of the exact top-10 found;
- engines: FAISS IVF (nlist from ``ivf_list_count``, nprobe ``--faiss-nprobe``) with parallel_mode 0 and 1;
  Milvus (a real standalone server started here, or ``--milvus-uri``) HNSW and IVF_FLAT, searched with Bounded
  consistency (no wait) and Strong (waits for the server's time tick, what deduplication needs);
- latency: one query per call through the gallery's ``search``, ``--concurrency`` client threads at once; the
  engines alternate query block by query block (``--rounds``), so a load change on the shared machine hits each;
- "insert then search": an add followed at once by a Strong search that must find it (a dedup's own insert).

    python -m benchmarks.milvus_gallery --size 100000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
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
    save_result,
    table,
)
from benchmarks.gallery_speed import batches
from benchmarks.synthetic_faces import SyntheticFaces

NAME = "milvus_gallery"


def latencies(gallery: Any, queries: NDArray[np.float32], k: int, concurrency: int) -> tuple[NDArray[np.float64], Any]:
    """Seconds per single-query search with ``concurrency`` threads searching at once, and the ids found (q, k)."""
    found = np.full((len(queries), k), -1, np.int64)

    def one(position: int) -> float:
        started = time.perf_counter()
        hits = gallery.search(queries[position : position + 1], k)[0]
        elapsed = time.perf_counter() - started
        found[position, : len(hits)] = [hit.template_id for hit in hits]
        return elapsed

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        seconds = np.fromiter(pool.map(one, range(len(queries))), np.float64, len(queries))
    return seconds, found


def recall_at(found: NDArray[np.int64], truth: NDArray[np.int64]) -> float:
    return float(np.mean([len(np.intersect1d(a, t)) / truth.shape[1] for a, t in zip(found, truth)]))


def insert_then_search(gallery: Any, vectors: NDArray[np.float32], start_id: int) -> NDArray[np.float64]:
    """Seconds from an add to a search that finds it, per vector (a deduplication's own insert, then its search)."""
    seconds = []
    for offset, vector in enumerate(vectors):
        template_id = start_id + offset
        started = time.perf_counter()
        gallery.add(np.array([template_id], np.int64), vector[None, :])
        hits = gallery.search(vector[None, :], 1)[0]
        seconds.append(time.perf_counter() - started)
        if not hits or hits[0].template_id != template_id:
            raise AssertionError(f"a search right after the insert of {template_id} did not find it: {hits}")
    return np.array(seconds)


def engines(args: argparse.Namespace, uri: str, vectors: NDArray[np.float32]) -> dict[str, Any]:
    """Every engine measured, built over the same gallery (name -> gallery)."""
    from matcher.gallery import FaissGallery, MilvusOptions
    from matcher.milvus_gallery import MilvusGallery

    built: dict[str, Any] = {}
    with progress() as bar:
        exact = FaissGallery(exact_max=10**12)
        task = bar.add_task("FAISS flat (exact)", total=args.size)
        exact.rebuild(batches(vectors, args.size), args.size, progress=lambda n: bar.advance(task, n))
        built["faiss flat"] = exact
        ivf = FaissGallery(exact_max=0, nprobe=args.faiss_nprobe)
        task = bar.add_task(f"FAISS IVF nprobe={args.faiss_nprobe}", total=args.size)
        ivf.rebuild(batches(vectors, args.size), args.size, progress=lambda n: bar.advance(task, n))
        for mode in args.parallel_modes:
            twin = FaissGallery(exact_max=0, nprobe=args.faiss_nprobe, parallel_mode=mode)
            twin._index, twin.kind = ivf._index, ivf.kind  # one trained index, searched under each mode
            built[f"faiss ivf pm{mode}"] = _ModeSwitch(twin, mode)
        base = MilvusOptions(uri=uri, collection_prefix=f"bench_{args.seed}", timeout_s=120, ef=args.ef)
        for index in args.milvus_indexes:
            options = replace(base, collection_prefix=f"{base.collection_prefix}_{index.lower()}", face_index=index)
            gallery = MilvusGallery(options)
            started = time.perf_counter()
            task = bar.add_task(f"Milvus {index} (insert, flush, index)", total=args.size)
            gallery.rebuild(batches(vectors, args.size), args.size, progress=lambda n, task=task: bar.advance(task, n))
            err_console.print(f"[dim]Milvus {index}: built in {time.perf_counter() - started:.0f} s[/]")
            for level in args.consistency:
                built[f"milvus {index.lower()} {level.lower()}"] = MilvusGallery(replace(options, consistency=level))
                built[f"milvus {index.lower()} {level.lower()}"].load(Path(tempfile.gettempdir()) / "none.index")
    return built


class _ModeSwitch:
    """One shared FAISS IVF index, set to this parallel_mode before each search (the engines alternate)."""

    def __init__(self, gallery: Any, mode: int) -> None:
        self.gallery, self.mode = gallery, mode

    def search(self, queries: NDArray[np.float32], k: int) -> Any:
        self.gallery._index.parallel_mode = self.mode
        return self.gallery.search(queries, k)


def clustered(
    size: int, queries: int, inserts: int, rng: np.random.Generator
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.int64], NDArray[np.float32]]:
    """Gallery, mated queries (a fresh photo: the identity plus new noise), their ids, and fresh identities, from
    unit vectors in 300 families of look-alikes (no data needed; not fitted to LFW, so recall is indicative only)."""

    def unit(x: NDArray[np.float64]) -> NDArray[np.float32]:
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    families = unit(rng.standard_normal((300, 128)))
    identities = families[rng.integers(0, 300, size + inserts)] + 0.6 * rng.standard_normal((size + inserts, 128))
    gallery = unit(identities[:size] + 0.15 * rng.standard_normal((size, 128)))
    query_ids = np.sort(rng.choice(size, size=queries, replace=False))
    probes = unit(identities[query_ids] + 0.15 * rng.standard_normal((queries, 128)))
    return gallery, probes, query_ids.astype(np.int64), unit(identities[size:])


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start Milvus (unless given), build every engine, measure in alternation, print and save."""
    from tools.milvus_server import MilvusStandalone

    info = machine()
    print_machine(info)
    rng = np.random.default_rng(args.seed)
    if args.generator == "lfw":
        model = SyntheticFaces.load_or_fit(data_dir(args.data))
        centres = model.identities(args.size, rng)
        vectors = model.photos(centres, rng)
        query_ids = np.sort(rng.choice(args.size, size=args.queries, replace=False))
        queries = model.photos(centres[query_ids], rng)
        fresh = model.photos(model.identities(args.inserts, rng), rng)
    else:
        vectors, queries, query_ids, fresh = clustered(args.size, args.queries, args.inserts, rng)
    server = None
    uri = args.milvus_uri
    if not uri:
        server = MilvusStandalone(Path(tempfile.mkdtemp(prefix="civid-milvus-bench-"))).start()
        uri = server.uri
        err_console.print(f"[dim]Milvus standalone started in {server.started_in_s:.1f} s at {uri}[/]")
    try:
        built = engines(args, uri, vectors)
        truth = built["faiss flat"].search(queries, args.k)
        truth_ids = np.array([[hit.template_id for hit in row] for row in truth], np.int64)
        rows = []
        for concurrency in args.concurrency:
            seconds: dict[str, list[NDArray[np.float64]]] = {name: [] for name in built}
            found: dict[str, list[NDArray[np.int64]]] = {name: [] for name in built}
            blocks = np.array_split(np.arange(len(queries)), args.rounds)
            with progress() as bar:
                task = bar.add_task(f"searching, {concurrency} at once", total=len(queries) * len(built))
                for block in blocks:  # alternate: every engine searches this block before the next block
                    for name, gallery in built.items():
                        took, ids = latencies(gallery, queries[block], args.k, concurrency)
                        seconds[name].append(took)
                        found[name].append(ids)
                        bar.advance(task, len(block))
            for name in built:
                took = np.concatenate(seconds[name]) * 1e3
                ids = np.concatenate(found[name])
                rows.append(
                    {
                        "engine": name,
                        "concurrency": concurrency,
                        "p50_ms": float(np.percentile(took, 50)),
                        "p95_ms": float(np.percentile(took, 95)),
                        "recall_at_10": recall_at(ids, truth_ids),
                        "mate_at_1": float((ids[:, 0] == query_ids).mean()),
                    }
                )
        faiss_reference = {r["concurrency"]: r["p50_ms"] for r in rows if r["engine"] == args.reference}
        for r in rows:
            r["p50_vs_reference"] = r["p50_ms"] / faiss_reference[r["concurrency"]]
        insert_rows = []
        for name, gallery in built.items():
            if name.startswith("milvus") and name.endswith("strong"):
                took = insert_then_search(gallery, fresh, start_id=10**9 + len(insert_rows) * args.inserts) * 1e3
                insert_rows.append(
                    {"engine": name, "p50_ms": float(np.percentile(took, 50)), "p95_ms": float(np.percentile(took, 95))}
                )
    finally:
        if server is not None:
            server.stop()
    console.print(
        table(
            f"Face 1:N at {args.size:,} templates, {args.queries} mated queries, k={args.k}, {args.rounds} alternating "
            f"rounds; ratio = p50 / {args.reference} p50",
            ["engine", "threads", "p50 ms", "p95 ms", "recall@10", "mate@1", "p50 ratio"],
            [
                (
                    r["engine"],
                    r["concurrency"],
                    f"{r['p50_ms']:.2f}",
                    f"{r['p95_ms']:.2f}",
                    f"{r['recall_at_10']:.4f}",
                    f"{r['mate_at_1']:.4f}",
                    f"{r['p50_vs_reference']:.2f}",
                )
                for r in rows
            ],
        )
    )
    console.print(
        table(
            "Insert, then a Strong search that must find it (a deduplication's own template)",
            ["engine", "p50 ms", "p95 ms"],
            [(r["engine"], f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}") for r in insert_rows],
        )
    )
    record = {"arguments": {k: v for k, v in vars(args).items() if k != "data"}, "rows": rows, "insert": insert_rows}
    return save_result(NAME, record, save=not args.no_save)


def csv_of(kind: type) -> Any:
    return lambda text: [kind(part) for part in text.split(",") if part]


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(result)
    result.add_argument("--size", type=int, default=100_000, help="gallery templates")
    result.add_argument(
        "--generator",
        choices=["lfw", "clustered"],
        default="lfw",
        help="lfw: identities from the generator fitted to LFW (benchmarks.synthetic_faces; needs --data); "
        "clustered: look-alike families of unit vectors, no data",
    )
    result.add_argument("--queries", type=int, default=400, help="mated queries")
    result.add_argument("--k", type=int, default=10)
    result.add_argument("--rounds", type=int, default=4, help="query blocks the engines alternate over")
    result.add_argument("--concurrency", type=csv_of(int), default=[1, 2], help="client threads searching at once")
    result.add_argument("--faiss-nprobe", type=int, default=128, help="FAISS IVF lists visited")
    result.add_argument("--parallel-modes", type=csv_of(int), default=[0, 1], help="FAISS IVF parallel_mode values")
    result.add_argument("--milvus-indexes", type=csv_of(str), default=["HNSW", "IVF_FLAT"])
    result.add_argument("--ef", type=int, default=128, help="Milvus HNSW ef")
    result.add_argument("--consistency", type=csv_of(str), default=["Bounded", "Strong"])
    result.add_argument("--inserts", type=int, default=20, help="insert-then-search trials per Strong engine")
    result.add_argument("--reference", default="faiss ivf pm1", help="the engine the ratio divides by")
    result.add_argument("--milvus-uri", default=None, help="a running Milvus (default: start a standalone here)")
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return run(parser().parse_args(argv))


if __name__ == "__main__":
    main()
