"""Enrolment throughput: photos per second through the real workflow, and where the time goes.

Real photos (LFW deep-funneled, one image per person, 250x250 JPEG) are enrolled one after another, as
at one officer's desk, through ``enrollment.workflow.enrol`` against a SQLite database already holding
``--gallery`` synthetic people (so the 1:N search and the commit run against a realistic gallery).
The workflow's stopwatch splits each enrolment into decode, detect, landmarks (+ quality checks),
encode, search (catch-up + 1:N + candidate lookup) and commit (templates sealed, rows written, audit
event, commit, gallery add). Default quality settings: photos LFW's low resolution fails are counted.

    python -m benchmarks.enrolment_throughput --photos 300 --gallery 100000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks.common import (
    add_common_arguments,
    bench_services,
    bench_settings,
    console,
    data_dir,
    lfw_images,
    machine,
    print_machine,
    progress,
    save_result,
    table,
)
from benchmarks.database_fill import bench_officer, fill
from benchmarks.synthetic_faces import SyntheticFaces
from civid.audit import Actor
from civid.stopwatch import Stopwatch
from enrollment.schemas import Demographics
from enrollment.workflow import PhotoUpload, enrol

NAME = "enrolment_throughput"
QUICK_ARGUMENTS = ["--photos", "60", "--gallery", "10000"]
STAGES = ("decode", "detect", "landmarks", "encode", "search", "commit")


def run(args: argparse.Namespace) -> dict[str, Any]:
    data = data_dir(args.data)
    people = sorted({p.parent for p in lfw_images(data)})
    photos = [sorted(folder.glob("*.jpg"))[0] for folder in people][: args.photos]
    generator = SyntheticFaces.load_or_fit(data)
    rng = np.random.default_rng(args.seed)
    person = Demographics.model_validate(
        {
            "given_name": "Test",
            "family_name": "Person",
            "date_of_birth": "1980-01-01",
            "sex": "X",
            "place_of_birth": "Belmopan",
            "nationality": "BLZ",
            "address": {"line1": "1 Main Street", "locality": "Belmopan", "country": "BLZ"},
        }
    )
    with tempfile.TemporaryDirectory(prefix="civid-enrol-bench-") as folder:
        services = bench_services(bench_settings(Path(folder)))
        if args.gallery:
            with progress() as bar:
                task = bar.add_task(f"gallery of {args.gallery:,} synthetic people", total=args.gallery)
                fill(
                    services,
                    generator.photos(generator.identities(args.gallery, rng), rng),
                    on_chunk=lambda n: bar.advance(task, n),
                )
        services.gallery.rebuild()
        actor = Actor(bench_officer(services), "benchmark officer", "officer")
        watch = Stopwatch()
        outcomes: dict[str, int] = {}
        started = time.perf_counter()
        with progress() as bar:
            task = bar.add_task(f"enrolling {len(photos)} photos", total=len(photos))
            for path in photos:
                result = enrol(
                    services, actor, person, [PhotoUpload(path.read_bytes(), path.name, "image/jpeg")], watch=watch
                )
                outcomes[result.status] = outcomes.get(result.status, 0) + 1
                bar.advance(task)
        elapsed = time.perf_counter() - started
        accepted = outcomes.get("issued", 0) + outcomes.get("pending_adjudication", 0)
        services.close()
    per_stage = {
        stage: {
            "total_s": round(watch.seconds.get(stage, 0.0), 3),
            "ms_per_photo": round(
                1000 * watch.seconds.get(stage, 0.0) / max(1, _denominator(stage, len(photos), accepted)), 2
            ),
        }
        for stage in STAGES
    }
    record = {
        "photos": len(photos),
        "gallery": args.gallery,
        "elapsed_s": round(elapsed, 2),
        "photos_per_s": round(len(photos) / elapsed, 2),
        "outcomes": outcomes,
        "stages": per_stage,
        "image_size": "250x250 (LFW deep-funneled)",
    }
    console.print(
        table(
            f"Enrolment throughput: {record['photos_per_s']} photos/s over {len(photos)} photos, gallery "
            f"{args.gallery:,} (outcomes {outcomes})",
            ["stage", "ms per photo", "total s", "photos counted"],
            [
                [s, per_stage[s]["ms_per_photo"], per_stage[s]["total_s"], _denominator(s, len(photos), accepted)]
                for s in STAGES
            ],
        )
    )
    return save_result(NAME, record, save=not args.no_save)


def _denominator(stage: str, photos: int, accepted: int) -> int:
    """decode/detect/landmarks run on every photo; encode, search and commit on accepted ones."""
    return photos if stage in ("decode", "detect", "landmarks") else accepted


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(result)
    result.add_argument("--photos", type=int, default=300)
    result.add_argument("--gallery", type=int, default=100_000, help="synthetic people enrolled beforehand")
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parser().parse_args(argv)
    print_machine(machine())
    return run(args)


if __name__ == "__main__":
    main()
