"""Sustained deduplication throughput of the job queue with 1 and 2 ``civid abis worker`` processes (PostgreSQL).

A gallery of ``--gallery`` synthetic people (issued enrolments with one face template each, written straight to
the database) is built in a fresh PostgreSQL schema. For each worker count, the workers are started (each loads
the gallery), then ``--enrolments`` new enrolments are stored at once through ``enrollment.workflow.submit``
(templates searchable, a job each; a fifth of them a new photo of someone in the gallery, the rest new people)
and the workers drain the queue. Reported per worker count: sustained decisions/s (jobs ÷ time from the first
job stored to the last decided), time-to-decision p50/p95 (stored → decided, queueing included: everything is
submitted at once), the per-job service time, CPU and lock wait (recorded on each job by the worker; the lock
wait is the time of the row-lock statement, its round trip to PostgreSQL included, so an upper bound).

Templates are synthetic (tests/synthetic_persons.py): faces only; the fingers' share of a job is not measured
here (see benchmarks/finger_*.py for the finger 1:N cost).

    python -m benchmarks.abis_throughput                       # gallery 10,000, 400 enrolments per run
    python -m benchmarks.abis_throughput --gallery 100000 --enrolments 1000
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from benchmarks.common import (
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


def _prefill(services: Any, officer_id: int, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``size`` issued enrolments with one sealed face template each; returns their directions."""
    from enrollment.templates import seal_descriptor
    from models import FaceTemplate
    from tests.synthetic_persons import enrolment_of, person_direction

    directions = [person_direction(rng) for _ in range(size)]
    used: set[str] = set()  # UINs drawn so far: 9 random digits collide within a batch at 10k (birthday bound)
    batch = 1000
    with progress() as bar:
        task = bar.add_task(f"Writing a gallery of {size:,} people", total=size)
        for start in range(0, size, batch):
            with services.sessions.begin() as session:
                indices = range(start, min(start + batch, size))
                enrolments = [_gallery_enrolment(officer_id, used) for _ in indices]
                session.add_all(enrolments)
                session.flush()  # one multi-row INSERT per table, ids returned
                templates = []
                for index, enrolment in zip(indices, enrolments):
                    vector = enrolment_of(directions[index], rng).faces[0].descriptor
                    sealed = seal_descriptor(services.keyring, vector, enrolment.public_id, 0)
                    templates.append(
                        FaceTemplate(
                            enrolment_id=enrolment.id,
                            photo_index=0,
                            key_id=sealed.key_id,
                            nonce=sealed.nonce,
                            ciphertext=sealed.ciphertext,
                            quality_score=0.9,
                            in_gallery=True,
                        )
                    )
                session.add_all(templates)
            bar.advance(task, min(batch, size - start))
    return directions


def _gallery_enrolment(officer_id: int, used: set[str]) -> Any:
    """An issued enrolment of a synthetic person, with its identity (both flushed by the caller)."""
    from enrollment.uin import generate_uin
    from models import Enrolment, EnrolmentStatus, Identity

    uin = generate_uin()
    while uin in used:
        uin = generate_uin()
    used.add(uin)

    return Enrolment(
        public_id=str(uuid.uuid4()),
        status=EnrolmentStatus.ISSUED,
        officer_id=officer_id,
        given_name="Gallery",
        family_name="Person",
        date_of_birth=date(1980, 1, 1),
        sex="F",
        place_of_birth="Belmopan",
        nationality="BLZ",
        address={"line1": "1 Street", "locality": "Belmopan", "country": "BLZ"},
        quality=[],
        rejection_reasons=[],
        fingerprints=[],
        dedup_modalities=["face"],
        identity=Identity(uin=uin),
    )


def _run(
    services: Any,
    actor: Any,
    env: dict[str, str],
    folder: Path,
    workers: int,
    count: int,
    gallery: list[np.ndarray],
    rng: np.random.Generator,
) -> dict[str, Any]:
    from enrollment.abis_worker import Settle
    from enrollment.workflow import submit
    from models import DedupJob, JobStatus
    from tests.server import WorkerProcess
    from tests.synthetic_persons import demographics, enrolment_of, person_direction

    err_console.print(f"starting {workers} worker(s) (each loads the gallery)…")
    processes = [
        WorkerProcess({**env, "CIVID_DATA_DIR": str(folder / f"w{workers}-{i}")}, folder / f"w{workers}-{i}.log").start(
            600
        )
        for i in range(workers)
    ]
    plan = [
        enrolment_of(gallery[int(rng.integers(len(gallery)))] if i % 5 == 0 else person_direction(rng), rng)
        for i in range(count)
    ]
    settle = Settle(False, 0.0, 0.1, services.settings.dedup_queue)
    with services.sessions() as session:
        first_job = (session.scalar(select(DedupJob.id).order_by(DedupJob.id.desc()).limit(1)) or 0) + 1
    try:
        with progress() as bar:
            task = bar.add_task(f"{workers} worker(s): {count} enrolments", total=count)
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda c: submit(services, actor, demographics(7), c, settle), plan))
            while True:
                with services.sessions() as session:
                    jobs = list(session.scalars(select(DedupJob).where(DedupJob.id >= first_job)))
                done = [j for j in jobs if j.status in (JobStatus.DONE, JobStatus.FAILED)]
                bar.update(task, completed=len(done))
                if len(done) >= count:
                    break
                time.sleep(0.5)
    finally:
        for process in processes:
            process.stop()
    failed = [j for j in jobs if j.status == JobStatus.FAILED]
    started = min(j.created_at for j in jobs)
    finished = max(j.finished_at for j in jobs if j.finished_at)
    wall = (finished - started).total_seconds()
    to_decision = sorted((j.finished_at - j.created_at).total_seconds() for j in jobs if j.finished_at)
    service = sorted((j.finished_at - j.started_at).total_seconds() for j in jobs if j.finished_at and j.started_at)
    cpu = [j.cpu_s or 0.0 for j in jobs]
    lock = sorted(j.lock_wait_s or 0.0 for j in jobs)
    search = [j.search_s or 0.0 for j in jobs]
    return {
        "workers": workers,
        "jobs": count,
        "failed": len(failed),
        "decisions_per_s": round(count / wall, 2),
        "time_to_decision_p50_s": round(_pct(to_decision, 50), 3),
        "time_to_decision_p95_s": round(_pct(to_decision, 95), 3),
        "service_p50_ms": round(_pct(service, 50) * 1000, 1),
        "search_mean_ms": round(statistics.mean(search) * 1000, 1),
        "cpu_per_job_ms": round(statistics.mean(cpu) * 1000, 1),
        "lock_wait_mean_ms": round(statistics.mean(lock) * 1000, 3),
        "lock_wait_p95_ms": round(_pct(lock, 95) * 1000, 3),
        "lock_wait_max_ms": round(lock[-1] * 1000, 3),
        "load_average_1min": round(os.getloadavg()[0], 1),
    }


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    parser.add_argument("--gallery", type=int, default=10_000, help="synthetic people in the gallery")
    parser.add_argument("--enrolments", type=int, default=400, help="enrolments submitted at once per worker count")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to measure")
    parser.add_argument("--database-url", default=os.environ.get("CIVID_BENCH_POSTGRES_URL", DEFAULT_URL))
    parser.add_argument("--folder", type=Path, default=Path("/tmp") / f"civid-abis-{secrets.token_hex(3)}")
    args = parser.parse_args()

    from civid.actor import Actor
    from civid.audit import SYSTEM
    from civid.auth import create_api_key
    from civid.settings import Settings
    from server.services import build_services

    info = machine()
    print_machine(info)
    schema = "civid_bench_" + secrets.token_hex(4)
    admin = create_engine(args.database_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = (
        make_url(args.database_url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    folder: Path = args.folder
    folder.mkdir(parents=True, exist_ok=True)
    keys_file = folder / "template-keys.json"
    rng = np.random.default_rng(args.seed)
    try:
        settings = Settings(
            data_dir=folder / "desk", database_url=url, template_keys_file=keys_file, dedup_inline=False
        )
        services = build_services(settings, open_gallery=False)
        with services.sessions.begin() as session:
            row, _ = create_api_key(session, "bench officer", "officer", SYSTEM)
            actor = Actor(row.id, row.name, row.role)
        gallery = _prefill(services, actor.id or 0, args.gallery, rng)
        env = {"CIVID_DATABASE_URL": url, "CIVID_TEMPLATE_KEYS_FILE": str(keys_file), "CIVID_DEDUP_INLINE": "false"}
        runs = [_run(services, actor, env, folder, w, args.enrolments, gallery, rng) for w in args.workers]
        services.close()
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    header = {
        "workers": "workers",
        "decisions_per_s": "decisions/s",
        "time_to_decision_p50_s": "to decision p50 s",
        "time_to_decision_p95_s": "p95 s",
        "service_p50_ms": "job p50 ms",
        "cpu_per_job_ms": "CPU/job ms",
        "lock_wait_mean_ms": "lock wait mean ms",
        "lock_wait_max_ms": "max ms",
        "failed": "failed",
    }
    console.print(
        table(
            f"Dedup queue on PostgreSQL, gallery {args.gallery:,} synthetic faces, {args.enrolments} enrolments "
            f"at once, {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at the end)",
            header.values(),
            [[run[key] for key in header] for run in runs],
        )
    )
    save_result(
        "abis_throughput",
        {"gallery": args.gallery, "enrolments_per_run": args.enrolments, "modalities": ["face"], "runs": runs},
        save=not args.no_save,
    )


if __name__ == "__main__":
    main()
