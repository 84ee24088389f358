"""1:1 accuracy of civid's fingerprint matchers on real fingers (FVC2002, the four public "B" databases).

Question: how well do civid's two comparison paths separate mated from non-mated fingerprints, from
either kind of template the service stores, and how fast are they? Four ways per database:
{minutiae extracted by civid from the images (``matcher.nbis_bridge.extract`` = NIST MINDTCT; DB2's
569 ppi images resampled to 500 ppi first), minutiae imported from SecuGen's ISO/IEC 19794-2:2005
records of the same impressions (``matcher.iso19794.decode``)} x {BOZORTH3 (``nbis_bridge.bozorth3``),
MCC (``matcher.mcc.similarity`` on ``matcher.mcc.cylinders``)}.

Protocol (FVC), per database of 10 fingers x 8 impressions:
- genuine: every pair of impressions of the same finger, 28 per finger, 280 per database;
- impostor "FVC": the first impression of each finger against the first impression of every other
  finger, 45 pairs. Too few for FMR 1e-2 or 1e-3 (one false match is already 2.2%): only the EER is
  reported on it;
- impostor "all": every cross-finger pair of impressions, 2,880 per database; the EER and FNMR at
  FMR 1e-2 and 1e-3 (the latter rests on 2 allowed false matches: coarse) come from this set.
Each unordered pair is compared once (lower file first as probe). A template without minutiae (failure
to extract) scores 0 against everything, so its genuine pairs count as misses, as FVC counts them.
Thresholds, EER and FNMR use the helpers of ``benchmarks.face_accuracy``.

Also reported: NFIQ 2 per image (mean, and how many images it failed on, with the reason), extraction
milliseconds per image (measured inside 2 worker processes on a shared machine: noisy), and
comparisons per second of each matcher (single process; BOZORTH3 timed through civid's bridge, which
converts both templates to nbis's layout on every call; MCC timed on precomputed cylinders, cylinder
building timed separately).

Extracted minutiae and NFIQ 2 are cached in ``benchmarks/cache/fvc2002-mindtct-<key>.json``; other
scripts (fusion_calibration.py, fusion.py) reuse ``load_templates`` and ``mcc_scores`` from here.

    python -m benchmarks.finger_accuracy            # all four databases
    python -m benchmarks.finger_accuracy --quick    # DB1 only
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
    err_console,
    machine,
    print_machine,
    progress,
    save_result,
    table,
)
from benchmarks.face_accuracy import equal_error_rate, false_non_match_rate, threshold_at_rate

NAME = "finger_accuracy"
FINGERPRINTS_FOLDER = Path("fingerprints")
FVC_FOLDER = FINGERPRINTS_FOLDER / "fvc2002"
COLLECTIONS = ("fvc2000", "fvc2002")  # folders under fingerprints/; FVC2000 has images only, no ISO records
DATABASES = (1, 2, 3, 4)
FINGERS = tuple(range(101, 111))
IMPRESSIONS = tuple(range(1, 9))
SCAN_PPI = {1: 500, 2: 569, 3: 500, 4: 500}  # FVC2002 B: DB2 was scanned at 569 ppi, the others at about 500
# FVC2000 B: all about 500 ppi, although its TIFFs declare 1 dpi (the declared resolution is ignored).
SCAN_PPI_BY_COLLECTION = {"fvc2002": SCAN_PPI, "fvc2000": {1: 500, 2: 500, 3: 500, 4: 500}}
FMR_TARGETS = (1e-2, 1e-3)
# Bump when the way minutiae are extracted changes, to invalidate the cache.
EXTRACTION_PIPELINE = "nbis_bridge.extract(ppi=scan ppi);v1"
ENHANCED_PIPELINE = "extraction.extract(extractor=enhanced);v1"  # bump when ridge_enhance or its filter changes
SOURCES = ("images", "records")
SOURCE_LABELS = {"images": "images → MINDTCT", "records": "SecuGen ISO records"}
MATCHERS = ("bozorth3", "mcc")

# Published figures to print beside ours (EER, %), per database 1..4.
REFERENCES: dict[tuple[str, str], tuple[str, tuple[float, ...]]] = {
    ("images", "bozorth3"): ("NIST MINDTCT+BOZORTH3 from images, all cross-finger impostors", (4.3, 2.6, 8.7, 5.3)),
    ("records", "bozorth3"): ("BOZORTH3 on the SecuGen records, FVC impostors", (16.0, 11.0, 18.0, 4.5)),
    ("records", "mcc"): ("OpenAFIS (triplets) on the SecuGen records, all cross-finger", (8.9, 9.6, 15.0, 7.1)),
}


# --- templates -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FingerSample:
    """One impression as a comparable template: where it came from and its standard finger view."""

    database: int
    finger: int  # 101..110 within its database
    impression: int  # 1..8
    view: Any  # matcher.iso19794.FingerView
    size: tuple[int, int]  # (width, height) of the minutiae's coordinate frame
    nfiq2: int | None = None
    nfiq2_error: str | None = None
    extract_ms: float = float("nan")
    error: str | None = None  # why no minutiae could be obtained (failure to extract / import)
    collection: str = "fvc2002"  # the folder under fingerprints/ ("fvc2000" or "fvc2002")
    pixels_per_cm: tuple[float, float] | None = None  # a record's declared (X, Y) resolution; None: 500 ppi pixels

    @property
    def key(self) -> str:
        return f"DB{self.database}_B/{self.finger}_{self.impression}"

    @property
    def identity(self) -> tuple[str, int, int]:
        """The finger: (collection, database, finger); fingers of different databases are different fingers."""
        return self.collection, self.database, self.finger


def fvc_folder(data: Path, database: int, collection: str = "fvc2002") -> Path:
    """``<data>/fingerprints/<collection>/DB<n>_B``; exit 2 when absent."""
    folder = data / FINGERPRINTS_FOLDER / collection / f"DB{database}_B"
    if not folder.is_dir():
        raise DataMissing(f"{folder} not found ({collection.upper()} B).")
    return folder


def _extract_file(task: tuple[str, int, str]) -> dict[str, Any]:
    """Worker: minutiae (by the named ``matcher.extraction.Extractor``) and NFIQ 2 of one TIFF, as plain values
    for the JSON cache."""
    import cv2

    from matcher.extraction import Extractor, extract

    path, ppi, extractor = task
    image = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if image is None:
        return {"error": "the image could not be read", "ms": float("nan")}
    started = time.perf_counter()
    try:
        found = extract(image, ppi=ppi, extractor=Extractor(extractor))
    except Exception as failure:  # noqa: BLE001 - a failure to extract is a figure, not a crash
        return {"error": f"{type(failure).__name__}: {failure}", "ms": (time.perf_counter() - started) * 1000}
    elapsed = (time.perf_counter() - started) * 1000
    return {
        "ms": elapsed,
        "width": found.width,
        "height": found.height,
        "nfiq2": found.nfiq2,
        "nfiq2_error": found.nfiq2_error,
        "minutiae": [[m.x, m.y, m.angle, int(m.type), m.quality] for m in found.minutiae],
    }


def _image_cache_path(data: Path, database: int, collection: str = "fvc2002", extractor: str = "mindtct") -> Path:
    import nbis  # noqa: F401 - its version keys the cache

    folder = fvc_folder(data, database, collection)
    digest = hashlib.sha256()
    version = getattr(sys.modules["nbis"], "__version__", "")
    # MINDTCT's key is the one it always had, so that its cache stays valid.
    for part in [
        EXTRACTION_PIPELINE if extractor == "mindtct" else f"{EXTRACTION_PIPELINE};{extractor};{ENHANCED_PIPELINE}",
        str(version),
        *(f"{p.name}:{p.stat().st_size}" for p in sorted(folder.glob("*.tif"))),
    ]:
        digest.update(part.encode() + b"\0")
    return CACHE_DIR / f"{collection}-{extractor}-DB{database}-{digest.hexdigest()[:16]}.json"


def image_templates(
    data: Path, databases: tuple[int, ...], workers: int = 2, collection: str = "fvc2002", extractor: str = "mindtct"
) -> list[FingerSample]:
    """Minutiae extracted from every image of ``databases`` by civid (``matcher.extraction``'s ``extractor``:
    MINDTCT unless said), from the cache when present."""
    from matcher.iso19794 import FingerView, Minutia, MinutiaType

    samples: list[FingerSample] = []
    for database in databases:
        cache = _image_cache_path(data, database, collection, extractor)
        keys = [(f, i) for f in FINGERS for i in IMPRESSIONS]
        if cache.exists():
            stored = json.loads(cache.read_text())
        else:
            folder = fvc_folder(data, database, collection)
            scan_ppi = SCAN_PPI_BY_COLLECTION[collection][database]
            tasks = [(str(folder / f"{f}_{i}.tif"), scan_ppi, extractor) for f, i in keys]
            stored = {}
            context = multiprocessing.get_context("spawn")
            with progress() as bar, context.Pool(workers) as pool:
                label = (
                    f"{extractor} DB{database}" if collection == "fvc2002" else f"{extractor} {collection} DB{database}"
                )
                task = bar.add_task(f"{label} ({workers} workers)", total=len(tasks))
                for (f, i), result in zip(keys, pool.imap(_extract_file, tasks, chunksize=4)):
                    stored[f"{f}_{i}"] = result
                    bar.advance(task)
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp")
            tmp.write_text(json.dumps(stored))
            os.replace(tmp, cache)
        for f, i in keys:
            entry = stored[f"{f}_{i}"]
            minutiae = tuple(
                Minutia(x=x, y=y, angle=a, type=MinutiaType(t), quality=q)
                for x, y, a, t, q in entry.get("minutiae", [])
            )
            error = entry.get("error") or (None if minutiae else "MINDTCT found no minutiae")
            samples.append(
                FingerSample(
                    database,
                    f,
                    i,
                    FingerView(position=0, minutiae=minutiae),
                    (entry.get("width", 0), entry.get("height", 0)),
                    entry.get("nfiq2"),
                    entry.get("nfiq2_error"),
                    entry.get("ms", float("nan")),
                    error,
                    collection,
                )
            )
    return samples


def record_templates(data: Path, databases: tuple[int, ...]) -> list[FingerSample]:
    """Minutiae imported from SecuGen's ISO/IEC 19794-2:2005 records with civid's codec (first view)."""
    from matcher.iso19794 import FingerView, decode

    samples: list[FingerSample] = []
    for database in databases:
        folder = fvc_folder(data, database)
        for f in FINGERS:
            for i in IMPRESSIONS:
                started = time.perf_counter()
                try:
                    record = decode((folder / f"{f}_{i}.iso").read_bytes())
                    view = record.views[0] if record.views else FingerView(position=0, minutiae=())
                    size, error = (record.width, record.height), None if view.minutiae else "record has no minutiae"
                    resolution: tuple[float, float] | None = (record.x_resolution, record.y_resolution)
                except Exception as failure:  # noqa: BLE001 - a record we cannot import is a figure
                    view, size, error = (
                        FingerView(position=0, minutiae=()),
                        (0, 0),
                        f"{type(failure).__name__}: {failure}",
                    )
                    resolution = None
                elapsed = (time.perf_counter() - started) * 1000
                samples.append(
                    FingerSample(database, f, i, view, size, extract_ms=elapsed, error=error, pixels_per_cm=resolution)
                )
    return samples


def load_templates(
    data: Path, source: str, databases: tuple[int, ...], workers: int = 2, collection: str = "fvc2002"
) -> list[FingerSample]:
    """Templates of one source ("images": MINDTCT, "masked" or "enhanced": ``matcher.extraction``'s extractors, or
    "records") for ``databases`` of ``collection`` (FVC2002 unless said), ordered by database, finger,
    impression. Only FVC2002 has records."""
    if source == "images":
        return image_templates(data, databases, workers, collection)
    if source in ("enhanced", "masked"):
        return image_templates(data, databases, workers, collection, extractor=source)
    if source == "records":
        if collection != "fvc2002":
            raise ValueError(f"{collection} has no ISO records (only FVC2002 has)")
        return record_templates(data, databases)
    raise ValueError(f"unknown template source {source!r}")


# --- pairs and scores -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pairs:
    """Index pairs (i, j), i < j, into one database's samples, by FVC role."""

    genuine: NDArray[np.int64]  # (280, 2)
    impostor_all: NDArray[np.int64]  # (2880, 2)
    impostor_fvc: NDArray[np.int64]  # (45, 2), a subset of impostor_all
    fvc_in_all: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))  # rows of impostor_all


def fvc_pairs(samples: list[FingerSample]) -> Pairs:
    """The FVC genuine, first-vs-first impostor and all cross-finger impostor pairs among ``samples``."""
    genuine, impostor_all, fvc_rows = [], [], []
    for i, j in itertools.combinations(range(len(samples)), 2):
        a, b = samples[i], samples[j]
        if (a.collection, a.database) != (b.collection, b.database):
            continue
        if a.identity == b.identity:
            genuine.append((i, j))
        else:
            if a.impression == 1 and b.impression == 1:
                fvc_rows.append(len(impostor_all))
            impostor_all.append((i, j))
    all_pairs = np.array(impostor_all, np.int64).reshape(-1, 2)
    rows = np.array(fvc_rows, np.int64)
    return Pairs(np.array(genuine, np.int64).reshape(-1, 2), all_pairs, all_pairs[rows], rows)


def timed_pair_scores(
    label: str, pairs: NDArray[np.int64], score_pair: Callable[[int, int], float]
) -> tuple[NDArray[np.float32], float]:
    """``score_pair(i, j)`` for every pair with a progress bar, and the seconds spent comparing."""
    scores = np.zeros(len(pairs), np.float32)
    elapsed = 0.0
    with progress() as bar:
        task = bar.add_task(label, total=len(pairs))
        for row, (i, j) in enumerate(pairs):
            started = time.perf_counter()
            scores[row] = score_pair(int(i), int(j))
            elapsed += time.perf_counter() - started
            bar.advance(task)
    return scores, elapsed


def bozorth3_scores(
    samples: list[FingerSample], pairs: NDArray[np.int64], label: str
) -> tuple[NDArray[np.float32], float]:
    """BOZORTH3 score of every pair (0 where a side has no minutiae), and the seconds spent comparing."""
    from matcher.nbis_bridge import bozorth3

    def score(i: int, j: int) -> float:
        a, b = samples[i], samples[j]
        return bozorth3(a.view, b.view, a.size, b.size) if a.error is None and b.error is None else 0.0

    return timed_pair_scores(f"BOZORTH3 {label}", pairs, score)


def mcc_cylinders(samples: list[FingerSample]) -> tuple[list[Any], float]:
    """MCC cylinders of every sample (None for a sample without minutiae), and the seconds spent building."""
    from matcher import mcc
    from matcher.iso19794 import minutiae_array

    built: list[Any] = []
    started = time.perf_counter()
    for sample in samples:
        built.append(mcc.cylinders(minutiae_array(sample.view)) if sample.error is None else None)
    return built, time.perf_counter() - started


def mcc_scores(cylinders: list[Any], pairs: NDArray[np.int64], label: str) -> tuple[NDArray[np.float32], float]:
    """MCC (LSS-R) similarity of every pair (0 where a side has no cylinders), and the seconds spent comparing."""
    from matcher import mcc

    def score(i: int, j: int) -> float:
        a, b = cylinders[i], cylinders[j]
        return float(mcc.similarity(a, b)) if a is not None and b is not None else 0.0

    return timed_pair_scores(f"MCC {label}", pairs, score)


def mcc_available() -> str | None:
    """None when matcher.mcc can be imported with the expected API, else why not."""
    try:
        from matcher import mcc
    except Exception as failure:  # noqa: BLE001 - absent or broken module: reported, the rest still runs
        return f"matcher.mcc unavailable ({type(failure).__name__}: {failure})"
    missing = [name for name in ("cylinders", "similarity") if not hasattr(mcc, name)]
    return f"matcher.mcc lacks {', '.join(missing)}" if missing else None


# --- figures ---------------------------------------------------------------------------------------------
def accuracy(
    genuine: NDArray[np.float32], impostor_all: NDArray[np.float32], impostor_fvc: NDArray[np.float32]
) -> dict[str, Any]:
    """EER on both impostor sets; FNMR at FMR 1e-2 and 1e-3 (with thresholds) on the 2,880-pair set."""
    g, i_all, i_fvc = np.sort(genuine), np.sort(impostor_all), np.sort(impostor_fvc)
    eer_fvc, _ = equal_error_rate(g, i_fvc)
    eer_all, eer_threshold = equal_error_rate(g, i_all)
    operating = {}
    for rate in FMR_TARGETS:
        threshold, achieved = threshold_at_rate(i_all, rate)
        operating[f"{rate:.0e}"] = {
            "threshold": threshold,
            "achieved_fmr": achieved,
            "allowed_false_matches": math.floor(rate * len(i_all)),
            "fnmr": false_non_match_rate(g, threshold),
        }
    return {
        "genuine_pairs": len(g),
        "impostor_pairs_fvc": len(i_fvc),
        "impostor_pairs_all": len(i_all),
        "eer_fvc": eer_fvc,
        "eer_all": eer_all,
        "eer_all_threshold": eer_threshold,
        "fnmr_at_fmr_all": operating,
        "fmr_on_fvc_set": "not resolvable: 45 pairs, one false match = 2.2%",
        "genuine_mean": float(g.mean()),
        "impostor_all_mean": float(i_all.mean()),
    }


def template_summary(samples: list[FingerSample]) -> dict[str, Any]:
    """Failures, minutiae counts, NFIQ 2 and extraction time of one database's templates."""
    failed = [s for s in samples if s.error is not None]
    nfiq = [s.nfiq2 for s in samples if s.nfiq2 is not None]
    nfiq_failed = [s for s in samples if s.error is None and s.nfiq2 is None and s.nfiq2_error]
    counts = [len(s.view.minutiae) for s in samples]
    times = [s.extract_ms for s in samples if not math.isnan(s.extract_ms)]
    return {
        "templates": len(samples),
        "failed_to_extract": len(failed),
        "failure_reasons": sorted({s.error for s in failed if s.error}),
        "minutiae_mean": float(np.mean(counts)),
        "minutiae_min": int(np.min(counts)),
        "nfiq2_mean": float(np.mean(nfiq)) if nfiq else None,
        "nfiq2_scored": len(nfiq),
        "nfiq2_failed": len(nfiq_failed),
        "nfiq2_failure_reasons": sorted({s.nfiq2_error for s in nfiq_failed}),
        "extract_ms_mean": float(np.mean(times)) if times else None,
        "extract_ms_p95": float(np.percentile(times, 95)) if times else None,
    }


def _unfit(found: dict[str, Any]) -> str:
    """A template set's fitness count (``benchmarks.fitness.summary``): refused, or flagged where not enforced."""
    reasons = ", ".join(f"{code} {n}" for code, n in found["reasons"].items())
    count = f"{found['refused']}" if found["enforced"] else f"{found['refused']} flagged"
    return count + (f" · {reasons}" if reasons else "")


def _percent(value: float | None) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2%}"


# --- the run ---------------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    """Extract, compare, print the tables, save the record; returns the record."""
    info = machine()
    print_machine(info)
    data = data_dir(args.data)
    databases = (1,) if args.quick else tuple(args.databases)
    mcc_missing = mcc_available()
    if mcc_missing:
        err_console.print(f"[yellow]{mcc_missing}: the MCC ways are left out of this run[/]")
    matchers = tuple(m for m in MATCHERS if m != "mcc" or mcc_missing is None)

    from benchmarks import fitness

    limits = fitness.default_limits()
    templates: dict[str, list[FingerSample]] = {}
    for source in SOURCES:
        templates[source] = load_templates(data, source, databases, workers=args.workers)

    results: dict[str, Any] = {}
    speed: dict[str, dict[str, float]] = {m: {"comparisons": 0, "seconds": 0.0} for m in matchers}
    cylinder_seconds = {"count": 0, "seconds": 0.0}
    summaries: dict[str, dict[str, Any]] = {}
    for database in databases:
        for source in SOURCES:
            samples = [s for s in templates[source] if s.database == database]
            summaries[f"DB{database}/{source}"] = {
                **template_summary(samples),
                "fitness": fitness.summary(samples, source, limits),
            }
            pairs = fvc_pairs(samples)
            everything = np.concatenate([pairs.genuine, pairs.impostor_all])
            for matcher in matchers:
                label = f"DB{database} {SOURCE_LABELS[source]}"
                if matcher == "bozorth3":
                    scores, seconds = bozorth3_scores(samples, everything, label)
                else:
                    cylinders, built = mcc_cylinders(samples)
                    cylinder_seconds["count"] += len(samples)
                    cylinder_seconds["seconds"] += built
                    scores, seconds = mcc_scores(cylinders, everything, label)
                speed[matcher]["comparisons"] += len(everything)
                speed[matcher]["seconds"] += seconds
                genuine, impostor_all = scores[: len(pairs.genuine)], scores[len(pairs.genuine) :]
                results[f"DB{database}/{source}/{matcher}"] = accuracy(
                    genuine, impostor_all, impostor_all[pairs.fvc_in_all]
                )

    _print_tables(databases, matchers, results, summaries, speed, cylinder_seconds, mcc_missing)
    record = {
        "arguments": {"quick": args.quick, "databases": list(databases), "workers": args.workers},
        "protocol": {"genuine_per_db": 280, "impostor_fvc_per_db": 45, "impostor_all_per_db": 2880},
        "mcc_missing": mcc_missing,
        "templates": summaries,
        "accuracy": results,
        "comparisons_per_second": {
            m: (s["comparisons"] / s["seconds"] if s["seconds"] else None) for m, s in speed.items()
        },
        "mcc_cylinder_ms": (1000 * cylinder_seconds["seconds"] / cylinder_seconds["count"])
        if cylinder_seconds["count"]
        else None,
        "references_eer_percent": {
            f"{s}/{m}": {"what": what, "eer": list(v)} for (s, m), (what, v) in REFERENCES.items()
        },
    }
    return save_result(NAME, record, save=not args.no_save)


def _print_tables(
    databases: tuple[int, ...],
    matchers: tuple[str, ...],
    results: dict[str, Any],
    summaries: dict[str, Any],
    speed: dict[str, Any],
    cylinder_seconds: dict[str, float],
    mcc_missing: str | None,
) -> None:
    rows = []
    for database in databases:
        for source in SOURCES:
            s = summaries[f"DB{database}/{source}"]
            reasons = "; ".join(s["nfiq2_failure_reasons"]) or "—"
            rows.append(
                (
                    f"DB{database} {SOURCE_LABELS[source]}",
                    s["templates"],
                    f"{s['failed_to_extract']}"
                    + (f" ({'; '.join(s['failure_reasons'])})" if s["failure_reasons"] else ""),
                    f"{s['minutiae_mean']:.1f} (min {s['minutiae_min']})",
                    "—" if s["nfiq2_mean"] is None else f"{s['nfiq2_mean']:.1f} ({s['nfiq2_scored']} scored)",
                    f"{s['nfiq2_failed']}" if source == "images" else "n/a",
                    reasons if source == "images" else "n/a",
                    "—"
                    if s["extract_ms_mean"] is None
                    else f"{s['extract_ms_mean']:.1f} (p95 {s['extract_ms_p95']:.1f})",
                    _unfit(s["fitness"]),
                )
            )
    console.print(
        table(
            "Templates (FTE = no minutiae obtained; image extraction times from 2 worker processes; unfit: "
            "benchmarks/fitness.py, records refused by the import, images' geometry flagged only; "
            "finger_too_few_minutiae is the quality gate's rejection)",
            [
                "database / source",
                "templates",
                "FTE",
                "minutiae mean",
                "NFIQ 2 mean",
                "NFIQ 2 failed",
                "NFIQ 2 failure reason",
                "ms per template (extract / import)",
                "unfit: refused (records) / flagged (images) · why",
            ],
            rows,
        )
    )
    rows = []
    for database in databases:
        for source in SOURCES:
            for matcher in matchers:
                r = results[f"DB{database}/{source}/{matcher}"]
                reference = REFERENCES.get((source, matcher))
                ops = r["fnmr_at_fmr_all"]
                rows.append(
                    (
                        f"DB{database} {SOURCE_LABELS[source]} · {matcher.upper()}",
                        f"{r['genuine_pairs']} / {r['impostor_pairs_fvc']} / {r['impostor_pairs_all']}",
                        _percent(r["eer_fvc"]),
                        _percent(r["eer_all"]),
                        f"{_percent(ops['1e-02']['fnmr'])} (t {ops['1e-02']['threshold']:.3g})",
                        f"{_percent(ops['1e-03']['fnmr'])} (t {ops['1e-03']['threshold']:.3g})",
                        f"{reference[1][database - 1]:.1f}%" if reference else "—",
                        ("FVC 45" if "FVC" in reference[0] else "all 2,880") if reference else "",
                    )
                )
    console.print(
        table(
            "1:1 accuracy, FVC2002 B (pairs genuine / FVC impostor / all cross-finger impostor). "
            "FMR 1e-2, 1e-3 cannot be resolved on the 45 FVC impostor pairs: FNMR is on the 2,880",
            [
                "database · source · matcher",
                "pairs",
                "EER (FVC 45)",
                "EER (all 2,880)",
                "FNMR @ FMR 1e-2",
                "FNMR @ FMR 1e-3 (2.88 allowed)",
                "reference EER",
                "reference set",
            ],
            rows,
        )
    )
    speed_rows = [
        (m.upper(), f"{s['comparisons']:,}", f"{s['comparisons'] / s['seconds']:,.0f}" if s["seconds"] else "—")
        for m, s in speed.items()
    ]
    if cylinder_seconds["count"]:
        speed_rows.append(
            (
                "MCC cylinder building",
                f"{int(cylinder_seconds['count']):,} templates",
                f"{1000 * cylinder_seconds['seconds'] / cylinder_seconds['count']:.2f} ms/template",
            )
        )
    if mcc_missing:
        speed_rows.append(("MCC", "—", mcc_missing))
    console.print(
        table(
            "Matcher speed, single process (BOZORTH3 includes civid's per-call template conversion)",
            ["matcher", "comparisons", "comparisons/s"],
            speed_rows,
        )
    )


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    result = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(result)
    result.add_argument("--quick", action="store_true", help="DB1 only")
    result.add_argument(
        "--databases",
        type=lambda s: [int(x) for x in s.split(",")],
        default=list(DATABASES),
        help="comma-separated FVC2002 databases (default 1,2,3,4)",
    )
    result.add_argument("--workers", type=int, default=2, help="processes extracting minutiae (first run only)")
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Entry point: parse ``argv`` and run."""
    return run(parser().parse_args(argv))


if __name__ == "__main__":
    main()
