"""Accuracy of civid's face pipeline on real faces (LFW deep-funneled, persons A-L).

Question: which score thresholds give a false-match rate of 1e-3 (dedup) and 1e-4 (verify), and what
does each cost in false non-matches? Method:
- every image goes through ``enrollment.face`` as enrolment would (detect at max_side 1024, landmarks,
  ResNet descriptor); when several faces are found the one nearest the image centre is the labelled
  person; when none is found the image is a failure to enrol (FTE) and is left out;
- 1:1: genuine pairs are all pairs within a person's folder, impostor pairs all pairs across folders
  (~34M, matrix products in blocks); score = cosine similarity. The threshold for a false-match rate
  f is the smallest score whose impostor upper tail is at most f;
- 1:N: the first enrolled image of every person is the gallery (exact FaissGallery). Mated searches:
  every other image of persons with two or more images. Non-mated searches: persons with exactly one
  image, each searched against the gallery without its own entry (leave-one-out, N-1 entries).
  FNIR at FPIR 1e-2 counts a mated search as missed unless its mate is at rank 1 with a score at or
  above the threshold where 1% of non-mated searches return a candidate.

    python -m benchmarks.face_accuracy            # all 8,292 images (descriptors cached after the first run)
"""

from __future__ import annotations

import argparse
import math
import sys
import time
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
    lfw_descriptors,
    lfw_images,
    machine,
    print_machine,
    progress,
    save_result,
    table,
)

NAME = "face_accuracy"
DEDUP_FMR = 1e-3
VERIFY_FMR = 1e-4
FPIR_TARGET = 1e-2


# --- scores --------------------------------------------------------------------------------------
def pair_scores(
    vectors: NDArray[np.float32], people: NDArray[np.int64], block: int = 512
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.int64]]:
    """Sorted genuine and impostor scores over all pairs i<j, and the (i, j) of the 20 highest impostor scores."""
    count = len(vectors)
    sizes = np.bincount(people)
    genuine_count = int((sizes * (sizes - 1) // 2).sum())
    impostor_count = count * (count - 1) // 2 - genuine_count
    genuine = np.empty(genuine_count, np.float32)
    impostor = np.empty(impostor_count, np.float32)
    top_pairs: list[tuple[float, int, int]] = []
    g = i_pos = 0
    with progress() as bar:
        task = bar.add_task("pair scores", total=count)
        for start in range(0, count, block):
            stop = min(count, start + block)
            scores = vectors[start:stop] @ vectors[start:].T  # rows i, columns j >= start
            rows = np.arange(start, stop)[:, None]
            columns = np.arange(start, count)[None, :]
            upper = columns > rows
            same = people[start:stop, None] == people[None, start:]
            genuine_block = scores[upper & same]
            impostor_block = scores[upper & ~same]
            genuine[g : g + len(genuine_block)] = genuine_block
            impostor[i_pos : i_pos + len(impostor_block)] = impostor_block
            g += len(genuine_block)
            i_pos += len(impostor_block)
            masked = np.where(upper & ~same, scores, -2.0)
            for flat in np.argpartition(masked, -20, axis=None)[-20:]:
                r, c = divmod(int(flat), masked.shape[1])
                top_pairs.append((float(masked[r, c]), start + r, start + c))
            bar.advance(task, stop - start)
    top_pairs.sort(reverse=True)
    genuine.sort()
    impostor.sort()
    return genuine, impostor, np.array([(i, j) for _, i, j in top_pairs[:20]], dtype=np.int64)


def threshold_at_rate(negatives_sorted: NDArray[np.float32], rate: float) -> tuple[float, float]:
    """Smallest threshold whose upper tail (score >= threshold) of ``negatives_sorted`` is at most ``rate``."""
    count = len(negatives_sorted)
    allowed = math.floor(rate * count)
    if allowed >= count:
        return float(negatives_sorted[0]), 1.0
    threshold = float(np.nextafter(negatives_sorted[count - 1 - allowed], np.float32(np.inf)))
    achieved = (count - np.searchsorted(negatives_sorted, threshold, side="left")) / count
    return threshold, float(achieved)


def false_non_match_rate(genuine_sorted: NDArray[np.float32], threshold: float) -> float:
    """Fraction of genuine scores below the threshold."""
    return float(np.searchsorted(genuine_sorted, threshold, side="left") / len(genuine_sorted))


def equal_error_rate(genuine_sorted: NDArray[np.float32], impostor_sorted: NDArray[np.float32]) -> tuple[float, float]:
    """(EER, threshold): where FNMR and FMR cross, thresholds tried at every distinct genuine score."""
    candidates = np.unique(genuine_sorted)
    fnmr = np.searchsorted(genuine_sorted, candidates, side="left") / len(genuine_sorted)
    fmr = 1.0 - np.searchsorted(impostor_sorted, candidates, side="left") / len(impostor_sorted)
    best = int(np.argmin(np.abs(fnmr - fmr)))
    return float((fnmr[best] + fmr[best]) / 2), float(candidates[best])


# --- 1:N -------------------------------------------------------------------------------------------
def identification(vectors: NDArray[np.float32], people: NDArray[np.int64], dedup_threshold: float) -> dict[str, Any]:
    """Rank-1 hit rate and FNIR at FPIR 1e-2 with one enrolled image per person (see the module docstring)."""
    from matcher.gallery import FaissGallery

    first = np.zeros(len(vectors), bool)
    _, first_positions, sizes = np.unique(people, return_index=True, return_counts=True)
    first[first_positions] = True
    gallery = FaissGallery(exact_max=10**12)
    gallery.rebuild([(people[first], vectors[first])], total=int(first.sum()))
    mated = ~first & (sizes[people] >= 2)
    singles = first & (sizes[people] == 1)
    k = 10

    mated_hits = gallery.search(vectors[mated], k)
    mate_rank = np.array(
        [
            next((r for r, hit in enumerate(hits) if hit.template_id == p), k)
            for hits, p in zip(mated_hits, people[mated])
        ]
    )
    mate_score = np.array(
        [next((hit.score for hit in hits if hit.template_id == p), -1.0) for hits, p in zip(mated_hits, people[mated])]
    )
    # Leave-one-out: the search finds the person's own entry first (score 1); the next hit is the non-mated top.
    single_hits = gallery.search(vectors[singles], 2)
    non_mated_top = np.sort(
        np.array(
            [
                next((h.score for h in hits if h.template_id != p), -1.0)
                for hits, p in zip(single_hits, people[singles])
            ],
            dtype=np.float32,
        )
    )
    threshold, fpir = threshold_at_rate(non_mated_top, FPIR_TARGET)
    dedup_fpir = float((non_mated_top >= dedup_threshold).mean())
    return {
        "gallery_size": int(first.sum()),
        "mated_searches": int(mated.sum()),
        "non_mated_searches": int(singles.sum()),
        "rank1_hit_rate": float((mate_rank == 0).mean()),
        "rank10_hit_rate": float((mate_rank < k).mean()),
        "fpir_target": FPIR_TARGET,
        "fpir_threshold": threshold,
        "fpir_achieved": fpir,
        "fnir_at_fpir_rank1": float(((mate_rank != 0) | (mate_score < threshold)).mean()),
        "fnir_at_fpir_rank10": float(((mate_rank >= k) | (mate_score < threshold)).mean()),
        "fpir_at_dedup_threshold": dedup_fpir,
        "fnir_at_dedup_threshold_rank10": float(((mate_rank >= k) | (mate_score < dedup_threshold)).mean()),
    }


# --- the run ---------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    """Compute every figure, print the tables, save the record; returns the record."""
    info = machine()
    print_machine(info)
    data = data_dir(args.data)
    images = lfw_images(data, args.limit_people)
    started = time.perf_counter()
    descriptors = lfw_descriptors(data, images, workers=args.workers)
    descriptor_seconds = time.perf_counter() - started
    enrolled = descriptors.enrolled
    vectors = np.ascontiguousarray(descriptors.vectors[enrolled])
    _, people = np.unique(descriptors.people[enrolled], return_inverse=True)
    people = people.astype(np.int64)
    fte = float(1 - enrolled.mean())

    genuine, impostor, top_impostors = pair_scores(vectors, people)
    eer, eer_threshold = equal_error_rate(genuine, impostor)
    operating = {}
    for label, rate in (("dedup", DEDUP_FMR), ("verify", VERIFY_FMR)):
        threshold, achieved = threshold_at_rate(impostor, rate)
        operating[label] = {
            "target_fmr": rate,
            "threshold": threshold,
            "achieved_fmr": achieved,
            "fnmr": false_non_match_rate(genuine, threshold),
        }
    one_to_many = identification(vectors, people, operating["dedup"]["threshold"])

    console.print(
        table(
            "Enrolment on LFW (A-L, deep-funneled)",
            ["", "value"],
            [
                ("images", f"{len(images):,}"),
                ("persons", f"{len(np.unique(descriptors.people)):,}"),
                ("failed to enrol (no face found)", f"{int((~enrolled).sum()):,}  (FTE {fte:.2%})"),
                (
                    "images with more than one face",
                    f"{int((descriptors.face_counts > 1).sum()):,}  (centre face taken)",
                ),
                ("descriptor time (cache or compute)", f"{descriptor_seconds:.1f} s"),
            ],
        )
    )
    console.print(
        table(
            "1:1 verification, all pairs",
            ["", "value"],
            [
                ("genuine pairs", f"{len(genuine):,}"),
                ("impostor pairs", f"{len(impostor):,}"),
                ("genuine score mean ± std", f"{genuine.mean():.4f} ± {genuine.std():.4f}"),
                ("impostor score mean ± std", f"{impostor.mean():.4f} ± {impostor.std():.4f}"),
                ("EER (threshold)", f"{eer:.3%}  ({eer_threshold:.4f})"),
                *[
                    (
                        f"FNMR at FMR {o['target_fmr']:.0e} (threshold)",
                        f"{o['fnmr']:.3%}  ({o['threshold']:.4f}; achieved FMR {o['achieved_fmr']:.2e})",
                    )
                    for o in operating.values()
                ],
            ],
        )
    )
    console.print(
        table(
            "1:N identification, one enrolled image per person",
            ["", "value"],
            [
                ("gallery size", f"{one_to_many['gallery_size']:,}"),
                (
                    "mated / non-mated searches",
                    f"{one_to_many['mated_searches']:,} / {one_to_many['non_mated_searches']:,}",
                ),
                (
                    "rank-1 / rank-10 hit rate",
                    f"{one_to_many['rank1_hit_rate']:.3%} / {one_to_many['rank10_hit_rate']:.3%}",
                ),
                (
                    f"FNIR at FPIR {FPIR_TARGET:.0e}, rank 1 (threshold)",
                    f"{one_to_many['fnir_at_fpir_rank1']:.3%}  ({one_to_many['fpir_threshold']:.4f}; "
                    f"achieved FPIR {one_to_many['fpir_achieved']:.2%})",
                ),
                (f"FNIR at FPIR {FPIR_TARGET:.0e}, rank ≤ 10", f"{one_to_many['fnir_at_fpir_rank10']:.3%}"),
                (
                    "at dedup_threshold: FPIR / FNIR (rank ≤ 10)",
                    f"{one_to_many['fpir_at_dedup_threshold']:.2%} / "
                    f"{one_to_many['fnir_at_dedup_threshold_rank10']:.3%}",
                ),
            ],
        )
    )
    recommended = {
        "dedup_threshold": round(operating["dedup"]["threshold"], 4),
        "verify_threshold": round(operating["verify"]["threshold"], 4),
    }
    console.print(
        table(
            "Recommended settings (cosine similarity; dlib distance = sqrt(2 - 2·score))",
            ["setting", "value", "meaning"],
            [
                (
                    "dedup_threshold",
                    f"{recommended['dedup_threshold']:.4f}",
                    f"FMR 1e-3 on LFW; FNMR {operating['dedup']['fnmr']:.2%}; "
                    f"dlib distance {math.sqrt(2 - 2 * recommended['dedup_threshold']):.3f}",
                ),
                (
                    "verify_threshold",
                    f"{recommended['verify_threshold']:.4f}",
                    f"FMR 1e-4 on LFW; FNMR {operating['verify']['fnmr']:.2%}; "
                    f"dlib distance {math.sqrt(2 - 2 * recommended['verify_threshold']):.3f}",
                ),
            ],
        )
    )
    if args.explain:  # names of the LFW persons stay on the console, never in the saved record
        enrolled_paths = [p for p, ok in zip(descriptors.paths, enrolled) if ok]
        console.print(
            table(
                "Highest-scoring impostor pairs (label noise or look-alikes?)",
                ["score", "a", "b"],
                [
                    (f"{float(vectors[i] @ vectors[j]):.4f}", enrolled_paths[i], enrolled_paths[j])
                    for i, j in top_impostors[: args.explain]
                ],
            )
        )
        console.print(
            table(
                "Images that failed to enrol",
                ["path"],
                [(p,) for p, ok in zip(descriptors.paths, enrolled) if not ok][: args.explain],
            )
        )

    record = {
        "arguments": {"limit_people": args.limit_people, "workers": args.workers},
        "images": len(images),
        "persons": int(len(np.unique(descriptors.people))),
        "failed_to_enrol": int((~enrolled).sum()),
        "fte_rate": fte,
        "multi_face_images": int((descriptors.face_counts > 1).sum()),
        "genuine_pairs": int(len(genuine)),
        "impostor_pairs": int(len(impostor)),
        "genuine_mean": float(genuine.mean()),
        "genuine_std": float(genuine.std()),
        "impostor_mean": float(impostor.mean()),
        "impostor_std": float(impostor.std()),
        "eer": eer,
        "eer_threshold": eer_threshold,
        "operating_points": operating,
        "identification": one_to_many,
        "recommended": recommended,
    }
    return save_result(NAME, record, save=not args.no_save)


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    result = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(result)
    result.add_argument("--limit-people", type=int, default=None, help="only the first N person folders (quick runs)")
    result.add_argument("--workers", type=int, default=2, help="processes computing descriptors")
    result.add_argument(
        "--explain",
        type=int,
        default=0,
        metavar="N",
        help="also print the N highest impostor pairs and N failed images (console only)",
    )
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Entry point: parse ``argv`` and run."""
    return run(parser().parse_args(argv))


if __name__ == "__main__":
    main()
