"""MCC with global consolidation by root pairs: the local cylinder similarities choose root pairs, each root
aligns the two fingers, and the score counts the minutiae pairs that agree under that alignment.

LSS-R (``matcher.mcc.similarity``) averages the n_P best relaxed local similarities: a handful of pairs decide,
so a few impostor cylinders that happen to agree can outscore a genuine pair whose cylinders were disturbed by
spurious minutiae or distortion. Here the whole finger votes, as in the "global consolidation" the MCC papers
name and as edge-graph matchers such as SourceAFIS score a pairing tree grown from a root pair:

1. the ``roots`` best local similarities (distinct minutiae on both sides) are root pairs; each gives a rigid
   alignment of A onto B: the rotation θb − θa and the translation that puts the two root minutiae together;
2. under each alignment every A minutia is compared with every B minutia: a pair is compatible when its
   position and direction agree within tolerances that grow with the distance from the root (skin stretches);
   its weight mixes that geometric agreement with its cylinder similarity;
3. pairs are made one-to-one by mutual best weight; the alignment is then refitted by weighted least squares
   (Procrustes) on those pairs and step 2 is run again with the refined alignment, once;
4. the root's score is (Σ weights)² / (overlap_a · overlap_b), where overlap counts each side's minutiae that
   fall where the other finger has minutiae under the alignment (floored at ``min_overlap``): a small
   overlapping patch is judged by the minutiae that could have matched, not by every minutia of both prints.

The finger score is the best root's, clipped to [0, 1]. Everything is relative to a root pair, so the score is
invariant to the rotation and translation of either finger. Every step is a numpy array operation over all
roots at once; nothing depends on the order of the minutiae but ties broken by index (deterministic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matcher import mcc


@dataclass(frozen=True)
class ConsolidationParams:
    """Parameters of the consolidation (pixels at 500 ppi, radians)."""

    roots: int = 16  # root pairs tried (distinct minutiae on either side)
    distance_tolerance: float = 12.0  # position disagreement accepted next to the root
    distortion: float = 0.10  # ... plus this share of the distance from the root (elastic skin)
    max_distance_tolerance: float = 40.0
    angle_tolerance: float = math.pi / 6  # direction disagreement accepted
    local_weight: float = 0.5  # weight of the cylinder similarity against the geometric agreement
    overlap_radius: float = 30.0  # a minutia is "in the overlap" when the other side has one this close
    min_overlap: int = 12  # floor of each side's overlap count (a tiny patch cannot score high) ...
    min_overlap_share: float = 0.5  # ... or this share of that side's minutiae, when more (dense, noisy prints)
    refits: int = 1  # least-squares refits of each root's alignment on its pairs before the final pairing


CONSOLIDATION = ConsolidationParams()


def similarity(a: mcc.Cylinders, b: mcc.Cylinders, params: ConsolidationParams = CONSOLIDATION) -> float:
    """Consolidated score in [0, 1] of two fingers' matching cylinders (``mcc.MATCHING``)."""
    local = mcc.local_similarities(a, b).astype(np.float64)
    if local.size == 0 or not local.any():
        return 0.0
    rows, cols = _roots(local, params.roots)
    if len(rows) == 0:
        return 0.0
    fingers = _Fingers(*_frame(a.minutiae), *_frame(b.minutiae), local)
    rotation = fingers.theta_b[cols] - fingers.theta_a[rows]  # (K,)
    translation = fingers.points_b[cols] - _rotate(fingers.points_a[rows][:, None, :], rotation)[:, 0, :]  # (K, 2)
    root_points = fingers.points_a[rows]  # (K, 2): distances from the root are measured in A
    score, weights, pairs = _pairing(fingers, rotation, translation, root_points, params)
    for _ in range(params.refits):
        rotation, translation = _refit(fingers, weights, pairs, rotation, translation)
        score, weights, pairs = _pairing(fingers, rotation, translation, root_points, params)
    return float(np.clip(score.max(), 0.0, 1.0))


@dataclass(frozen=True)
class _Fingers:
    """The two fingers compared, as every step of the consolidation reads them: positions (y up) and directions of
    A's (Ma) and B's (Mb) minutiae, and their local similarities (Ma, Mb)."""

    points_a: NDArray[np.float64]
    theta_a: NDArray[np.float64]
    points_b: NDArray[np.float64]
    theta_b: NDArray[np.float64]
    local: NDArray[np.float64]


def _frame(minutiae: NDArray[np.float32]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Positions with y up (so θ is a standard angle, as in ``matcher.mcc``) and directions."""
    points = np.stack([minutiae[:, 0].astype(np.float64), -minutiae[:, 1].astype(np.float64)], axis=1)
    return points, minutiae[:, 2].astype(np.float64)


def _roots(local: NDArray[np.float64], count: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The best ``count`` local pairs, greedily, no minutia used twice on either side."""
    flat = local.ravel()
    candidates = np.argsort(-flat, kind="stable")[: 8 * count]  # enough to find ``count`` distinct ones
    used_a: set[int] = set()
    used_b: set[int] = set()
    rows: list[int] = []
    cols: list[int] = []
    for index in candidates.tolist():
        if flat[index] <= 0 or len(rows) == count:
            break
        i, j = divmod(index, local.shape[1])
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            rows.append(i)
            cols.append(j)
    return np.array(rows, np.int64), np.array(cols, np.int64)


def _rotate(points: NDArray[np.float64], angle: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rotate (K, N, 2) points by (K,) angles."""
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x, y = points[..., 0], points[..., 1]
    return np.stack([cos * x - sin * y, sin * x + cos * y], axis=-1)


def _pairing(
    fingers: _Fingers,
    rotation: NDArray[np.float64],
    translation: NDArray[np.float64],
    root_points: NDArray[np.float64],
    params: ConsolidationParams,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Per alignment k: its score (K,), the pair weights (K, Ma, Mb) and the one-to-one pairs chosen (K, Ma, Mb).

    Geometric agreement = (1 − gap²/tol²)₊ · ((cos turn − cos tol_θ) / (1 − cos tol_θ))₊, computed with matrix
    products (squared gaps from |m|² + |b|² − 2 m·b, cosines of the turn from unit vectors)."""
    points_a, theta_a, points_b, theta_b, local = (
        fingers.points_a,
        fingers.theta_a,
        fingers.points_b,
        fingers.theta_b,
        fingers.local,
    )
    moved = _rotate(np.broadcast_to(points_a, (len(rotation), *points_a.shape)), rotation) + translation[:, None, :]
    gap2 = (
        (moved**2).sum(axis=2)[:, :, None] + (points_b**2).sum(axis=1)[None, None, :] - 2 * moved @ points_b.T
    )  # (K, Ma, Mb)
    from_root = np.hypot(points_a[None, :, 0] - root_points[:, None, 0], points_a[None, :, 1] - root_points[:, None, 1])
    tolerance = np.minimum(params.distance_tolerance + params.distortion * from_root, params.max_distance_tolerance)
    direction_a = theta_a[None, :] + rotation[:, None]  # (K, Ma)
    unit_a = np.stack([np.cos(direction_a), np.sin(direction_a)], axis=2)
    unit_b = np.stack([np.cos(theta_b), np.sin(theta_b)], axis=1)
    cos_turn = unit_a @ unit_b.T  # (K, Ma, Mb)
    floor = math.cos(params.angle_tolerance)
    geometric = np.clip(1 - gap2 / (tolerance**2)[:, :, None], 0, None) * np.clip(
        (cos_turn - floor) / (1 - floor), 0, None
    )
    weights = geometric * ((1 - params.local_weight) + params.local_weight * local[None])
    best_b = weights.argmax(axis=2)  # (K, Ma)
    best_a = weights.argmax(axis=1)  # (K, Mb)
    k_index = np.arange(len(rotation))[:, None]
    a_index = np.arange(len(points_a))[None, :]
    chosen = weights[k_index, a_index, best_b]
    mutual = (best_a[k_index, best_b] == a_index) & (chosen > 0)
    pairs = np.zeros(weights.shape, bool)
    pairs[k_index, a_index, best_b] = mutual
    total = (chosen * mutual).sum(axis=1)
    near = params.overlap_radius**2
    overlap_a = (gap2.min(axis=2) <= near).sum(axis=1)
    overlap_b = (gap2.min(axis=1) <= near).sum(axis=1)
    least_a = max(params.min_overlap, params.min_overlap_share * len(points_a))
    least_b = max(params.min_overlap, params.min_overlap_share * len(points_b))
    score = total**2 / (np.maximum(overlap_a, least_a) * np.maximum(overlap_b, least_b))
    return score, weights, pairs


def _refit(
    fingers: _Fingers,
    weights: NDArray[np.float64],
    pairs: NDArray[np.bool_],
    rotation: NDArray[np.float64],
    translation: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weighted least-squares rigid alignment of each root's pairs (the root's own where it has under 3)."""
    points_a, points_b = fingers.points_a, fingers.points_b
    w = weights * pairs  # (K, Ma, Mb)
    mass = w.sum(axis=(1, 2))
    enough = pairs.sum(axis=(1, 2)) >= 3
    safe = np.where(mass > 0, mass, 1.0)
    wa, wb = w.sum(axis=2), w.sum(axis=1)  # (K, Ma), (K, Mb)
    centre_a = (wa @ points_a) / safe[:, None]
    centre_b = (wb @ points_b) / safe[:, None]
    ax, ay = points_a[:, 0], points_a[:, 1]
    bx, by = points_b[:, 0], points_b[:, 1]
    # Σ w (a - ca) ⊗ (b - cb), from the raw moments
    sxx = np.einsum("kij,i,j->k", w, ax, bx) - mass * centre_a[:, 0] * centre_b[:, 0]
    syy = np.einsum("kij,i,j->k", w, ay, by) - mass * centre_a[:, 1] * centre_b[:, 1]
    sxy = np.einsum("kij,i,j->k", w, ax, by) - mass * centre_a[:, 0] * centre_b[:, 1]
    syx = np.einsum("kij,i,j->k", w, ay, bx) - mass * centre_a[:, 1] * centre_b[:, 0]
    fitted = np.arctan2(sxy - syx, sxx + syy)
    fitted_translation = centre_b - _rotate(centre_a[:, None, :], fitted)[:, 0, :]
    return np.where(enough, fitted, rotation), np.where(enough[:, None], fitted_translation, translation)
