"""Shared helpers for the benchmark scripts: the machine, the data folder, progress bars, results, caches.

The benchmark data (``../shared/data``) is real biometric data under research terms: it is read in
place and never copied into the repository. Derived descriptors are cached in ``benchmarks/cache/``
(gitignored) because computing them takes minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

if TYPE_CHECKING:
    from civid.settings import Settings
    from server.services import Services
    from tests.server import ServerProcess

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # so `python benchmarks/x.py` finds enrollment/ and matcher/
    sys.path.insert(0, str(REPO_ROOT))

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
CACHE_DIR = BENCH_DIR / "cache"
DATA_ENV = "CIVID_BENCH_DATA"
LFW_FOLDER = Path("faces") / "lfw-deepfunneled-a-to-l"
# Bump when the way a descriptor is computed changes (detector settings, face choice), to invalidate caches.
DESCRIPTOR_PIPELINE = "detect(max_side=1024,min_confidence=0.0);nearest-centre;landmarks68;resnet(jitter=1);v1"
DETECT_MAX_SIDE = 1024
DETECT_MIN_CONFIDENCE = 0.0

console = Console()
err_console = Console(stderr=True)


class DataMissing(SystemExit):
    """The benchmark data folder is absent: a message and exit code 2."""

    def __init__(self, message: str) -> None:
        err_console.print(f"[bold red]benchmark data missing:[/] {message}")
        super().__init__(2)


# --- arguments and data ----------------------------------------------------------------------------
def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark takes: where the data is, and whether to write results."""
    parser.add_argument(
        "--data", type=Path, default=None, help=f"benchmark data folder (default: ${DATA_ENV} or <repo>/../shared/data)"
    )
    parser.add_argument("--no-save", action="store_true", help="print only; do not append to benchmarks/results/")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of every random choice")


def data_dir(explicit: Path | None = None) -> Path:
    """The benchmark data folder: --data, else $CIVID_BENCH_DATA, else <repo>/../shared/data; exit 2 if absent."""
    from_environment = Path(os.environ[DATA_ENV]) if os.environ.get(DATA_ENV) else None
    folder = explicit or from_environment or REPO_ROOT.parent / "shared" / "data"
    if not folder.is_dir():
        raise DataMissing(f"{folder} is not a folder. Pass --data PATH or set {DATA_ENV}.")
    return folder


def lfw_images(data: Path, limit_people: int | None = None) -> list[Path]:
    """Every LFW image under the data folder, sorted by person then file name (optionally the first N people)."""
    root = data / LFW_FOLDER
    if not root.is_dir():
        raise DataMissing(f"{root} not found (LFW deep-funneled A-L).")
    people = sorted(p for p in root.iterdir() if p.is_dir())
    if limit_people:
        people = people[:limit_people]
    return [image for person in people for image in sorted(person.glob("*.jpg"))]


# --- the machine and the record ---------------------------------------------------------------------
def git_commit() -> str:
    """The checked-out commit, or "uncommitted" when there is none (read-only git call)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "uncommitted"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "uncommitted"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return float("nan")


def machine() -> dict[str, Any]:
    """CPU, cores, RAM and library versions, recorded with every result."""
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    for name in ("faiss", "dlib", "cv2"):
        try:
            info[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001 - a missing library is reported, not fatal
            info[name] = "absent"
    try:
        import faiss

        info["faiss_threads"] = faiss.omp_get_max_threads()
    except Exception:  # noqa: BLE001
        pass
    return info


def print_machine(info: dict[str, Any]) -> None:
    """One line describing the machine, above the benchmark's tables."""
    console.print(
        f"[dim]machine: {info['cpu']} · {info['cores']} cores · {info['ram_gib']} GiB RAM · python {info['python']}"
        f" · numpy {info['numpy']} · faiss {info['faiss']} (threads {info.get('faiss_threads', '?')})"
        f" · dlib {info['dlib']} · commit {git_commit()[:12]}[/]"
    )


def save_result(name: str, record: dict[str, Any], save: bool = True) -> dict[str, Any]:
    """Append the record (with commit, UTC time, machine) to results/<name>.json and write <name>.latest.json."""
    full = {
        "benchmark": name,
        "commit": git_commit(),
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **record,
    }
    if not save:
        return full
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    history_path = RESULTS_DIR / f"{name}.json"
    try:
        history = json.loads(history_path.read_text()) if history_path.exists() else []
        if not isinstance(history, list):
            history = [history]
    except ValueError:
        history = []
    history.append(full)
    history_path.write_text(json.dumps(history, indent=1) + "\n")
    (RESULTS_DIR / f"{name}.latest.json").write_text(json.dumps(full, indent=1) + "\n")
    err_console.print(f"[dim]results appended to {history_path.relative_to(REPO_ROOT)}[/]")
    return full


def progress() -> Progress:
    """A rich progress bar on stderr (stdout keeps only the tables)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )


def table(title: str, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> Table:
    """A rich table with right-aligned columns after the first; printed by the caller."""
    result = Table(title=title, title_justify="left")
    for position, column in enumerate(columns):
        result.add_column(column, justify="left" if position == 0 else "right")
    for row in rows:
        result.add_row(*(str(cell) for cell in row))
    return result


def rss_mib() -> float:
    """Resident memory of this process in MiB (Linux /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# --- civid itself: its services, or a real server, over a benchmark's own data folder -------------------
def bench_settings(folder: Path, database_url: str | None = None) -> Settings:
    """A benchmark's civid: its data in ``folder``, and its database there too (SQLite) unless ``database_url``."""
    from civid.settings import Settings

    return Settings(data_dir=folder, database_url=database_url)


def bench_services(settings: Settings, *, open_gallery: bool = False) -> Services:
    """civid's services built as the server builds them; the gallery is loaded only when asked (``open_gallery``)."""
    from server.services import build_services

    return build_services(settings, open_gallery=open_gallery)


@contextmanager
def civid_server(
    folder: Path, log_name: str, database_url: str | None = None, args: list[str] | None = None, **env: str
) -> Iterator[ServerProcess]:
    """A real ``civid serve`` in a child process on loopback (the tests' ``ServerProcess``), its data in ``folder``,
    its issuer ``http://localhost:<port>``, ``args`` after ``serve``, more ``CIVID_…`` settings in ``env``;
    stopped on leaving."""
    from tests.server import ServerProcess  # the same child-process server the tests use

    environment = {"CIVID_DATA_DIR": str(folder), **env}
    if database_url:
        environment["CIVID_DATABASE_URL"] = database_url
    server = ServerProcess(environment, folder / log_name, args or [])
    # civid serve refuses an issuer at an IP address (no passkey works there), and pages asked for at another host
    # are redirected to the issuer's: the benchmark talks to it by the issuer's own name.
    server.url = f"http://localhost:{server.port}"
    server.env["CIVID_ISSUER"] = server.url
    server.start(timeout=120)
    try:
        yield server
    finally:
        server.stop()


# --- LFW descriptors, computed once and cached --------------------------------------------------------
@dataclass(frozen=True)
class Descriptors:
    """Descriptors of a list of images. ``vectors`` shape (n, 128), NaN rows where no face was found."""

    paths: list[str]  # relative to the data folder
    people: NDArray[np.int64]  # person index per image, shape (n,)
    vectors: NDArray[np.float32]  # L2-normalised, shape (n, 128)
    face_counts: NDArray[np.int16]  # faces the detector found per image, shape (n,)

    @property
    def enrolled(self) -> NDArray[np.bool_]:
        """True where a face was found and encoded."""
        return self.face_counts > 0


_worker_engine = None


def _worker_init() -> None:
    global _worker_engine
    from enrollment.face import FaceEngine

    _worker_engine = FaceEngine()


def _describe(path: str) -> tuple[int, NDArray[np.float32] | None]:
    """Face count and descriptor of the face nearest the image centre (the labelled person in LFW)."""
    import cv2

    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        return 0, None
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    boxes = _worker_engine.detect(rgb, max_side=DETECT_MAX_SIDE, min_confidence=DETECT_MIN_CONFIDENCE)
    if not boxes:
        return 0, None
    height, width = rgb.shape[:2]
    box = min(boxes, key=lambda b: ((b.left + b.right - width) / 2) ** 2 + ((b.top + b.bottom - height) / 2) ** 2)
    return len(boxes), _worker_engine.encode(rgb, _worker_engine.landmarks(rgb, box))


def _cache_key(relative: list[str]) -> str:
    import dlib

    digest = hashlib.sha256()
    for part in [DESCRIPTOR_PIPELINE, dlib.__version__, *relative]:
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:16]


def lfw_descriptors(data: Path, images: list[Path], workers: int = 2) -> Descriptors:
    """Descriptors of ``images``, from benchmarks/cache/ when this exact file list was done before."""
    relative = [str(p.relative_to(data)) for p in images]
    person_names = [Path(r).parent.name for r in relative]
    _, people = np.unique(np.array(person_names), return_inverse=True)
    cache = CACHE_DIR / f"lfw-descriptors-{_cache_key(relative)}.npz"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as stored:
            if list(stored["paths"]) == relative:
                return Descriptors(relative, people.astype(np.int64), stored["vectors"], stored["face_counts"])
    vectors = np.full((len(images), 128), np.nan, dtype=np.float32)
    face_counts = np.zeros(len(images), dtype=np.int16)
    context = multiprocessing.get_context("spawn")  # each worker loads its own dlib models
    with progress() as bar, context.Pool(workers, initializer=_worker_init) as pool:
        task = bar.add_task(f"descriptors ({workers} workers)", total=len(images))
        for position, (count, vector) in enumerate(pool.imap(_describe, [str(p) for p in images], chunksize=16)):
            face_counts[position] = count
            if vector is not None:
                vectors[position] = vector
            bar.advance(task)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, paths=np.array(relative), vectors=vectors, face_counts=face_counts)
    os.replace(tmp, cache)
    return Descriptors(relative, people.astype(np.int64), vectors, face_counts)
