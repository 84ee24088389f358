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
- finger: MCC similarity (``matcher.mcc``) of FVC2002 B DB1-4 pairs, genuine = all 28 pairs per finger,
  impostor = all cross-finger pairs of the same database. civid stores both kinds of finger template
  (minutiae MINDTCT extracted from enrolment images, and imported ISO/IEC 19794-2 records), so the two
  sources are pooled: MINDTCT-from-images pairs and SecuGen-record pairs, each compared within its
  source (SecuGen's records use a 300x400 frame unlike the images, so cross-source pairs are not made);
- held-out check: persons (face) and fingers (finger) are split in two halves with a seeded shuffle
  (fingers: by finger within each database). The map fitted on half A is scored on half B: Cllr
  (bits; 0 perfect, 1 = a map that always says LLR 0), and the FNMR / FMR of the decision LLR >= t
  at t = 0, 2, 4 (an LLR of 4 claims 10,000:1 odds);
- finally the map is fitted on all the data and written to ``matcher/calibration.json`` with a
  "source" line naming the data, the date and the commit (``--no-write`` to leave the file alone).

    python -m benchmarks.fusion_calibration
    python -m benchmarks.fusion_calibration --quick    # 300 LFW persons, FVC DB1 only; never writes the file
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
from benchmarks.finger_accuracy import (
    DATABASES,
    FingerSample,
    fvc_pairs,
    load_templates,
    mcc_available,
    mcc_cylinders,
    mcc_scores,
)

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


def finger_scores(data: Path, databases: tuple[int, ...], workers: int) -> list[dict[str, Any]]:
    """MCC scores of every FVC genuine and cross-finger impostor pair, per source and database, with finger ids."""
    rows: list[dict[str, Any]] = []
    for source in FINGER_SOURCES:
        samples: list[FingerSample] = load_templates(data, source, databases, workers)
        cylinders, _ = mcc_cylinders(samples)
        for database in databases:
            index = [k for k, s in enumerate(samples) if s.database == database]
            local = [samples[k] for k in index]
            pairs = fvc_pairs(local)
            for kind, chosen in (("genuine", pairs.genuine), ("impostor", pairs.impostor_all)):
                scores, _ = mcc_scores([cylinders[k] for k in index], chosen, f"DB{database} {source} {kind}")
                for (i, j), score in zip(chosen, scores):
                    rows.append(
                        {
                            "source": source,
                            "database": database,
                            "kind": kind,
                            "score": float(score),
                            "fingers": (local[i].finger, local[j].finger),
                        }
                    )
    return rows


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
    g, i = llr_of(calibration, genuine), llr_of(calibration, impostor)
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
        "llr_range": [float(calibration.llr[0]), float(calibration.llr[-1])],
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
    databases = (1,) if args.quick else DATABASES

    # Face: persons split in halves by a seeded shuffle.
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
    face_half = fit(FACE, fit_g, fit_i, rng)
    face_all = fit(FACE, all_g, all_i, rng)
    quality = {FACE: calibration_quality(face_half, held_g, held_i)}
    counts = {
        FACE: {
            "images": len(vectors),
            "persons": len(persons),
            "fit_half": [len(fit_g), len(fit_i)],
            "held_out_half": [len(held_g), len(held_i)],
            "all": [len(all_g), len(all_i)],
        }
    }
    fitted = {FACE: face_all}

    # Finger: MCC, the two template sources pooled; fingers split per database by a seeded shuffle.
    mcc_missing = mcc_available()
    if mcc_missing:
        err_console.print(f"[yellow]{mcc_missing}: the finger calibration cannot be fitted[/]")
    else:
        rows = finger_scores(data, databases, args.workers)
        fit_fingers = {(db, f) for db in databases for f in rng.permutation(np.arange(101, 111))[:5].tolist()}

        def select(kind: str, half: str | None) -> NDArray[np.float32]:
            def in_half(r: dict[str, Any]) -> bool:
                sides = [(r["database"], f) in fit_fingers for f in r["fingers"]]
                return half is None or (all(sides) if half == "fit" else not any(sides))

            return np.array([r["score"] for r in rows if r["kind"] == kind and in_half(r)], np.float32)

        finger_half = fit(FINGER, select("genuine", "fit"), select("impostor", "fit"), rng)
        fitted[FINGER] = fit(FINGER, select("genuine", None), select("impostor", None), rng)
        quality[FINGER] = calibration_quality(finger_half, select("genuine", "held"), select("impostor", "held"))
        counts[FINGER] = {
            "fit_half": [len(select("genuine", "fit")), len(select("impostor", "fit"))],
            "held_out_half": [len(select("genuine", "held")), len(select("impostor", "held"))],
            "all": [len(select("genuine", None)), len(select("impostor", None))],
            "per_source_all": {
                s: [sum(1 for r in rows if r["source"] == s and r["kind"] == k) for k in ("genuine", "impostor")]
                for s in FINGER_SOURCES
            },
        }

    _print(quality, counts, fitted)
    source = _source_line(counts, databases, args, limit_people)
    written = None
    if FINGER in fitted and not args.quick and not args.no_write:
        payload = {
            "source": source,
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
            "databases": list(databases),
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


def _source_line(
    counts: dict[str, Any], databases: tuple[int, ...], args: argparse.Namespace, limit_people: int | None
) -> str:
    face = counts["face"]
    line = (
        f"benchmarks/fusion_calibration.py, {dt.date.today().isoformat()}, commit {git_commit()[:12]}, "
        f"seed {args.seed}. face: cosine of civid dlib descriptors, LFW deep-funneled A-L"
        f"{f' (first {limit_people} persons)' if limit_people else ''}, "
        f"{face['images']:,} images / {face['persons']:,} persons, "
        f"{face['all'][0]:,} genuine pairs (all same-person), {face['all'][1]:,} sampled cross-person impostor pairs "
        f"(at most {IMPOSTORS_PER_GENUINE} per genuine used in the fit), {KNOTS} quantile bins."
    )
    if "finger" in counts:
        finger = counts["finger"]
        line += (
            f" finger: MCC similarity, FVC2002 B DB{','.join(map(str, databases))}, MINDTCT-from-images and "
            f"SecuGen ISO 19794-2 records pooled (within-source pairs), {finger['all'][0]:,} genuine (28/finger) / "
            f"{finger['all'][1]:,} cross-finger impostor pairs (at most {IMPOSTORS_PER_GENUINE} per genuine used), "
            f"{KNOTS} quantile bins."
        )
    return line


def _print(quality: dict[str, Any], counts: dict[str, Any], fitted: dict[str, Any]) -> None:
    rows = []
    for modality, q in quality.items():
        c = counts[modality]
        cells = [
            modality,
            f"{c['fit_half'][0]:,} / {c['fit_half'][1]:,}",
            f"{q['genuine']:,} / {q['impostor']:,}",
            f"{q['cllr_bits']:.3f}",
        ]
        for t in LLR_THRESHOLDS:
            at = q["at_llr"][f"{t:g}"]
            cells.append(f"{at['fnmr']:.2%} / {_rate(at['fmr'], q['impostor'])} ({at['false_matches']:,})")
        rows.append(cells)
    console.print(
        table(
            "Calibration fitted on half A, checked on held-out half B (FNMR / FMR (false matches) of LLR ≥ t)",
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
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Entry point: parse ``argv`` and run."""
    return run(parser().parse_args(argv))


if __name__ == "__main__":
    main()
