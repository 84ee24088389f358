"""Fused face + finger deduplication on chimeric identities (LFW faces x FVC2000 + FVC2002 fingers).

Question: does adding fingerprints to the face make 1:N deduplication safer, at which fused-LLR
threshold, and what happens to a person enrolled without fingers? No real set has both a face and
fingerprints of the same persons, so identities are chimeras: a real LFW person (deep-funneled A-L,
at least two images with a face found) is given one or more real FVC B fingers (FVC2000 and FVC2002
DB1-4: 80 fingers), each finger to exactly one identity. Face and finger of a chimera are independent, and
so are its fingers (they come from different persons, often different sensors), as ``matcher.fusion``
assumes of a real person: the figures show what fusion gains under that assumption, not that it holds.
FVC links no two fingers to one person, so the dependence between the fingers of one person cannot be
measured on it (stated in the JSON as ``finger_dependence``).

Protocol:
- identities: ``80 // fingers`` chimeras (FVC2000 + FVC2002 B hold 80 distinct fingers, 8 databases x 10,
  each in 8 impressions), persons drawn at random (seeded) among those with >= 2 enrolled images, fingers
  shuffled (seeded): 80 identities with one finger, 40 with two (``--fingers-per-identity 1,2``); a
  finger's position in the identity (1, 2, ...) is only a label, compared with the same position;
- gallery: each identity enrolled with its first photo and the first impression of each finger;
- mated searches: photo t + impression t+1 of every finger, t = 1 .. min(photos - 1, 7) (8 impressions);
- non-mated searches: the same probes against the gallery without their own identity (leave-one-out);
- scores: face = cosine of civid's dlib descriptors (benchmarks.common cache); finger = MCC similarity
  (``matcher.mcc``) of minutiae MINDTCT extracted from the images (``--finger-source records`` for the
  SecuGen ISO records instead, FVC2002 only); face mapped to log10 LR by ``matcher/calibration.json``'s
  face table; each finger **out of fold**: by the table the shipped method fits on the seven other
  databases (``benchmarks.finger_calibration``, images and records pooled), floored and capped at
  ``finger_llr_cap`` as ``Fusion.fuse`` does, the probe finger's database being the one left out; then
  added (the vectorised sum is checked against ``Fusion.fuse``). Face-only and finger-only are the same
  searches scored by one modality's LLR alone;
- 1:N figures (as benchmarks/face_accuracy.py): rank-1 hit rate (the mate strictly above every other
  entry); FNIR at FPIR 1e-2 (a mated search is missed unless its mate is at rank 1 at or above the
  threshold where 1% of non-mated searches return a candidate; with under 100 non-mated searches
  that rate cannot be resolved, and it is reported as such), and likewise at FPIR 1e-3; FPIR and FNIR at
  fused-LLR thresholds 0, 2, 3, 4, 6, 8;
- per comparison: the fused-LLR threshold whose impostor comparisons (every probe x every non-mate
  gallery entry) give FMR <= 1e-3 and <= 1e-4, and the FNMR of mated comparisons there. A few thousand
  impostor comparisons cannot resolve 1e-4, so the same question is also answered "by independence":
  the fused LLR distribution of a chimera is the convolution of the face LLR distribution (every LFW
  pair of the LFW images loaded) with the finger LLR distribution (every FVC pair of the chosen source,
  each by its out-of-fold table: 23,040 impostor, 2,240 genuine from images), once per finger (fingers of
  one person treated as independent too, which real fingers are not quite), up to four fingers.
  Histograms in steps of 0.01 LLR; thresholds for FMR 1e-3, 1e-4, 1e-6, 1e-8 and 1e-9, with a note where a
  rate is below what the measured impostor counts support directly;
- extrapolation to larger galleries (``extrapolated``): FNIR at FPIR 1e-2 and 1e-3 for a gallery of N
  (10^4, 10^5, 10^6) as the FNMR at the per-comparison threshold whose impostor tail (by independence,
  above) is FPIR / N. Assumptions: a non-mated search's N comparisons are independent (FPIR = 1 - (1 -
  FMR)^N ~ N * FMR), the mate is found when its fused LLR clears the threshold (rank ignored), face and
  fingers and the fingers among themselves independent, and the tails below the measured counts follow
  the calibration's clamped ends;
- mixed gallery and the face-only fallback: every LFW person enrolled by their first photo (~5.7k
  entries), only the chimeras with fingers. Chimera probes (with fingers) are searched fused and face
  only; persons without fingers are searched by face alone (mated: their other photos, at most 7;
  non-mated: persons with one image, leave-one-out, as in face_accuracy.py). A missing modality adds 0.

Caveat: the face table in matcher/calibration.json was fitted on these same LFW scores, so the face part
is in-sample; the finger part is out of fold as said above. ``--limit-people N`` restricts LFW to its
first N persons (alphabetical) where the descriptors of all 8,292 images cost too long.

    python -m benchmarks.fusion --data ../shared/data
    python -m benchmarks.fusion --data ../shared/data --limit-people 600
    python -m benchmarks.fusion --quick     # DB1 of FVC2000 and FVC2002 only (20 fingers), 300 LFW persons
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
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
    lfw_descriptors,
    lfw_images,
    machine,
    print_machine,
    progress,
    save_result,
    table,
)
from benchmarks.face_accuracy import false_non_match_rate, threshold_at_rate
from benchmarks.finger_accuracy import IMPRESSIONS, load_templates, mcc_available, mcc_cylinders
from benchmarks.finger_lodo import DATABASES as FVC_DATABASES
from benchmarks.finger_lodo import FINGER_DEPENDENCE
from matcher.fusion import LLR_FLOOR

NAME = "fusion"
LLR_THRESHOLDS = (0.0, 2.0, 3.0, 4.0, 6.0, 8.0)
FPIR_TARGETS = (1e-2, 1e-3)
EXTRAPOLATED_GALLERIES = (10_000, 100_000, 1_000_000)
MAX_FINGERS_BY_INDEPENDENCE = 4
FMR_TARGETS = (1e-3, 1e-4)
MAX_PROBES = len(IMPRESSIONS) - 1  # impression 1 is enrolled; 2..8 probe
MODES = ("face only", "finger only", "fused")


@dataclass(frozen=True)
class Chimera:
    """One chimeric identity: an LFW person's enrolled image rows and the FVC fingers given to them."""

    person: int
    images: tuple[int, ...]  # rows of the enrolled descriptors, first = enrolled photo
    fingers: tuple[int, ...]  # finger numbers 0..79 (database-major, FVC_DATABASES order), position k+1 = fingers[k]

    @property
    def probe_count(self) -> int:
        return min(len(self.images) - 1, MAX_PROBES)


# --- scores ------------------------------------------------------------------------------------------------
def template_index(finger: int, impression: int) -> int:
    """Row of a finger's impression in ``load_templates`` order (database, finger, impression)."""
    return finger * len(IMPRESSIONS) + impression - 1


def chimera_scores(
    chimeras: list[Chimera], vectors: NDArray[np.float32], cylinders: list[Any], label: str
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Face cosine (P, G) and per-position MCC (P, G, F) of every chimera probe against every chimera entry.

    Also returns the gallery column of each probe's own identity (P,)."""
    from matcher import mcc

    probes = [(k, t) for k, c in enumerate(chimeras) for t in range(1, c.probe_count + 1)]
    owner = np.array([k for k, _ in probes], np.int64)
    probe_faces = vectors[[chimeras[k].images[t] for k, t in probes]]
    gallery_faces = vectors[[c.images[0] for c in chimeras]]
    face = (probe_faces @ gallery_faces.T).astype(np.float64)
    positions = len(chimeras[0].fingers)
    finger = np.zeros((len(probes), len(chimeras), positions))
    with progress() as bar:
        task = bar.add_task(f"MCC {label}", total=finger.size)
        for row, (k, t) in enumerate(probes):
            for position in range(positions):
                probe = cylinders[template_index(chimeras[k].fingers[position], t + 1)]
                for column, other in enumerate(chimeras):
                    reference = cylinders[template_index(other.fingers[position], 1)]
                    finger[row, column, position] = (
                        mcc.similarity(probe, reference) if probe is not None and reference is not None else 0.0
                    )
                bar.advance(task, len(chimeras))
    return face, finger, owner


def llr(calibration: Any, scores: NDArray[np.float64]) -> NDArray[np.float64]:
    """``Fusion.fuse``'s per-comparison LLR on an array: the clamped interpolation, floored at LLR_FLOOR."""
    return np.maximum(np.interp(scores, calibration.scores, calibration.llr), LLR_FLOOR)


@dataclass(frozen=True)
class FingerFolds:
    """Per FVC database (by label, e.g. "FVC2000 DB1"), the finger table fitted without it, and the cap."""

    tables: dict[str, Any]
    cap: float
    databases: tuple[str, ...]  # label of finger k // 10, in finger-number order

    def database_of(self, finger: int) -> str:
        return self.databases[finger // 10]

    def llr(self, finger: int, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """``Fusion.finger_llr`` on an array, by the table fitted without ``finger``'s database."""
        return np.minimum(llr(self.tables[self.database_of(finger)], scores), self.cap)

    def fusion(self, fusion: Any, finger: int) -> Any:
        """``fusion`` with ``finger``'s out-of-fold table in place of the shipped one."""
        from dataclasses import replace

        return replace(fusion, finger=self.tables[self.database_of(finger)], finger_llr_cap=self.cap)


def finger_llrs(
    chimeras: list[Chimera], owner: NDArray[np.int64], finger: NDArray[np.float64], folds: FingerFolds
) -> NDArray[np.float64]:
    """Per-position finger LLRs (P, G, F), each probe finger by the table fitted without its database."""
    result = np.empty_like(finger)
    for row, k in enumerate(owner.tolist()):
        for position, number in enumerate(chimeras[k].fingers):
            result[row, :, position] = folds.llr(number, finger[row, :, position])
    return result


def check_against_fuse(
    fusion: Any,
    probe_fingers: list[tuple[int, ...]],
    folds: FingerFolds,
    face: NDArray[np.float64],
    finger: NDArray[np.float64],
    fused: NDArray[np.float64],
) -> None:
    """Fail loudly if the vectorised sum differs from ``Fusion.fuse`` on a few entries (the face by the shipped
    table, each finger by ``Fusion.fuse`` with its out-of-fold table)."""
    for row, column in [(0, 0), (face.shape[0] // 2, face.shape[1] // 3), (face.shape[0] - 1, face.shape[1] - 1)]:
        expected = fusion.fuse(float(face[row, column])).llr + sum(
            folds.fusion(fusion, number).fuse(None, {p + 1: float(finger[row, column, p])}).llr
            for p, number in enumerate(probe_fingers[row])
        )
        if not math.isclose(expected, fused[row, column], abs_tol=1e-9):
            raise AssertionError(f"vectorised fused LLR {fused[row, column]} != Fusion.fuse {expected}")


# --- figures -----------------------------------------------------------------------------------------------
def search_figures(
    scores: NDArray[np.float64], mate_column: NDArray[np.int64], non_mated: NDArray[np.float64] | None = None
) -> dict[str, Any]:
    """1:N figures of mated searches (rows of ``scores`` with their mate's column) and non-mated top scores.

    ``non_mated`` None: leave-one-out on the same rows (the top score outside the mate's column)."""
    rows = np.arange(len(scores))
    mate = scores[rows, mate_column]
    others = scores.copy()
    others[rows, mate_column] = -np.inf
    best_other = others.max(axis=1)
    rank1 = mate > best_other
    non_mated_top = np.sort(best_other if non_mated is None else non_mated)
    figures: dict[str, Any] = {
        "mated_searches": len(mate),
        "non_mated_searches": len(non_mated_top),
        "rank1_hit_rate": float(rank1.mean()),
        "rank1_misses": int((~rank1).sum()),
        "fnir_at_fpir": {},
    }
    for target in FPIR_TARGETS:
        allowed = math.floor(target * len(non_mated_top))
        if allowed < 1:
            figures["fnir_at_fpir"][f"{target:.0e}"] = {
                "not_resolvable": f"{len(non_mated_top)} non-mated searches < {1 / target:.0f}"
            }
            continue
        threshold, achieved = threshold_at_rate(non_mated_top, target)
        missed = (~rank1) | (mate < threshold)
        figures["fnir_at_fpir"][f"{target:.0e}"] = {
            "threshold": threshold,
            "achieved_fpir": achieved,
            "fnir": float(missed.mean()),
            "misses": int(missed.sum()),
            "allowed_false_positives": allowed,
        }
    figures["at_llr"] = {}
    for t in LLR_THRESHOLDS:
        false_positives = int((non_mated_top >= t).sum())
        missed = int(((~rank1) | (mate < t)).sum())
        # Dedup opens a case listing every candidate at or above the threshold: the mate anywhere in it counts.
        missed_any_rank = int((mate < t).sum())
        figures["at_llr"][f"{t:g}"] = {
            "fpir": false_positives / len(non_mated_top),
            "false_positives": false_positives,
            "fnir": missed / len(mate),
            "misses": missed,
            "fnir_any_rank": missed_any_rank / len(mate),
            "misses_any_rank": missed_any_rank,
        }
    return figures


def comparison_figures(scores: NDArray[np.float64], mate_column: NDArray[np.int64]) -> dict[str, Any]:
    """Per-comparison thresholds for FMR 1e-3 / 1e-4 over every (probe, non-mate entry), and the FNMR there."""
    mask = np.ones(scores.shape, bool)
    mask[np.arange(len(scores)), mate_column] = False
    impostor = np.sort(scores[mask])
    genuine = np.sort(scores[~mask])
    result: dict[str, Any] = {"mated_comparisons": len(genuine), "impostor_comparisons": len(impostor)}
    for rate in FMR_TARGETS:
        allowed = math.floor(rate * len(impostor))
        if allowed < 1:
            result[f"{rate:.0e}"] = {"not_resolvable": f"{len(impostor):,} impostor comparisons < {1 / rate:,.0f}"}
            continue
        threshold, achieved = threshold_at_rate(impostor, rate)
        result[f"{rate:.0e}"] = {
            "threshold": threshold,
            "achieved_fmr": achieved,
            "allowed_false_matches": allowed,
            "fnmr": false_non_match_rate(genuine, threshold),
        }
    return result


# --- per comparison, by independence ------------------------------------------------------------------------
LLR_STEP = 0.01
INDEPENDENCE_FMR = (1e-3, 1e-4, 1e-6, 1e-8, 1e-9)


@dataclass(frozen=True)
class LlrDistribution:
    """A probability mass over LLR values ``offset + k * LLR_STEP``."""

    offset: float
    mass: NDArray[np.float64]
    resolution: float  # the smallest probability the underlying counts resolve (1 / pairs, multiplied on convolving)

    @classmethod
    def of(cls, values: NDArray[np.float64]) -> LlrDistribution:
        low = math.floor(values.min() / LLR_STEP) * LLR_STEP
        index = np.round((values - low) / LLR_STEP).astype(np.int64)
        return cls(low, np.bincount(index) / len(values), 1.0 / len(values))

    def plus(self, other: LlrDistribution) -> LlrDistribution:
        """The distribution of the sum of two independent LLRs."""
        return LlrDistribution(
            self.offset + other.offset, np.convolve(self.mass, other.mass), self.resolution * other.resolution
        )

    def upper_tail(self) -> NDArray[np.float64]:
        """P(LLR >= value k), per grid value."""
        return np.cumsum(self.mass[::-1])[::-1]

    def value(self, k: int) -> float:
        return self.offset + k * LLR_STEP


def independence_figures(
    face_genuine: NDArray[np.float64],
    face_impostor: NDArray[np.float64],
    finger_genuine: NDArray[np.float64],
    finger_impostor: NDArray[np.float64],
    max_fingers: int,
) -> dict[str, Any]:
    """Thresholds for per-comparison FMR targets of face, fingers and fused sums, assuming independence."""
    face = (LlrDistribution.of(face_genuine), LlrDistribution.of(face_impostor))
    finger = (LlrDistribution.of(finger_genuine), LlrDistribution.of(finger_impostor))
    modes: dict[str, tuple[LlrDistribution, LlrDistribution]] = {"face only": face}
    sums = finger
    for count in range(1, max_fingers + 1):
        if count > 1:
            sums = (sums[0].plus(finger[0]), sums[1].plus(finger[1]))
        modes[f"{count} finger(s) only"] = sums
        modes[f"fused face + {count} finger(s)"] = (face[0].plus(sums[0]), face[1].plus(sums[1]))
    result: dict[str, Any] = {
        "pairs": {
            "face": [len(face_genuine), len(face_impostor)],
            "finger": [len(finger_genuine), len(finger_impostor)],
        }
    }
    result["extrapolated"] = {}
    for mode, (genuine, impostor) in modes.items():
        result[mode] = {f"{rate:.0e}": _at_rate(genuine, impostor, rate) for rate in INDEPENDENCE_FMR}
        result["extrapolated"][mode] = {
            f"{gallery}": {
                f"{fpir:.0e}": _at_rate(genuine, impostor, 1.0 - (1.0 - fpir) ** (1.0 / gallery))
                for fpir in FPIR_TARGETS
            }
            for gallery in EXTRAPOLATED_GALLERIES
        }
    return result


def _at_rate(genuine: LlrDistribution, impostor: LlrDistribution, rate: float) -> dict[str, Any]:
    """The lowest grid threshold whose impostor tail is at most ``rate``, and the genuine mass below it (FNMR)."""
    tail = impostor.upper_tail()
    reachable = np.flatnonzero(tail <= rate)
    if len(reachable) == 0:  # even the highest impostor LLR alone carries more mass than the target
        return {"not_resolvable": f"top impostor LLR {impostor.value(len(tail) - 1):.2f} has mass {tail[-1]:.1e}"}
    k = int(reachable[0])
    threshold = impostor.value(k)
    below = genuine.offset + np.arange(len(genuine.mass)) * LLR_STEP < threshold - LLR_STEP / 2
    return {
        "threshold": round(threshold, 2),
        "fmr": float(tail[k]),
        "fnmr": float(genuine.mass[below].sum()),
        "beyond_measured": bool(rate < impostor.resolution),
        "no_impostor_reaches": bool(tail[k] == 0),
    }


def finger_pair_llrs(sources: list[Any], folds: FingerFolds) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Finger LLRs of every FVC genuine and cross-finger impostor pair of the chosen template source
    (``finger_lodo.DatabaseScores`` per database), each database by its out-of-fold table, floored and capped."""
    genuine, impostor = [], []
    for source in sources:
        table = folds.tables[source.name]
        genuine.append(np.minimum(llr(table, source.genuine.astype(np.float64)), folds.cap))
        impostor.append(np.minimum(llr(table, source.impostor.astype(np.float64)), folds.cap))
    return np.concatenate(genuine), np.concatenate(impostor)


def finger_folds(data: Path, finger_source: str, quick: bool, workers: int, seed: int) -> tuple[FingerFolds, list[Any]]:
    """The out-of-fold finger tables (the shipped method, images and records pooled) and the chosen source's
    per-database scores (finger_lodo's cache), in the order of the templates ``chimera_templates`` loads."""
    from benchmarks.finger_calibration import FINGER_LLR_CAP, fold_tables
    from benchmarks.fusion_calibration import finger_sources

    by_pipeline = finger_sources(data, quick, workers)
    tables = fold_tables([s for scores in by_pipeline.values() for s in scores], seed)
    chosen = by_pipeline["images·MINDTCT+MCC" if finger_source == "images" else "records·MCC"]
    return FingerFolds(tables, FINGER_LLR_CAP, tuple(s.name for s in chosen)), chosen


def chimera_templates(data: Path, finger_source: str, quick: bool, workers: int) -> list[Any]:
    """Every impression of the chosen source, database-major in FVC_DATABASES order (10 fingers x 8 each)."""
    collections = ("fvc2000", "fvc2002") if finger_source == "images" else ("fvc2002",)
    templates: list[Any] = []
    for collection, database in FVC_DATABASES:
        if collection in collections and (not quick or database == 1):
            templates += load_templates(data, finger_source, (database,), workers, collection)
    return templates


# --- experiments ---------------------------------------------------------------------------------------------
def make_chimeras(people: NDArray[np.int64], finger_count: int, per_identity: int, rng_seed: int) -> list[Chimera]:
    """``finger_count // per_identity`` chimeras; persons and fingers drawn with the seed (same persons first)."""
    rng = np.random.default_rng(rng_seed)
    persons, counts = np.unique(people, return_counts=True)
    eligible = rng.permutation(persons[counts >= 2])
    fingers = rng.permutation(finger_count)
    identities = finger_count // per_identity
    rows_of = {p: tuple(np.flatnonzero(people == p).tolist()) for p in eligible[:identities].tolist()}
    return [
        Chimera(int(p), rows_of[p], tuple(int(f) for f in fingers[k * per_identity : (k + 1) * per_identity]))
        for k, p in enumerate(eligible[:identities].tolist())
    ]


def chimera_experiment(
    chimeras: list[Chimera], vectors: NDArray[np.float32], cylinders: list[Any], fusion: Any, folds: FingerFolds
) -> tuple[dict[str, Any], tuple[NDArray[np.float64], ...]]:
    """Face-only, finger-only and fused 1:N and per-comparison figures on a gallery of the chimeras alone."""
    label = f"{len(chimeras)} chimeras x {len(chimeras[0].fingers)} finger(s)"
    face, finger, owner = chimera_scores(chimeras, vectors, cylinders, label)
    face_llr = llr(fusion.face, face)
    finger_llr = finger_llrs(chimeras, owner, finger, folds).sum(axis=2)
    fused = face_llr + finger_llr
    check_against_fuse(fusion, [chimeras[k].fingers for k in owner.tolist()], folds, face, finger, fused)
    modes = {"face only": face_llr, "finger only": finger_llr, "fused": fused}
    result = {
        "identities": len(chimeras),
        "fingers_per_identity": len(chimeras[0].fingers),
        "search": {m: search_figures(s, owner) for m, s in modes.items()},
        "comparison": {m: comparison_figures(s, owner) for m, s in modes.items()},
    }
    return result, (face_llr, finger_llr, owner)


def mixed_gallery_experiment(
    chimeras: list[Chimera],
    vectors: NDArray[np.float32],
    people: NDArray[np.int64],
    fusion: Any,
    chimera_llr: tuple[NDArray[np.float64], ...],
) -> dict[str, Any]:
    """Every LFW person enrolled by face, the chimeras also with fingers; chimera probes and face-only persons."""
    _, finger_chimera_llr, owner = chimera_llr
    persons, first_rows, counts = np.unique(people, return_index=True, return_counts=True)
    gallery_faces = vectors[first_rows]
    column_of = {int(p): c for c, p in enumerate(persons)}
    chimera_columns = np.array([column_of[c.person] for c in chimeras])
    # Chimera probes: face LLR against everyone, plus finger LLR against the chimeras' columns only.
    probe_rows = [c.images[t] for c in chimeras for t in range(1, c.probe_count + 1)]
    face_all = llr(fusion.face, (vectors[probe_rows] @ gallery_faces.T).astype(np.float64))
    fused_all = face_all.copy()
    fused_all[:, chimera_columns] += finger_chimera_llr
    mate = chimera_columns[owner]
    result = {
        "gallery_size": len(persons),
        "gallery_with_fingers": len(chimeras),
        "chimera probes, fused": search_figures(fused_all, mate),
        "chimera probes, face only": search_figures(face_all, mate),
    }
    # Face-only fallback: persons without fingers, photos 1..7 mated; single-image persons leave-one-out.
    with_fingers = {c.person for c in chimeras}
    fallback_rows, fallback_mates = [], []
    for person, count in zip(persons.tolist(), counts.tolist()):
        if person in with_fingers or count < 2:
            continue
        rows = np.flatnonzero(people == person)[1 : MAX_PROBES + 1]
        fallback_rows.extend(rows.tolist())
        fallback_mates.extend([column_of[person]] * len(rows))
    fallback = llr(fusion.face, (vectors[fallback_rows] @ gallery_faces.T).astype(np.float64))
    singles = first_rows[counts == 1]
    single_scores = llr(fusion.face, (vectors[singles] @ gallery_faces.T).astype(np.float64))
    single_scores[np.arange(len(singles)), [column_of[int(p)] for p in people[singles]]] = -np.inf
    result["persons without fingers, face only"] = search_figures(
        fallback, np.array(fallback_mates, np.int64), non_mated=single_scores.max(axis=1)
    )
    return result


# --- the run -------------------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build the chimeras, search, print, save; returns the record."""
    from matcher.fusion import Fusion

    info = machine()
    print_machine(info)
    data = data_dir(args.data)
    missing = mcc_available()
    if missing:
        err_console.print(f"[red]{missing}: fused search needs the MCC matcher[/]")
        raise SystemExit(2)
    fusion = Fusion.load(args.calibration)
    limit_people = 300 if args.quick else args.limit_people
    descriptors = lfw_descriptors(data, lfw_images(data, limit_people), workers=args.workers)
    enrolled = descriptors.enrolled
    vectors = np.ascontiguousarray(descriptors.vectors[enrolled])
    people = descriptors.people[enrolled]
    folds, finger_sources = finger_folds(data, args.finger_source, args.quick, args.workers, args.seed)
    templates = chimera_templates(data, args.finger_source, args.quick, args.workers)
    cylinders, _ = mcc_cylinders(templates)
    finger_count = len(templates) // len(IMPRESSIONS)

    experiments: dict[str, Any] = {}
    mixed: dict[str, Any] = {}
    for per_identity in args.fingers_per_identity:
        if finger_count // per_identity < 2:
            continue
        chimeras = make_chimeras(people, finger_count, per_identity, args.seed)
        result, chimera_llr = chimera_experiment(chimeras, vectors, cylinders, fusion, folds)
        experiments[str(per_identity)] = result
        if per_identity == args.fingers_per_identity[0]:
            mixed = mixed_gallery_experiment(chimeras, vectors, people, fusion, chimera_llr)
            mixed["fingers_per_identity"] = per_identity
    from benchmarks.face_accuracy import pair_scores

    face_genuine, face_impostor, _ = pair_scores(vectors, people)
    finger_genuine, finger_impostor = finger_pair_llrs(finger_sources, folds)
    independence = independence_figures(
        llr(fusion.face, face_genuine.astype(np.float64)),
        llr(fusion.face, face_impostor.astype(np.float64)),
        finger_genuine,
        finger_impostor,
        max(MAX_FINGERS_BY_INDEPENDENCE, *args.fingers_per_identity),
    )
    del face_genuine, face_impostor
    _print(experiments, mixed, fusion)
    _print_independence(independence)
    record = {
        "arguments": {
            "quick": args.quick,
            "finger_source": args.finger_source,
            "seed": args.seed,
            "fingers_per_identity": args.fingers_per_identity,
            "databases": list(folds.databases),
            "limit_people": limit_people,
            "calibration": str(args.calibration),
        },
        "lfw": {"images": len(vectors), "persons": len(np.unique(people)), "limit_people": limit_people},
        "calibration_source": fusion.source,
        "finger_calibration": (
            "out of fold: each finger's LLR by the shipped method's table fitted without its database "
            f"(benchmarks.finger_calibration), floored at {LLR_FLOOR:g} and capped at {folds.cap:g}; "
            f"fold tables top out at LLR {min(t.llr[-1] for t in folds.tables.values()):.2f}-"
            f"{max(t.llr[-1] for t in folds.tables.values()):.2f}"
        ),
        "finger_dependence": FINGER_DEPENDENCE,
        "extrapolation_assumption": (
            "FNIR(N, FPIR) = FNMR at the per-comparison fused-LLR threshold whose impostor tail is "
            "1 - (1 - FPIR)^(1/N): non-mated comparisons independent, face and fingers and fingers among "
            "themselves independent (LLR distributions convolved), the mate found when it clears the threshold "
            "(rank ignored), tails below the measured counts as the calibration's clamped ends make them"
        ),
        "fingers_available": finger_count,
        "chimeric": experiments,
        "mixed_gallery": mixed,
        "per_comparison_by_independence": independence,
    }
    return save_result(NAME, record, save=not args.no_save)


def _fnir_cell(figures: dict[str, Any], target: float) -> str:
    at = figures["fnir_at_fpir"][f"{target:.0e}"]
    if "not_resolvable" in at:
        return f"not resolvable ({at['not_resolvable']})"
    return (
        f"{at['fnir']:.2%} ({at['misses']}/{figures['mated_searches']}; LLR ≥ {at['threshold']:.2f}, "
        f"{at['allowed_false_positives']} FP allowed)"
    )


def _search_rows(named: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for name, f in named.items():
        cells = [
            name,
            f"{f['mated_searches']} / {f['non_mated_searches']}",
            f"{f['rank1_hit_rate']:.2%} ({f['rank1_misses']} missed)",
            *(_fnir_cell(f, target) for target in FPIR_TARGETS),
        ]
        for t in LLR_THRESHOLDS:
            at = f["at_llr"][f"{t:g}"]
            cells.append(
                f"{at['false_positives']}/{f['non_mated_searches']} · {at['misses']} ({at['misses_any_rank']})"
                f"/{f['mated_searches']}"
            )
        rows.append(cells)
    return rows


def _print(experiments: dict[str, Any], mixed: dict[str, Any], fusion: Any) -> None:
    console.print(f"[dim]calibration: {fusion.source}[/]")
    columns = [
        "scoring",
        "mated / non-mated searches",
        "rank-1",
        *(f"FNIR at FPIR {target:.0e} (rank 1)" for target in FPIR_TARGETS),
        *[f"LLR ≥ {t:g}: FP · FN" for t in LLR_THRESHOLDS],
    ]
    for per_identity, result in experiments.items():
        console.print(
            table(
                f"Dedup on {result['identities']} chimeric identities, {per_identity} finger(s) each "
                f"(gallery {result['identities']}, leave-one-out non-mated); "
                "FP = non-mated searches with a candidate, "
                "FN = mated searches without the mate at rank 1 at or above the threshold "
                "(in brackets: mate below the threshold, any rank)",
                columns,
                _search_rows(result["search"]),
            )
        )
        rows = []
        for mode, c in result["comparison"].items():
            cells = [mode, f"{c['mated_comparisons']:,} / {c['impostor_comparisons']:,}"]
            for rate in FMR_TARGETS:
                at = c[f"{rate:.0e}"]
                cells.append(
                    f"not resolvable ({at['not_resolvable']})"
                    if "not_resolvable" in at
                    else f"LLR ≥ {at['threshold']:.2f} (FMR {at['achieved_fmr']:.1e}, {at['allowed_false_matches']} "
                    f"allowed; FNMR {at['fnmr']:.2%})"
                )
            rows.append(cells)
        console.print(
            table(
                f"Per comparison, {result['identities']} chimeras × {per_identity} finger(s): "
                "LLR threshold for FMR ≤ 1e-3 / 1e-4 from the impostor comparisons",
                ["scoring", "mated / impostor comparisons", "FMR ≤ 1e-3", "FMR ≤ 1e-4"],
                rows,
            )
        )
    if mixed:
        named = {k: v for k, v in mixed.items() if isinstance(v, dict)}
        console.print(
            table(
                f"Mixed gallery: {mixed['gallery_size']:,} LFW persons enrolled by face, "
                f"{mixed['gallery_with_fingers']} of them also with {mixed['fingers_per_identity']} finger(s); "
                "face-only fallback for persons without fingers",
                columns,
                _search_rows(named),
            )
        )
        console.print(
            "[dim]FP · FN as above; FN in brackets: the mate below the threshold at any rank (a dedup case "
            "lists every candidate above it).[/]"
        )


def _print_independence(independence: dict[str, Any]) -> None:
    pairs = independence["pairs"]
    rows = []
    for mode, targets in independence.items():
        if mode in ("pairs", "extrapolated"):
            continue
        cells = [mode]
        for rate in INDEPENDENCE_FMR:
            at = targets[f"{rate:.0e}"]
            if "not_resolvable" in at:
                cells.append(f"not resolvable ({at['not_resolvable']})")
                continue
            flag = " †" if at["beyond_measured"] else ""
            flag += " (no impostor reaches it)" if at["no_impostor_reaches"] else ""
            cells.append(f"LLR ≥ {at['threshold']:.2f}: FNMR {at['fnmr']:.2%}{flag}")
        rows.append(cells)
    console.print(
        table(
            f"Per comparison by independence: "
            f"face ({pairs['face'][0]:,} genuine / {pairs['face'][1]:,} impostor LFW pairs) "
            f"convolved with fingers ({pairs['finger'][0]:,} / {pairs['finger'][1]:,} FVC pairs) per finger",
            ["scoring", *[f"FMR ≤ {rate:.0e}" for rate in INDEPENDENCE_FMR]],
            rows,
        )
    )
    console.print(
        "[dim]Rates of sums rest on independence (of face and fingers, and between fingers) and on the "
        "calibration's clamped tails, not on observed false matches; † marks a rate below even the product of "
        "1 / (impostor pairs) of the parts.[/]"
    )
    rows = []
    for mode, galleries in independence["extrapolated"].items():
        cells = [mode]
        for gallery in EXTRAPOLATED_GALLERIES:
            for fpir in FPIR_TARGETS:
                at = galleries[f"{gallery}"][f"{fpir:.0e}"]
                cells.append(
                    "not resolvable"
                    if "not_resolvable" in at
                    else f"{at['fnmr']:.2%} (LLR ≥ {at['threshold']:.2f}{' †' if at['beyond_measured'] else ''})"
                )
        rows.append(cells)
    console.print(
        table(
            "Extrapolated FNIR at FPIR for larger galleries (independence; see extrapolation_assumption in the JSON)",
            [
                "scoring",
                *(f"N {gallery:,} · FPIR {fpir:.0e}" for gallery in EXTRAPOLATED_GALLERIES for fpir in FPIR_TARGETS),
            ],
            rows,
        )
    )
    console.print(f"[dim]finger dependence: {FINGER_DEPENDENCE}[/]")


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    from matcher.fusion import CALIBRATION_FILE

    result = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(result)
    result.add_argument("--quick", action="store_true", help="FVC DB1 only (10 fingers), 300 LFW persons")
    result.add_argument(
        "--fingers-per-identity",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 2],
        help="comma-separated; the first also runs the mixed-gallery experiment (default 1,2)",
    )
    result.add_argument(
        "--finger-source",
        choices=("images", "records"),
        default="images",
        help="minutiae MINDTCT extracted from the images (default) or the SecuGen ISO records",
    )
    result.add_argument(
        "--calibration", type=Path, default=CALIBRATION_FILE, help="calibration JSON whose face table fuses"
    )
    result.add_argument(
        "--limit-people", type=int, default=None, help="only the first N LFW persons (descriptors cost ~0.4 s each)"
    )
    result.add_argument("--workers", type=int, default=2, help="processes for descriptors / minutiae not yet cached")
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Entry point: parse ``argv`` and run."""
    return run(parser().parse_args(argv))


if __name__ == "__main__":
    main()
