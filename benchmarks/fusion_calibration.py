"""Fit ``matcher/calibration.json``: each modality's raw score mapped to a log10 likelihood ratio.

Question: what LLR does a face cosine similarity or a finger MCC similarity carry, and is the fitted
map honest on data it was not fitted on? Method (``matcher.fusion.fit_calibration``: quantile bins of
the pooled scores, log ratio of the two densities with a half-count prior, made monotone):
- face: cosine similarity of civid's dlib descriptors of LFW deep-funneled A-L (the cached descriptors
  of ``benchmarks.common``; images without a face left out). Genuine = every pair of images of one
  person (George_W_Bush alone gives about half of them); impostor = a seeded uniform sample of pairs of
  images of different persons (``--face-impostors``, default 2,000,000); the fit then uses at most 5
  impostor scores per genuine score (a random subset), because the bins are quantiles of the pooled
  scores and with every impostor score they would all fall in the impostor range;
- finger: MCC similarity (``matcher.mcc``) of FVC2000 B and FVC2002 B DB1-4 pairs (eight databases, six
  sensors), genuine = all 28 pairs per finger, impostor = all cross-finger pairs of the same database (the
  cached scores of ``benchmarks.finger_lodo``). civid stores both kinds of finger template (minutiae MINDTCT
  extracted from enrolment images, and imported ISO/IEC 19794-2 records), so the two sources are pooled:
  MINDTCT-from-images pairs of all eight databases and SecuGen-record pairs of FVC2002's four (records exist
  for FVC2002 only), each compared within its source;
- held-out check: face: persons split in two halves with a seeded shuffle, the map fitted on half A scored on
  half B: Cllr (bits; 0 perfect, 1 = a map that always says LLR 0), and the FNMR / FMR of the decision
  LLR >= t at t = 0, 2, 4 (an LLR of 4 claims 10,000:1 odds). Finger: leave-one-database-out (fitted on seven
  databases, scored on the eighth, ``benchmarks.finger_calibration``), the same figures over every held-out
  pair together;
- finally the maps are fitted on all the data and written to ``matcher/calibration.json`` with a "source" line
  naming the data, the date and the commit, and the per-finger cap ``finger_llr_cap``
  (``benchmarks.finger_calibration.FINGER_LLR_CAP``; ``--no-write`` to leave the file alone). ``--keep-face``
  keeps the face table already in the file (LFW descriptors cost tens of CPU-minutes on a fresh machine) and
  says so in the source line.

    python -m benchmarks.fusion_calibration --data ../shared/data
    python -m benchmarks.fusion_calibration --data ../shared/data --keep-face   # refit the finger table only
    python -m benchmarks.fusion_calibration --quick    # 300 LFW persons, FVC2002 DB1 only; never writes the file
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from numpy.typing import NDArray

from benchmarks.common import (
    REPO_ROOT,
    add_common_arguments,
    console,
    data_dir,
    err_console,
    git_commit,
    lfw_descriptors,
    lfw_images,
    machine,
    print_machine,
    progress,
    save_result,
    table,
)
from benchmarks.finger_accuracy import mcc_available
from benchmarks.finger_calibration import FINGER_LLR_CAP

NAME = "fusion_calibration"
CALIBRATION_PATH = REPO_ROOT / "matcher" / "calibration.json"
LLR_THRESHOLDS = (0.0, 2.0, 4.0)
KNOTS = 24  # fit_calibration's bins are quantiles of the pooled scores ...
# ... so impostors are subsampled to at most this many per genuine score for the fit: with all of them the
# bins all fall in the impostor range (tried on LFW: one bin above cosine 0.9, LLR capped at +1.7).
# 1:1 and 5:1 gave the same held-out Cllr (0.045 bits) on LFW; 5:1 keeps more of the impostor tail.
IMPOSTORS_PER_GENUINE = 5
FINGER_SOURCES = ("images", "records")


# --- scores ------------------------------------------------------------------------------------------------
def face_scores(
    vectors: NDArray[np.float32],
    people: NDArray[np.int64],
    keep: NDArray[np.bool_],
    impostor_sample: int | None,
    rng: np.random.Generator,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Genuine (all same-person pairs) and impostor cosine scores among the images where ``keep``.

    ``impostor_sample`` None: every cross-person pair; else that many pairs drawn uniformly (with replacement)."""
    v, p = vectors[keep], people[keep]
    genuine: list[NDArray[np.float32]] = []
    order = np.argsort(p, kind="stable")
    v, p = v[order], p[order]
    bounds = np.flatnonzero(np.diff(p)) + 1
    for start, stop in zip(np.r_[0, bounds], np.r_[bounds, len(p)]):
        if stop - start >= 2:
            block = v[start:stop] @ v[start:stop].T
            genuine.append(block[np.triu_indices(stop - start, 1)])
    genuine_scores = np.concatenate(genuine).astype(np.float32)
    if impostor_sample is None:
        impostor: list[NDArray[np.float32]] = []
        for start in range(0, len(v), 1024):
            block = v[start : start + 1024] @ v[start:].T
            rows = np.arange(start, min(start + 1024, len(v)))[:, None]
            columns = np.arange(start, len(v))[None, :]
            impostor.append(block[(columns > rows) & (p[start : start + 1024, None] != p[None, start:])])
        return genuine_scores, np.concatenate(impostor).astype(np.float32)
    a = rng.integers(0, len(v), impostor_sample * 2)
    b = rng.integers(0, len(v), impostor_sample * 2)
    different = p[a] != p[b]
    a, b = a[different][:impostor_sample], b[different][:impostor_sample]
    return genuine_scores, np.einsum("ij,ij->i", v[a], v[b]).astype(np.float32)


def finger_sources(data: Path, quick: bool, workers: int) -> dict[str, list[Any]]:
    """Per template source (finger_lodo pipeline), per database, the MCC genuine and impostor scores
    (``finger_lodo.DatabaseScores``; the images of every database, the records of FVC2002's), from finger_lodo's
    score cache where it has them. ``quick``: DB1 of each collection only."""
    from benchmarks.finger_lodo import DATABASES as ALL_DATABASES
    from benchmarks.finger_lodo import PIPELINES, database_scores

    chosen = [(c, n) for c, n in ALL_DATABASES if not quick or n == 1]
    sources: dict[str, list[Any]] = {}
    for pipeline in ("images·MINDTCT+MCC", "records·MCC"):
        sources[pipeline] = [
            database_scores(data, pipeline, collection, database, workers)[0]
            for collection, database in chosen
            if collection in PIPELINES[pipeline][2]
        ]
    return sources


def fit(modality: str, genuine: NDArray[np.float32], impostor: NDArray[np.float32], rng: np.random.Generator) -> Any:
    """``fit_calibration`` on all genuine scores and at most IMPOSTORS_PER_GENUINE impostors per genuine score."""
    from matcher.fusion import fit_calibration

    limit = IMPOSTORS_PER_GENUINE * len(genuine)
    if len(impostor) > limit:
        impostor = rng.choice(impostor, limit, replace=False)
    return fit_calibration(modality, genuine, impostor, knots=KNOTS)


# --- held-out quality ------------------------------------------------------------------------------------
def llr_of(calibration: Any, scores: NDArray[np.float32]) -> NDArray[np.float64]:
    """Vectorised ``Calibration.__call__`` (the same clamped piecewise-linear interpolation)."""
    return np.interp(scores.astype(np.float64), calibration.scores, calibration.llr)


def calibration_quality(
    calibration: Any, genuine: NDArray[np.float32], impostor: NDArray[np.float32]
) -> dict[str, Any]:
    """Cllr (bits) and FNMR/FMR of ``LLR >= t`` for t in LLR_THRESHOLDS, on held-out scores."""
    return llr_quality(
        llr_of(calibration, genuine), llr_of(calibration, impostor), (calibration.llr[0], calibration.llr[-1])
    )


def llr_quality(g: NDArray[np.float64], i: NDArray[np.float64], llr_range: tuple[float, float]) -> dict[str, Any]:
    """``calibration_quality`` of LLRs already computed (by one table or, out of fold, by several)."""
    # log2(1 + 10^-llr) computed stably via logaddexp in natural logs.
    ln10 = math.log(10)
    cllr = 0.5 * (np.logaddexp(0, -g * ln10).mean() + np.logaddexp(0, i * ln10).mean()) / math.log(2)
    at = {}
    for t in LLR_THRESHOLDS:
        false_matches = int((i >= t).sum())
        at[f"{t:g}"] = {"fnmr": float((g < t).mean()), "fmr": false_matches / len(i), "false_matches": false_matches}
    return {
        "genuine": len(g),
        "impostor": len(i),
        "cllr_bits": float(cllr),
        "at_llr": at,
        "llr_range": [float(llr_range[0]), float(llr_range[1])],
    }


def _rate(value: float, count: int) -> str:
    return f"{value:.2%}" if value * count >= 1 or value == 0 else f"{value:.1e}"


# --- the run ---------------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    """Fit on half, check on the other half, fit on all, print, write the file and the record."""
    from matcher.fusion import FACE, FINGER

    info = machine()
    print_machine(info)
    data = data_dir(args.data)
    rng = np.random.default_rng(args.seed)
    limit_people = 300 if args.quick else args.limit_people

    quality: dict[str, Any] = {}
    counts: dict[str, Any] = {}
    fitted: dict[str, Any] = {}
    if args.keep_face:
        from matcher.fusion import Fusion

        fitted[FACE] = Fusion.load(CALIBRATION_PATH).face
        counts[FACE] = {"kept": kept_face_source(json.loads(CALIBRATION_PATH.read_text())["source"])}
    else:
        fitted[FACE], quality[FACE], counts[FACE] = fit_face(data, limit_people, args, rng)

    # Finger: MCC, the two template sources pooled; checked leave-one-database-out.
    mcc_missing = mcc_available()
    if mcc_missing:
        err_console.print(f"[yellow]{mcc_missing}: the finger calibration cannot be fitted[/]")
    else:
        from benchmarks.finger_calibration import fold_tables, interpolate

        sources = [s for scores in finger_sources(data, args.quick, args.workers).values() for s in scores]
        tables = fold_tables(sources, args.seed)
        held: dict[str, list[NDArray[np.float64]]] = {"genuine": [], "impostor": []}
        for name, table in tables.items():
            for source in (s for s in sources if s.name == name):
                held["genuine"].append(interpolate(table, source.genuine))
                held["impostor"].append(interpolate(table, source.impostor))
        tops = [t.llr[-1] for t in tables.values()]
        quality[FINGER] = llr_quality(
            np.concatenate(held["genuine"]),
            np.concatenate(held["impostor"]),
            (min(t.llr[0] for t in tables.values()), max(tops)),
        )
        all_genuine = np.concatenate([s.genuine for s in sources])
        all_impostor = np.concatenate([s.impostor for s in sources])
        fitted[FINGER] = fit(FINGER, all_genuine, all_impostor, rng)
        counts[FINGER] = {
            "databases": list(tables),
            "sources": [f"{s.name}: {len(s.genuine)} / {len(s.impostor)}" for s in sources],
            "fit_half": ["leave-one-database-out", f"{len(tables)} folds"],
            "all": [len(all_genuine), len(all_impostor)],
            "out_of_fold_top_llr": [float(min(tops)), float(max(tops))],
        }

    _print(quality, counts, fitted)
    source = _source_line(counts, args, limit_people)
    written = None
    if FINGER in fitted and not args.quick and not args.no_write:
        payload = {
            "source": source,
            "finger_llr_cap": FINGER_LLR_CAP,
            **{
                m: {"scores": [round(s, 6) for s in c.scores], "llr": [round(v, 4) for v in c.llr]}
                for m, c in fitted.items()
            },
        }
        CALIBRATION_PATH.write_text(json.dumps(payload, indent=1) + "\n")
        written = str(CALIBRATION_PATH.relative_to(REPO_ROOT))
        err_console.print(f"[green]wrote {written}[/]")
    else:
        err_console.print(
            "[yellow]matcher/calibration.json left unchanged "
            f"({'quick run' if args.quick else 'no finger calibration' if FINGER not in fitted else '--no-write'})[/]"
        )
    record = {
        "arguments": {
            "quick": args.quick,
            "limit_people": limit_people,
            "face_impostors": args.face_impostors,
            "keep_face": args.keep_face,
            "seed": args.seed,
        },
        "mcc_missing": mcc_missing,
        "counts": counts,
        "held_out_quality": quality,
        "fitted": {m: {"scores": list(c.scores), "llr": list(c.llr)} for m, c in fitted.items()},
        "source": source,
        "written": written,
    }
    return save_result(NAME, record, save=not args.no_save)


def kept_face_source(source: str) -> str:
    """The face part ("face: ... bins.") of a previous source line, for a run that keeps that face table."""
    start = source.find("face:")
    stop = source.find(" finger:", start)
    return source[start : stop if stop > 0 else None].strip() if start >= 0 else "face: (source not stated)"


def _source_line(counts: dict[str, Any], args: argparse.Namespace, limit_people: int | None) -> str:
    face = counts["face"]
    line = (
        f"benchmarks/fusion_calibration.py, {dt.date.today().isoformat()}, commit {git_commit()[:12]}, "
        f"seed {args.seed}. "
    )
    if "kept" in face:
        line += f"{face['kept']} (face table kept from the previous fit, --keep-face; not refitted)."
    else:
        line += (
            "face: cosine of civid dlib descriptors, LFW deep-funneled A-L"
            f"{f' (first {limit_people} persons)' if limit_people else ''}, "
            f"{face['images']:,} images / {face['persons']:,} persons, "
            f"{face['all'][0]:,} genuine pairs (all same-person), {face['all'][1]:,} sampled cross-person impostor "
            f"pairs (at most {IMPOSTORS_PER_GENUINE} per genuine used in the fit), {KNOTS} quantile bins."
        )
    if "finger" in counts:
        finger = counts["finger"]
        low, high = finger["out_of_fold_top_llr"]
        line += (
            f" finger: MCC similarity, FVC2000 B + FVC2002 B DB1-4 ({len(finger['databases'])} databases, six "
            f"sensors): MINDTCT-from-images pairs of every database and SecuGen ISO 19794-2 record pairs of FVC2002 "
            f"pooled (within-source pairs), {finger['all'][0]:,} genuine (28/finger) / {finger['all'][1]:,} "
            f"cross-finger impostor pairs (at most {IMPOSTORS_PER_GENUINE} per genuine used), {KNOTS} quantile "
            f"bins; checked leave-one-database-out (benchmarks/finger_lodo.py; out-of-fold tables top out at LLR "
            f"{low:.2f}-{high:.2f}). One finger's LLR is capped at finger_llr_cap {FINGER_LLR_CAP:g}, below the "
            "dedup threshold. Fingers of one person are assumed independent (their LLRs add): FVC links no two "
            "fingers to one person (fingers of different databases are different fingers), so that dependence "
            "is not measured."
        )
    return line


def _print(quality: dict[str, Any], counts: dict[str, Any], fitted: dict[str, Any]) -> None:
    rows = []
    for modality, q in quality.items():
        c = counts[modality]
        cells = [
            modality,
            " / ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in c["fit_half"]),
            f"{q['genuine']:,} / {q['impostor']:,}",
            f"{q['cllr_bits']:.3f}",
        ]
        for t in LLR_THRESHOLDS:
            at = q["at_llr"][f"{t:g}"]
            cells.append(f"{at['fnmr']:.2%} / {_rate(at['fmr'], q['impostor'])} ({at['false_matches']:,})")
        rows.append(cells)
    console.print(
        table(
            "Calibration checked on data it was not fitted on (face: fitted on half the persons, scored on the other "
            "half; finger: leave-one-database-out, every held-out pair together): FNMR / FMR (false matches) of "
            "LLR ≥ t, before the per-finger cap",
            [
                "modality",
                "fit pairs gen / imp",
                "held-out pairs gen / imp",
                "Cllr (bits)",
                *[f"t = {t:g}" for t in LLR_THRESHOLDS],
            ],
            rows,
        )
    )
    for modality, calibration in fitted.items():
        console.print(
            table(
                f"Fitted on all data: {modality} knots (score → log10 LR)",
                ["score", "LLR"],
                [(f"{s:.4f}", f"{v:+.3f}") for s, v in zip(calibration.scores, calibration.llr)],
            )
        )


def fit_face(
    data: Path, limit_people: int | None, args: argparse.Namespace, rng: np.random.Generator
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The face table fitted on all LFW pairs, its quality fitted on half the persons and scored on the other half,
    and the pair counts."""
    from matcher.fusion import FACE

    descriptors = lfw_descriptors(data, lfw_images(data, limit_people), workers=args.workers)
    enrolled = descriptors.enrolled
    vectors = np.ascontiguousarray(descriptors.vectors[enrolled])
    people = descriptors.people[enrolled]
    persons = np.unique(people)
    half_a = np.isin(people, rng.permutation(persons)[: len(persons) // 2])
    with progress() as bar:
        task = bar.add_task("face scores (fit half, held-out half, all)", total=3)
        fit_g, fit_i = face_scores(vectors, people, half_a, args.face_impostors, rng)
        bar.advance(task)
        held_g, held_i = face_scores(vectors, people, ~half_a, None, rng)
        bar.advance(task)
        all_g, all_i = face_scores(vectors, people, np.ones(len(people), bool), args.face_impostors, rng)
        bar.advance(task)
    counts = {
        "images": len(vectors),
        "persons": len(persons),
        "fit_half": [len(fit_g), len(fit_i)],
        "held_out_half": [len(held_g), len(held_i)],
        "all": [len(all_g), len(all_i)],
    }
    return fit(FACE, all_g, all_i, rng), calibration_quality(fit(FACE, fit_g, fit_i, rng), held_g, held_i), counts


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    result = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(result)
    result.add_argument("--quick", action="store_true", help="300 LFW persons, FVC DB1; never writes the calibration")
    result.add_argument("--limit-people", type=int, default=None, help="only the first N LFW persons")
    result.add_argument(
        "--face-impostors", type=int, default=2_000_000, help="cross-person face pairs sampled for fitting"
    )
    result.add_argument("--workers", type=int, default=2, help="processes for descriptors / minutiae not yet cached")
    result.add_argument("--no-write", action="store_true", help="do not write matcher/calibration.json")
    result.add_argument(
        "--keep-face", action="store_true", help="keep the face table in matcher/calibration.json (no LFW descriptors)"
    )
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Entry point: parse ``argv`` and run."""
    return run(parser().parse_args(argv))


if __name__ == "__main__":
    main()
