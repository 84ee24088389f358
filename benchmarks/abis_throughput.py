"""Sustained deduplication throughput of the job queue with 1, 2 and 4 ``civid abis worker`` processes, on the
FAISS and the Milvus gallery backends (PostgreSQL), and the memory of each process role.

A gallery of ``--gallery`` synthetic people (issued enrolments, each with one face template and two fingers,
written straight to the database; benchmarks/abis_population.py says how the templates are made) is built in a
fresh PostgreSQL schema (``--schema`` reuses a kept one). For each backend and worker count the workers are started
(FAISS: each loads its own copy of the indexes; Milvus: all search the server's collections), then ``--enrolments``
new enrolments are stored through ``enrollment.workflow.submit`` by 8 threads (templates searchable, a job each; a
fifth a returning gallery person, the rest new people) while the workers drain the queue. Reported per run:
- decisions/s: jobs ÷ (first job claimed → last decided), sustained while the queue is not empty (the submission
  rate is shown beside it: were it lower, it would be what is measured);
- time-to-decision p50/p95 (stored → decided): everything is submitted at once, so it is mostly queueing; the job's
  service time (claimed → decided) is what a desk waits when the queue is short (plus up to one poll interval);
- per job (recorded on each job by the worker): CPU (the worker's process time) and lock wait (the decision's
  row-lock statement, its PostgreSQL round trip included, so an upper bound);
- the 1-minute load average at the start and the end (the machine is shared: read ratios, not absolute times);
- the workers' memory (VmRSS, peak), and once per backend that of ``civid serve --role idp|registration|all``.

Milvus runs a real standalone server started here (tools/milvus_server.py; or ``--milvus-uri``) with its time tick
at ``--milvus-time-tick-ms`` (50, as the tests; Milvus's default 200 ms): deduplication searches with Strong
consistency, which waits for the next tick (docs/milvus.md).

    python -m benchmarks.abis_throughput                        # 100k people, face + 2 fingers, both backends
    python -m benchmarks.abis_throughput --gallery 10000 --fingers 0 --backends faiss --workers 1 2
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from benchmarks import abis_population, process_memory
from benchmarks.common import (
    RESULTS_DIR,
    add_common_arguments,
    console,
    err_console,
    machine,
    print_machine,
    progress,
    save_result,
    table,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NAME = "abis_throughput"


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def _start_workers(env: dict[str, str], folder: Path, label: str, count: int, seed: Path | None) -> list[Any]:
    """``count`` workers, one after another (the first FAISS one builds the index files the others copy)."""
    from tests.server import WorkerProcess

    processes = []
    for i in range(count):
        data_dir = folder / f"{label}-{i}"
        process_memory.seed_gallery(seed, data_dir)
        processes.append(
            WorkerProcess({**env, "CIVID_DATA_DIR": str(data_dir)}, folder / f"{label}-{i}.log").start(1800)
        )
    return processes


def _run(
    services: Any,
    actor: Any,
    env: dict[str, str],
    folder: Path,
    label: str,
    workers: int,
    plan: list[Any],
    seed: Path | None,
) -> dict[str, Any]:
    from enrollment.abis_worker import Settle
    from enrollment.workflow import submit
    from models import DedupJob, JobStatus
    from tests.synthetic_persons import demographics

    err_console.print(f"{label}: starting {workers} worker(s)…")
    started_at = time.perf_counter()
    processes = _start_workers(env, folder, label, workers, seed)
    start_s = round(time.perf_counter() - started_at, 1)
    settle = Settle(False, 0.0, 0.1, services.settings.dedup_queue)
    with services.sessions() as session:
        first_job = (session.scalar(select(func.max(DedupJob.id))) or 0) + 1
    load_start = _load()
    memory: list[dict[str, float]] = []
    try:
        with progress() as bar:
            task = bar.add_task(f"{label}: {len(plan)} enrolments, {workers} worker(s)", total=len(plan))
            submitting = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda c: submit(services, actor, demographics(7), c, settle), plan))
            submit_s = time.perf_counter() - submitting
            while True:
                with services.sessions() as session:
                    jobs = list(session.scalars(select(DedupJob).where(DedupJob.id >= first_job)))
                done = [j for j in jobs if j.status in (JobStatus.DONE, JobStatus.FAILED)]
                bar.update(task, completed=len(done))
                if len(done) >= len(plan):
                    break
                time.sleep(0.5)
        memory = [process_memory.rss_mib(p.pid) for p in processes]
    finally:
        for process in processes:
            process.stop()
    finished = [j for j in jobs if j.finished_at and j.started_at]
    first = min(j.started_at for j in finished)
    last = max(j.finished_at for j in finished)
    wall = (last - first).total_seconds()
    to_decision = sorted((j.finished_at - j.created_at).total_seconds() for j in finished)
    service = sorted((j.finished_at - j.started_at).total_seconds() for j in finished)
    cpu = [j.cpu_s or 0.0 for j in finished]
    lock = sorted(j.lock_wait_s or 0.0 for j in finished)
    search = [j.search_s or 0.0 for j in finished]
    return {
        "backend": label.split("-")[0],
        "workers": workers,
        "jobs": len(plan),
        "failed": sum(j.status == JobStatus.FAILED for j in jobs),
        "decisions_per_s": round(len(finished) / wall, 2),
        "submitted_per_s": round(len(plan) / submit_s, 1),
        "time_to_decision_p50_s": round(_pct(to_decision, 50), 3),
        "time_to_decision_p95_s": round(_pct(to_decision, 95), 3),
        "service_p50_ms": round(_pct(service, 50) * 1000, 1),
        "service_p95_ms": round(_pct(service, 95) * 1000, 1),
        "search_mean_ms": round(statistics.mean(search) * 1000, 1),
        "cpu_per_job_ms": round(statistics.mean(cpu) * 1000, 1),
        "lock_wait_mean_ms": round(statistics.mean(lock) * 1000, 3),
        "lock_wait_p95_ms": round(_pct(lock, 95) * 1000, 3),
        "lock_wait_max_ms": round(lock[-1] * 1000, 3),
        "worker_start_s": start_s,
        "worker_rss_mib": [m["rss_mib"] for m in memory],
        "worker_peak_mib": [m["peak_mib"] for m in memory],
        "load_average_start": load_start,
        "load_average_end": _load(),
    }


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _schema_url(database_url: str, schema: str) -> str:
    return (
        make_url(database_url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    parser.add_argument("--gallery", type=int, default=100_000, help="synthetic people in the gallery")
    parser.add_argument("--fingers", type=int, choices=(0, 2), default=2, help="fingers per person (0: face only)")
    parser.add_argument("--finger-pool", type=int, default=20_000, help="distinct synthetic fingers the gallery wears")
    parser.add_argument("--enrolments", type=int, default=400, help="enrolments submitted at once per run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="worker counts to measure")
    parser.add_argument("--backends", nargs="+", choices=("faiss", "milvus"), default=["faiss", "milvus"])
    parser.add_argument("--roles", action=argparse.BooleanOptionalAction, default=True, help="measure serve roles")
    parser.add_argument("--milvus-uri", help="a running Milvus (default: start a standalone server here)")
    parser.add_argument("--milvus-time-tick-ms", type=int, default=50)
    parser.add_argument("--database-url", default=os.environ.get("CIVID_BENCH_POSTGRES_URL", DEFAULT_URL))
    parser.add_argument("--schema", help="reuse this kept schema and its gallery (made by --keep-schema)")
    parser.add_argument("--keep-schema", action="store_true", help="keep the schema for a later --schema run")
    parser.add_argument("--folder", type=Path, default=Path("/tmp") / f"civid-abis-{secrets.token_hex(3)}")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    from civid.actor import Actor
    from civid.audit import SYSTEM
    from civid.auth import create_api_key
    from civid.settings import Settings
    from server.services import build_services
    from tools.milvus_server import MilvusStandalone

    print_machine(machine())
    schema = args.schema or "civid_bench_" + secrets.token_hex(4)
    admin = create_engine(args.database_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    url = _schema_url(args.database_url, schema)
    folder: Path = args.folder
    folder.mkdir(parents=True, exist_ok=True)
    # The key ring travels with a kept schema: its templates are sealed under it.
    keys_file = (
        folder / "template-keys.json" if not args.schema else Path(tempfile.gettempdir()) / f"{schema}-keys.json"
    )
    rng = np.random.default_rng(args.seed)
    server = None
    runs: list[dict[str, Any]] = []
    roles: list[dict[str, Any]] = []
    try:
        settings = Settings(
            data_dir=folder / "desk", database_url=url, template_keys_file=keys_file, dedup_inline=False
        )
        services = build_services(settings, open_gallery=False)
        with services.sessions.begin() as session:
            row, _ = create_api_key(session, "bench officer", "officer", SYSTEM)
            actor = Actor(row.id, row.name, row.role)
        if args.fingers:
            pool = (
                abis_population.finger_pool(args.finger_pool, args.seed)
                if not args.schema
                else [
                    abis_population.PooledFinger(abis_population.synthetic_finger(args.seed, n), b"", b"")
                    for n in range(args.finger_pool)
                ]
            )
        else:
            pool = []
        if args.schema:
            directions = abis_population.directions(args.gallery, rng)
        else:
            directions = abis_population.prefill(services, actor.id or 0, args.gallery, rng, pool)
            if args.keep_schema:
                shutil.copy(keys_file, Path(tempfile.gettempdir()) / f"{schema}-keys.json")
        env = {"CIVID_DATABASE_URL": url, "CIVID_TEMPLATE_KEYS_FILE": str(keys_file), "CIVID_DEDUP_INLINE": "false"}
        for backend in args.backends:
            backend_env = {**env, "CIVID_GALLERY_BACKEND": backend}
            if backend == "milvus":
                uri = args.milvus_uri
                if uri is None:
                    server = MilvusStandalone(folder / "milvus", time_tick_ms=args.milvus_time_tick_ms).start()
                    uri = server.uri
                prefix = f"bench_{schema}"
                backend_env |= {"CIVID_GALLERY_MILVUS_URI": uri, "CIVID_GALLERY_MILVUS_COLLECTION_PREFIX": prefix}
            seed = folder / "seed-gallery" if backend == "faiss" else None
            for workers in args.workers:
                plan = [
                    abis_population.new_enrolment(directions, pool, i % 5 == 0, rng)[0] for i in range(args.enrolments)
                ]
                label = f"{backend}-w{workers}"
                runs.append(_run(services, actor, backend_env, folder, label, workers, plan, seed))
                if seed is not None and not seed.exists():
                    shutil.copytree(folder / f"{label}-0" / "gallery", seed)
                console.print(runs[-1])
            if args.roles:
                roles += [{"backend": backend, **r} for r in process_memory.measure_roles(backend_env, folder, seed)]
                roles.append(
                    {
                        "backend": backend,
                        "role": "abis worker",
                        "rss_mib": max(runs[-1]["worker_rss_mib"]),
                        "peak_mib": max(runs[-1]["worker_peak_mib"]),
                    }
                )
            if server is not None:
                server.stop()
                server = None
        services.close()
    finally:
        if server is not None:
            server.stop()
        if not (args.keep_schema or args.schema):
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    _report(args, schema, runs, roles)


def _report(args: argparse.Namespace, schema: str, runs: list[dict[str, Any]], roles: list[dict[str, Any]]) -> None:
    header = {
        "backend": "backend",
        "workers": "workers",
        "decisions_per_s": "dec/s",
        "submitted_per_s": "subm/s",
        "time_to_decision_p50_s": "TTD p50 s",
        "time_to_decision_p95_s": "TTD p95 s",
        "service_p50_ms": "job p50 ms",
        "cpu_per_job_ms": "CPU/job ms",
        "lock_wait_mean_ms": "lock ms",
        "load_average_end": "load",
        "failed": "failed",
    }
    what = "face + 2 fingers" if args.fingers else "face only"
    console.print(
        table(
            f"Dedup queue on PostgreSQL, gallery {args.gallery:,} synthetic people ({what}), {args.enrolments} "
            f"enrolments at once per run, {os.cpu_count()} cores shared (1-min load average shown)",
            header.values(),
            [[run[key] for key in header] for run in runs],
        )
    )
    if roles:
        console.print(
            table(
                f"Memory per process by role, gallery {args.gallery:,} people ({what})",
                ["backend", "process", "RSS MiB", "peak MiB"],
                [[r["backend"], r["role"], r["rss_mib"], r["peak_mib"]] for r in roles],
            )
        )
    _plot(runs, args)
    save_result(
        NAME,
        {
            "gallery": args.gallery,
            "modalities": ["face", "finger"] if args.fingers else ["face"],
            "fingers_per_person": args.fingers,
            "finger_pool": args.finger_pool if args.fingers else None,
            "enrolments_per_run": args.enrolments,
            "milvus_time_tick_ms": args.milvus_time_tick_ms,
            "runs": runs,
            "memory_by_role": roles,
        },
        save=not args.no_save,
    )


def _plot(runs: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """decisions/s against workers, one line per backend, to benchmarks/results/abis_throughput.png."""
    if args.no_save or not runs:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for backend in dict.fromkeys(r["backend"] for r in runs):
        mine = [r for r in runs if r["backend"] == backend]
        axis.plot([r["workers"] for r in mine], [r["decisions_per_s"] for r in mine], marker="o", label=backend)
    loads = [r["load_average_end"] for r in runs]
    axis.set_xlabel("civid abis worker processes")
    axis.set_ylabel("sustained decisions/s")
    axis.set_xticks(sorted({r["workers"] for r in runs}))
    axis.set_ylim(bottom=0)
    what = "face + 2 fingers" if args.fingers else "face only"
    axis.set_title(
        f"{args.gallery:,} people ({what}), {os.cpu_count()} shared cores, load {min(loads):.0f}-{max(loads):.0f}",
        fontsize=9,
    )
    axis.legend()
    figure.tight_layout()
    figure.savefig(RESULTS_DIR / f"{NAME}.png", dpi=120)
    err_console.print(f"[dim]plot written to benchmarks/results/{NAME}.png[/]")


if __name__ == "__main__":
    main()
