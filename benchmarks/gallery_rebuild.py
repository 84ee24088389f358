"""How long does rebuilding the face gallery from the database take (the crash/restart path)?

A database is filled with N synthetic people (descriptors that mimic real dlib ones, see
``benchmarks.synthetic_faces``; sealed with AES-GCM like real templates), then ``GalleryStore.rebuild``
runs as ``civid index rebuild`` does: read every template, decrypt it, build the index, save it.
Timed by phase. Target (issue #2): 1M templates in <= 2 minutes.

    python -m benchmarks.gallery_rebuild --sizes 100000,1000000 [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from functools import partial
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
    machine,
    print_machine,
    progress,
    rss_mib,
    save_result,
    table,
)
from benchmarks.database_fill import fill
from benchmarks.synthetic_faces import SyntheticFaces

NAME = "gallery_rebuild"
QUICK_ARGUMENTS = ["--sizes", "20000"]


def run(args: argparse.Namespace) -> dict[str, Any]:
    generator = SyntheticFaces.load_or_fit(data_dir(args.data))
    rng = np.random.default_rng(args.seed)
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory(prefix="civid-rebuild-") as folder:
            settings = bench_settings(Path(folder), args.database_url)
            services = bench_services(settings)
            vectors = generator.photos(generator.identities(size, rng), rng)
            started = time.perf_counter()
            with progress() as bar:
                task = bar.add_task(f"filling database with {size:,} people", total=size)
                fill(services, vectors, on_chunk=partial(bar.advance, task))
            fill_seconds = time.perf_counter() - started
            started = time.perf_counter()
            count = services.gallery.rebuild(show_progress=True)
            rebuild_seconds = time.perf_counter() - started
            started = time.perf_counter()
            reopened = bench_services(settings, open_gallery=True)  # start-up path: load the saved file and reconcile
            load_seconds = time.perf_counter() - started
            assert len(reopened.gallery) == size == count
            rows.append(
                {
                    "size": size,
                    "index": services.gallery.kind,
                    "fill_s": round(fill_seconds, 1),
                    "rebuild_s": round(rebuild_seconds, 1),
                    "rate_per_s": round(size / rebuild_seconds),
                    "startup_load_s": round(load_seconds, 1),
                    "rss_mib": round(rss_mib()),
                    "database": services.engine.dialect.name,
                }
            )
            reopened.close()
            services.close()
            if args.database_url:
                _drop_all(services)
    console.print(
        table(
            "Gallery rebuild from the database (read + decrypt + index + save)",
            ["templates", "index", "database", "rebuild s", "templates/s", "start-up load s", "RSS MiB"],
            [
                [
                    f"{r['size']:,}",
                    r["index"],
                    r["database"],
                    r["rebuild_s"],
                    f"{r['rate_per_s']:,}",
                    r["startup_load_s"],
                    r["rss_mib"],
                ]
                for r in rows
            ],
        )
    )
    return save_result(NAME, {"rows": rows, "target": "1M templates rebuilt in <= 120 s"}, save=not args.no_save)


def _drop_all(services) -> None:  # type: ignore[no-untyped-def]
    from models import Base

    Base.metadata.drop_all(services.engine)


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(result)
    result.add_argument("--sizes", default="100000,1000000")
    result.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parser().parse_args(argv)
    print_machine(machine())
    return run(args)


if __name__ == "__main__":
    main()
