"""Synthetic face identities whose descriptors look like real dlib descriptors, for large-gallery benchmarks.

Why not random unit vectors: isotropic vectors in 128 dimensions are all nearly orthogonal, spread
evenly over the sphere, a worst case for an inverted-file (IVF) index whose lists then have no
structure to exploit — and nothing like real descriptors, which live in a narrow cone with most of
their variance in a few directions. A benchmark on them says little about a real gallery.

Method (a two-level Gaussian fitted to real descriptors):
1. Take the cached LFW descriptors (``benchmarks.common.lfw_descriptors``: A-L, ~8,000 images). Each
   person contributes at most ``max_per_person`` (10) randomly chosen images, so George W. Bush's
   530 photos do not define "a person".
2. Identity centres m_i = mean of the person's descriptors; mean = average of the centres.
3. Within-identity covariance W = pooled scatter around each centre, over persons with >= 2 images
   (divided by sum of (n_i - 1)).
4. Between-identity covariance B = covariance of the centres minus the average W/n_i (a centre of
   n_i photos still carries W/n_i of photo noise); eigenvalues clipped at zero.
5. A synthetic identity is a centre c ~ N(mean, B); each of its photos is c + N(0, W), L2-normalised
   like a real descriptor.
The fitted statistics are cached in ``benchmarks/cache/`` (never in the repository: they are derived
from the benchmark data). Without the data folder the generator stops with a message (exit code 2); it
never falls back to isotropic vectors.

Known limit: one pooled within-identity covariance makes every synthetic person equally variable, so
synthetic genuine scores are tighter than real ones (std ~0.009 against ~0.016 on LFW; the means,
impostor scores and nearest-non-mate scores agree). Mated hit rates on synthetic galleries are
therefore somewhat optimistic; recall against exact search depends mostly on the neighbourhood
structure (nearest non-mates), which does agree.

``python -m benchmarks.synthetic_faces`` prints real against synthetic genuine, impostor and
nearest-non-mate score distributions.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from numpy.typing import NDArray

from benchmarks.common import (
    CACHE_DIR,
    add_common_arguments,
    console,
    data_dir,
    lfw_descriptors,
    lfw_images,
    machine,
    print_machine,
    save_result,
    table,
)

NAME = "synthetic_faces"
DIM = 128
FIT_VERSION = "two-level-gaussian-v1"


@dataclass(frozen=True)
class SyntheticFaces:
    """A fitted generator: ``mean`` shape (128,), covariance factors shape (128, 128)."""

    mean: NDArray[np.float64]
    between_factor: NDArray[np.float64]  # F with F @ F.T = between-identity covariance
    within_factor: NDArray[np.float64]  # F with F @ F.T = within-identity covariance
    persons: int
    images: int

    @classmethod
    def fit(
        cls, vectors: NDArray[np.float32], people: NDArray[np.int64], *, max_per_person: int = 10, seed: int = 0
    ) -> SyntheticFaces:
        """Fit the two-level Gaussian to descriptors (shape (n, 128)) labelled by person index (shape (n,))."""
        rng = np.random.default_rng(seed)
        vectors = vectors.astype(np.float64)
        centres, inverse_sizes = [], []
        scatter = np.zeros((DIM, DIM))
        degrees = 0
        used = 0
        for person in np.unique(people):
            rows = np.flatnonzero(people == person)
            if len(rows) > max_per_person:
                rows = rng.choice(rows, max_per_person, replace=False)
            own = vectors[rows]
            centre = own.mean(axis=0)
            centres.append(centre)
            inverse_sizes.append(1.0 / len(rows))
            used += len(rows)
            if len(rows) >= 2:
                deviations = own - centre
                scatter += deviations.T @ deviations
                degrees += len(rows) - 1
        centres_array = np.array(centres)
        within = scatter / degrees
        between = np.cov(centres_array, rowvar=False) - float(np.mean(inverse_sizes)) * within
        return cls(
            mean=centres_array.mean(axis=0),
            between_factor=_factor(between),
            within_factor=_factor(within),
            persons=len(centres),
            images=used,
        )

    @classmethod
    def load_or_fit(cls, data: Path, *, max_per_person: int = 10, seed: int = 0) -> SyntheticFaces:
        """The generator fitted to the LFW descriptors under ``data``, from benchmarks/cache/ when fitted before."""
        images = lfw_images(data)  # exits with code 2 when the data folder is missing
        key = hashlib.sha256(
            f"{FIT_VERSION}|{max_per_person}|{seed}|".encode()
            + "\n".join(str(p.relative_to(data)) for p in images).encode()
        ).hexdigest()[:16]
        cache = CACHE_DIR / f"synthetic-faces-{key}.npz"
        if cache.exists():
            with np.load(cache) as stored:
                return cls(
                    stored["mean"],
                    stored["between_factor"],
                    stored["within_factor"],
                    int(stored["persons"]),
                    int(stored["images"]),
                )
        descriptors = lfw_descriptors(data, images)
        enrolled = descriptors.enrolled
        model = cls.fit(
            descriptors.vectors[enrolled], descriptors.people[enrolled], max_per_person=max_per_person, seed=seed
        )
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            mean=model.mean,
            between_factor=model.between_factor,
            within_factor=model.within_factor,
            persons=model.persons,
            images=model.images,
        )
        os.replace(tmp, cache)
        return model

    def identities(self, count: int, rng: np.random.Generator, chunk: int = 100_000) -> NDArray[np.float32]:
        """Identity centres, shape (count, 128), float32 (not normalised: a centre is not a photo)."""
        result = np.empty((count, DIM), np.float32)
        for start in range(0, count, chunk):
            stop = min(count, start + chunk)
            result[start:stop] = self.mean + rng.standard_normal((stop - start, DIM)) @ self.between_factor.T
        return result

    def photos(
        self, centres: NDArray[np.float32], rng: np.random.Generator, chunk: int = 100_000
    ) -> NDArray[np.float32]:
        """One fresh descriptor per centre, shape (n, 128), L2-normalised float32."""
        result = np.empty((len(centres), DIM), np.float32)
        for start in range(0, len(centres), chunk):
            stop = min(len(centres), start + chunk)
            noisy = centres[start:stop] + rng.standard_normal((stop - start, DIM)) @ self.within_factor.T
            result[start:stop] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
        return result


def _factor(covariance: NDArray[np.float64]) -> NDArray[np.float64]:
    """A square-root factor of a symmetric covariance, negative eigenvalues (estimation noise) clipped to 0."""
    values, vectors = np.linalg.eigh((covariance + covariance.T) / 2)
    return vectors * np.sqrt(np.clip(values, 0.0, None))


# --- the resemblance check ---------------------------------------------------------------------------
def score_summary(
    vectors: NDArray[np.float32], people: NDArray[np.int64], rng: np.random.Generator, impostor_pairs: int = 2_000_000
) -> dict[str, float]:
    """Mean/std of genuine scores (all within pairs), impostor scores (random cross pairs), and the best
    non-mate score of a second photo searched against a gallery of first photos (one per person)."""
    genuine = []
    for person in np.unique(people):
        own = vectors[people == person]
        if len(own) >= 2:
            scores = own @ own.T
            genuine.append(scores[np.triu_indices(len(own), 1)])
    genuine_scores = np.concatenate(genuine)
    a = rng.integers(0, len(vectors), impostor_pairs)
    b = rng.integers(0, len(vectors), impostor_pairs)
    keep = people[a] != people[b]
    impostor_scores = np.einsum("ij,ij->i", vectors[a[keep]], vectors[b[keep]])
    _, first = np.unique(people, return_index=True)
    second = np.array([rows[1] for rows in (np.flatnonzero(people == p) for p in np.unique(people)) if len(rows) >= 2])
    scores = vectors[second] @ vectors[first].T
    scores[people[second][:, None] == people[first][None, :]] = -2.0
    nearest = scores.max(axis=1)
    return {
        "genuine_mean": float(genuine_scores.mean()),
        "genuine_std": float(genuine_scores.std()),
        "impostor_mean": float(impostor_scores.mean()),
        "impostor_std": float(impostor_scores.std()),
        "impostor_p999": float(np.quantile(impostor_scores, 0.999)),
        "nearest_non_mate_mean": float(nearest.mean()),
        "nearest_non_mate_std": float(nearest.std()),
        "gallery_size": int(len(first)),
    }


def participation_ratio(factor: NDArray[np.float64]) -> float:
    """Effective number of dimensions of a covariance (sum λ)² / sum λ²: 128 would be isotropic."""
    values = np.linalg.eigvalsh(factor @ factor.T)
    return float(values.sum() ** 2 / (values**2).sum())


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Fit (or load) the generator and compare real and synthetic score distributions."""
    print_machine(machine())
    data = data_dir(args.data)
    model = SyntheticFaces.load_or_fit(data, max_per_person=args.max_per_person)
    images = lfw_images(data)
    descriptors = lfw_descriptors(data, images)
    rng = np.random.default_rng(args.seed)
    # The real side with the same per-person cap as the fit, so one person's 530 photos do not dominate.
    enrolled = np.flatnonzero(descriptors.enrolled)
    capped = np.concatenate(
        [
            rng.permutation(enrolled[descriptors.people[enrolled] == p])[: args.max_per_person]
            for p in np.unique(descriptors.people[enrolled])
        ]
    )
    real = score_summary(descriptors.vectors[capped], descriptors.people[capped], rng)
    # The synthetic side with the same number of persons and of photos per person as the capped real set.
    _, per_person = np.unique(descriptors.people[capped], return_counts=True)
    centres = model.identities(len(per_person), rng)
    labels = np.repeat(np.arange(len(per_person)), per_person)
    synthetic = score_summary(model.photos(centres[labels], rng), labels, rng)
    isotropic = rng.standard_normal((len(labels), DIM)).astype(np.float32)
    isotropic /= np.linalg.norm(isotropic, axis=1, keepdims=True)
    isotropic_scores = np.einsum("ij,ij->i", isotropic[:-1:2], isotropic[1::2])

    rows = [
        (label, f"{real[key]:.4f}", f"{synthetic[key]:.4f}")
        for label, key in (
            ("genuine mean", "genuine_mean"),
            ("genuine std", "genuine_std"),
            ("impostor mean", "impostor_mean"),
            ("impostor std", "impostor_std"),
            ("impostor 99.9th percentile", "impostor_p999"),
            (f"nearest non-mate score, gallery {real['gallery_size']:,}: mean", "nearest_non_mate_mean"),
            ("nearest non-mate score: std", "nearest_non_mate_std"),
        )
    ]
    rows.append(
        (
            "isotropic unit vectors, impostor mean ± std (reference)",
            f"{isotropic_scores.mean():.4f} ± {isotropic_scores.std():.4f}",
            "",
        )
    )
    rows.append(
        (
            "effective dimensions, between / within (128 = isotropic)",
            "",
            f"{participation_ratio(model.between_factor):.1f} / {participation_ratio(model.within_factor):.1f}",
        )
    )
    console.print(
        table(
            f"Real LFW (≤{args.max_per_person} photos per person) vs synthetic identities "
            f"(fitted on {model.persons:,} persons, {model.images:,} photos)",
            ["cosine score", "real", "synthetic"],
            rows,
        )
    )
    record = {
        "arguments": {"max_per_person": args.max_per_person, "seed": args.seed, "fit_seed": 0},
        "fit": {
            "persons": model.persons,
            "images": model.images,
            "between_effective_dims": participation_ratio(model.between_factor),
            "within_effective_dims": participation_ratio(model.within_factor),
        },
        "real": real,
        "synthetic": synthetic,
        "isotropic_impostor": {"mean": float(isotropic_scores.mean()), "std": float(isotropic_scores.std())},
    }
    return save_result(NAME, record, save=not args.no_save)


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    result = argparse.ArgumentParser(description="Real vs synthetic face descriptor score distributions.")
    add_common_arguments(result)
    result.add_argument("--max-per-person", type=int, default=10, help="photos per person used by the fit")
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Entry point: parse ``argv`` and run."""
    return run(parser().parse_args(argv))


if __name__ == "__main__":
    main()
