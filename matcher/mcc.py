"""Minutia Cylinder-Code (MCC): local minutia descriptors as bit-cylinders, and the LSS-R 1:1 score.

After Cappelli, Ferrara, Maltoni, "Minutia Cylinder-Code: a new representation and matching technique
for fingerprint recognition", IEEE TPAMI 32(12), 2010 (the "bit" implementation: contributions are
binarised, cylinders compared by a normalised Hamming distance) and, for the indexing preset, "Fingerprint
indexing based on Minutia Cylinder-Code", IEEE TPAMI 33(5), 2011 (NS=8, ND=5: 320 bits per minutia).

Input minutiae are (N, 3) float32 arrays of x, y in pixels at 500 ppi and θ in radians in the ISO/IEC
19794-2 convention (counter-clockwise from +x with the image y axis pointing down). Internally y is
negated so that θ is an ordinary mathematical angle; every quantity MCC uses is relative (distances and
angle differences), so the code is invariant to the global rotation and translation of the finger.

A cylinder is stored as ``NS·NS·ND`` bits (cell-major, then direction) plus a mask of its valid spatial
cells (``NS·NS`` bits): a cell is valid when it lies inside the cylinder's base circle and inside the
convex hull of all the finger's minutiae enlarged by ``hull_offset`` pixels.
"""

from __future__ import annotations

import functools
import math
import struct
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class MccParams:
    """Every MCC parameter, with the values of the 2010 paper (Table 1) unless noted."""

    radius: float = 70.0  # R, pixels at 500 ppi
    spatial_cells: int = 16  # NS: cells along each side of the cylinder base
    directional_cells: int = 6  # ND: height of the cylinder (angle-difference bins)
    sigma_spatial: float = 28 / 3  # σS, pixels
    sigma_directional: float = 2 * math.pi / 9  # σD, radians
    bit_threshold: float = 0.01  # μψ: a cell's bit is 1 when its summed contribution reaches it
    hull_offset: float = 50.0  # ω: cells farther than this outside the convex hull are invalid
    # A cylinder is kept when at least this share of the cells in its base circle is valid (minVC) and at
    # least ``min_neighbours`` other minutiae lie within R + 3σS (minM); otherwise it would describe noise.
    min_valid_cells: float = 0.75
    min_neighbours: int = 2
    # Two cylinders are comparable when this share of base-circle cells is valid in both (minME) and their
    # minutiae directions differ by at most ``max_direction_difference`` (δθ).
    min_matchable_cells: float = 0.60
    max_direction_difference: float = math.pi / 2
    # Global score: n_P = min_pairs + round(Z(min(nA, nB); μP, τP) · (max_pairs − min_pairs)).
    min_pairs: int = 4
    max_pairs: int = 12
    pairs_mu: float = 20.0
    pairs_tau: float = 0.4
    # LSS-R relaxation: iterations, weight of a pair's own similarity, and the sigmoids of the three
    # compatibility terms (distance, direction difference, radial angle).
    relaxation_iterations: int = 5
    relaxation_weight: float = 0.5
    relaxation_mu: tuple[float, float, float] = (5.0, math.pi / 12, math.pi / 12)
    relaxation_tau: tuple[float, float, float] = (-8 / 5, -30.0, -30.0)

    @property
    def cell_count(self) -> int:
        """Spatial cells per cylinder (NS²)."""
        return self.spatial_cells * self.spatial_cells

    @property
    def bit_count(self) -> int:
        """Bits per cylinder (NS²·ND)."""
        return self.cell_count * self.directional_cells


MATCHING = MccParams()
INDEXING = MccParams(spatial_cells=8, directional_cells=5)  # 320 bits: the 2011 indexing paper's choice
_PRESETS = (MATCHING, INDEXING)


@dataclass(frozen=True)
class Cylinders:
    """The bit-cylinders of one finger's valid minutiae (invalid ones are dropped)."""

    bits: NDArray[np.uint8]  # (M, bit_count/8) packed cylinder bits, zero on invalid cells
    cell_mask: NDArray[np.uint8]  # (M, ceil(cell_count/8)) packed validity of each spatial cell
    minutiae: NDArray[np.float32]  # (M, 3) x, y, θ of the minutiae the cylinders belong to (input convention)
    params: MccParams = field(default=MATCHING)

    def __len__(self) -> int:
        return int(self.bits.shape[0])


# --- building -----------------------------------------------------------------------------------------
def cylinders(minutiae: NDArray[np.float32], params: MccParams = MATCHING) -> Cylinders:
    """The MCC bit-cylinders of an (N, 3) minutiae array (x, y, θ radians); empty when N < 2."""
    points = np.asarray(minutiae, dtype=np.float64).reshape(-1, 3)
    points = points[np.isfinite(points).all(axis=1)]
    if len(points) < 2:
        return _empty(params)
    xy = np.stack([points[:, 0], -points[:, 1]], axis=1)  # y up: θ becomes a standard angle
    theta = points[:, 2]
    ns, nd = params.spatial_cells, params.directional_cells
    step = 2 * params.radius / ns
    offsets = step * (np.arange(ns) - (ns - 1) / 2)
    grid_a, grid_b = np.meshgrid(offsets, offsets, indexing="ij")
    local = np.stack([grid_a.ravel(), grid_b.ravel()], axis=1)  # (C, 2) in the minutia's frame
    in_circle = np.hypot(local[:, 0], local[:, 1]) <= params.radius  # (C,)
    cos_t, sin_t = np.cos(theta), np.sin(theta)
    # Cell centres: m + a·(cos θ, sin θ) + b·(−sin θ, cos θ)
    centres = np.empty((len(points), len(local), 2))
    centres[..., 0] = xy[:, None, 0] + local[None, :, 0] * cos_t[:, None] - local[None, :, 1] * sin_t[:, None]
    centres[..., 1] = xy[:, None, 1] + local[None, :, 0] * sin_t[:, None] + local[None, :, 1] * cos_t[:, None]
    valid = np.zeros(centres.shape[:2], dtype=bool)
    valid[:, in_circle] = _near_hull(centres[:, in_circle].reshape(-1, 2), xy, params.hull_offset).reshape(
        len(points), -1
    )

    # Spatial contribution of every minutia t to every cell of cylinder m (zero for t = m, and beyond 3σS).
    flat_centres = centres.reshape(-1, 2).astype(np.float32)
    xy32 = xy.astype(np.float32)
    squared = (
        (flat_centres**2).sum(axis=1)[:, None] - 2 * flat_centres @ xy32.T + (xy32**2).sum(axis=1)[None, :]
    ).reshape(len(points), len(local), len(points))
    sigma = np.float32(params.sigma_spatial)
    spatial = np.exp(squared * np.float32(-0.5 / sigma**2)) * np.float32(1 / (sigma * math.sqrt(2 * math.pi)))
    spatial[squared > (3 * sigma) ** 2] = 0.0
    spatial[np.arange(len(points)), :, np.arange(len(points))] = 0.0
    # Directional contribution: the Gaussian mass of dφ(θm, θt) − bin centre over the bin (width ΔD).
    bin_width = 2 * math.pi / nd
    bin_centres = -math.pi + (np.arange(nd) + 0.5) * bin_width
    difference = _angle(theta[:, None] - theta[None, :])  # (M, N) dφ(θm, θt)
    offset = _angle(bin_centres[None, None, :] - difference[:, :, None])  # (M, N, ND)
    scale = 1 / (params.sigma_directional * math.sqrt(2))
    directional = (0.5 * (_erf((offset + bin_width / 2) * scale) - _erf((offset - bin_width / 2) * scale))).astype(
        np.float32
    )
    contribution = np.matmul(spatial, directional)  # (M, C, ND)
    bits = (contribution >= params.bit_threshold) & valid[:, :, None]

    distances = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    neighbours = (distances <= params.radius + 3 * params.sigma_spatial).sum(axis=1) - 1
    keep = (valid.sum(axis=1) >= params.min_valid_cells * in_circle.sum()) & (neighbours >= params.min_neighbours)
    if not keep.any():
        return _empty(params)
    return Cylinders(
        bits=np.packbits(bits[keep].reshape(int(keep.sum()), -1), axis=1),
        cell_mask=np.packbits(valid[keep], axis=1),
        minutiae=points[keep].astype(np.float32),
        params=params,
    )


def _empty(params: MccParams) -> Cylinders:
    return Cylinders(
        np.zeros((0, params.bit_count // 8), np.uint8),
        np.zeros((0, -(-params.cell_count // 8)), np.uint8),
        np.zeros((0, 3), np.float32),
        params,
    )


def _angle(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Angles wrapped to [−π, π)."""
    return (values + math.pi) % (2 * math.pi) - math.pi


def _erf(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Error function, vectorised (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7)."""
    sign = np.sign(values)
    x = np.abs(values)
    t = 1 / (1 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf: NDArray[np.float64] = sign * (1 - poly * np.exp(-x * x))
    return erf


def _convex_hull(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Counter-clockwise convex hull (Andrew's monotone chain) of (N, 2) points."""
    unique = sorted(set(map(tuple, points.tolist())))
    if len(unique) <= 2:
        return np.array(unique)

    def cross(o: tuple[float, ...], a: tuple[float, ...], b: tuple[float, ...]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, ...]] = []
    for p in unique:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, ...]] = []
    for p in reversed(unique):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.array(lower[:-1] + upper[:-1])


_HULL_RASTER = 2.0  # pixels per raster cell of the hull test: cell validity needs no finer precision


def _near_hull(query: NDArray[np.float64], points: NDArray[np.float64], offset: float) -> NDArray[np.bool_]:
    """True where a query point is inside the convex hull of ``points`` or within ``offset`` of it.

    Rasterised (the hull filled, then a distance transform), 10x faster than exact point-to-segment
    distances and within ``_HULL_RASTER`` pixels of them.
    """
    low = points.min(axis=0) - offset - 2 * _HULL_RASTER
    width, height = (np.ceil((points.max(axis=0) + offset + 2 * _HULL_RASTER - low) / _HULL_RASTER) + 1).astype(int)
    outside = np.ones((height, width), np.uint8)
    corners = np.round((_convex_hull(points) - low) / _HULL_RASTER).astype(np.int32)
    if len(corners) >= 3:
        cv2.fillConvexPoly(outside, corners, 0)
    else:
        cv2.polylines(outside, [corners], False, 0)
    distance = cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    column, row = np.round((query - low) / _HULL_RASTER).astype(np.int64).T
    inside_raster = (column >= 0) & (column < width) & (row >= 0) & (row < height)
    result = np.zeros(len(query), dtype=bool)
    result[inside_raster] = distance[row[inside_raster], column[inside_raster]] * _HULL_RASTER <= offset
    return result


# --- comparing ----------------------------------------------------------------------------------------
def local_similarities(a: Cylinders, b: Cylinders) -> NDArray[np.float32]:
    """The (Ma, Mb) matrix of cylinder similarities λ: 1 − |a⊕b| / (|a| + |b|) on the cells valid in both."""
    if a.params.bit_count != b.params.bit_count:
        raise ValueError("cylinders built with different MCC parameters cannot be compared")
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    params = a.params
    words_a, words_b = _words(a), _words(b)
    # On the common cells: |a∧mb| + |b∧ma| − 2|a∧b| = |a⊕b| (a ⊆ ma, b ⊆ mb), so λ = 2|a∧b| / (|a∧mb| + |b∧ma|).
    both = _popcount(words_a[0][:, None, :] & words_b[0][None, :, :])
    denominator = _popcount(words_a[0][:, None, :] & words_b[1][None, :, :]) + _popcount(
        words_a[1][:, None, :] & words_b[0][None, :, :]
    )
    common_bits = _popcount(words_a[1][:, None, :] & words_b[1][None, :, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        similarity = np.where(denominator > 0, 2 * both / np.maximum(denominator, 1), 0.0)
    direction = np.abs(_angle(a.minutiae[:, None, 2].astype(np.float64) - b.minutiae[None, :, 2]))
    too_small = common_bits < params.min_matchable_cells * _circle_cell_count(params) * params.directional_cells
    similarity[too_small | (direction > params.max_direction_difference)] = 0
    return similarity.astype(np.float32)


_BYTE_POPCOUNT = np.array([value.bit_count() for value in range(256)], np.uint8)


def _popcount(words: NDArray[np.uint64]) -> NDArray[np.int64]:
    """Set bits along the last axis (numpy >= 2 has a native popcount; 1.26 uses a byte table)."""
    counts: NDArray[np.int64]
    if hasattr(np, "bitwise_count"):
        counts = np.bitwise_count(words).sum(axis=-1, dtype=np.int64)
    else:
        counts = _BYTE_POPCOUNT[words.view(np.uint8)].sum(axis=-1, dtype=np.int64)
    return counts


def bit_counts(packed: NDArray[np.uint8]) -> NDArray[np.int64]:
    """Set bits of each row of a packed (M, B) uint8 array."""
    return _popcount(np.ascontiguousarray(packed, dtype=np.uint8))


def _words(c: Cylinders) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
    """Bits and direction-expanded cell mask as uint64 words (cached on the instance: comparisons repeat)."""
    cached = c.__dict__.get("_words")
    if cached is None:
        cells = np.unpackbits(c.cell_mask, axis=1, count=c.params.cell_count).astype(bool)
        mask = np.packbits(np.repeat(cells, c.params.directional_cells, axis=1), axis=1)
        cached = (_as_words(c.bits), _as_words(mask))
        c.__dict__["_words"] = cached  # a derived cache, not part of the value (frozen dataclass)
    return cached


def _as_words(packed: NDArray[np.uint8]) -> NDArray[np.uint64]:
    padded = np.zeros((packed.shape[0], -(-packed.shape[1] // 8) * 8), np.uint8)
    padded[:, : packed.shape[1]] = packed
    return padded.view(np.uint64)


@functools.lru_cache(maxsize=8)
def _circle_cell_count(params: MccParams) -> int:
    ns = params.spatial_cells
    offsets = (2 * params.radius / ns) * (np.arange(ns) - (ns - 1) / 2)
    return int((np.hypot(offsets[:, None], offsets[None, :]) <= params.radius).sum())


def _sigmoid(value: NDArray[np.float64] | float, mu: float, tau: float) -> NDArray[np.float64]:
    return 1 / (1 + np.exp(-tau * (np.asarray(value, dtype=np.float64) - mu)))


def pair_count(count_a: int, count_b: int, params: MccParams = MATCHING) -> int:
    """n_P, the number of best local matches averaged into the global score."""
    weight = float(_sigmoid(min(count_a, count_b), params.pairs_mu, params.pairs_tau))
    return params.min_pairs + round(weight * (params.max_pairs - params.min_pairs))


def similarity(a: Cylinders, b: Cylinders) -> float:
    """Global MCC score in [0, 1] of two fingers: Local Similarity Sort with Relaxation (LSS-R)."""
    matrix = local_similarities(a, b)
    if matrix.size == 0:
        return 0.0
    params = a.params
    n_pairs = min(pair_count(len(a), len(b), params), matrix.size)
    n_relax = min(len(a), len(b))
    order = np.argsort(matrix, axis=None)[::-1][:n_relax]
    rows, cols = np.unravel_index(order, matrix.shape)
    initial = matrix[rows, cols].astype(np.float64)
    if n_relax < 2 or not initial.any():
        return float(np.sort(matrix, axis=None)[::-1][:n_pairs].mean())
    relaxed = _relax(a.minutiae[rows], b.minutiae[cols], initial, params)
    with np.errstate(divide="ignore", invalid="ignore"):
        efficiency = np.where(initial > 0, relaxed / initial, 0.0)
    chosen = np.argsort(efficiency)[::-1][:n_pairs]
    return float(np.clip(relaxed[chosen].sum() / n_pairs, 0.0, 1.0))


def _relax(
    points_a: NDArray[np.float32], points_b: NDArray[np.float32], initial: NDArray[np.float64], params: MccParams
) -> NDArray[np.float64]:
    """λ after relaxation: each pair is reinforced by the pairs geometrically compatible with it."""

    def geometry(points: NDArray[np.float32]) -> tuple[NDArray[np.float64], ...]:
        x, y, theta = points[:, 0].astype(np.float64), -points[:, 1].astype(np.float64), points[:, 2].astype(np.float64)
        dx, dy = x[:, None] - x[None, :], y[:, None] - y[None, :]
        distance = np.hypot(dx, dy)
        direction = _angle(theta[:, None] - theta[None, :])
        radial = _angle(theta[:, None] - np.arctan2(dy, dx))
        return distance, direction, radial

    dist_a, dir_a, rad_a = geometry(points_a)
    dist_b, dir_b, rad_b = geometry(points_b)
    mu, tau = params.relaxation_mu, params.relaxation_tau
    rho = (
        _sigmoid(np.abs(dist_a - dist_b), mu[0], tau[0])
        * _sigmoid(np.abs(_angle(dir_a - dir_b)), mu[1], tau[1])
        * _sigmoid(np.abs(_angle(rad_a - rad_b)), mu[2], tau[2])
    )
    np.fill_diagonal(rho, 0.0)
    weight = params.relaxation_weight
    scores = initial.copy()
    for _ in range(params.relaxation_iterations):
        scores = weight * scores + (1 - weight) * (rho @ scores) / (len(scores) - 1)
    return scores


# --- serialisation ------------------------------------------------------------------------------------
_MAGIC = b"MCC1"
_HEADER = struct.Struct("<4sBBH")  # magic, NS, ND, cylinder count


def to_bytes(c: Cylinders) -> bytes:
    """Compact little-endian encoding: header, then minutiae (float32), cell masks and bits of each cylinder."""
    return (
        _HEADER.pack(_MAGIC, c.params.spatial_cells, c.params.directional_cells, len(c))
        + np.ascontiguousarray(c.minutiae, dtype="<f4").tobytes()
        + np.ascontiguousarray(c.cell_mask).tobytes()
        + np.ascontiguousarray(c.bits).tobytes()
    )


def from_bytes(data: bytes) -> Cylinders:
    """Decode ``to_bytes`` output; ValueError when the data is not a valid encoding."""
    if len(data) < _HEADER.size:
        raise ValueError("MCC data too short")
    magic, ns, nd, count = _HEADER.unpack_from(data)
    if magic != _MAGIC or ns == 0 or nd == 0:
        raise ValueError("not MCC cylinder data")
    params = next(
        (p for p in _PRESETS if (p.spatial_cells, p.directional_cells) == (ns, nd)),
        replace(MATCHING, spatial_cells=ns, directional_cells=nd),
    )
    mask_bytes, bit_bytes = -(-params.cell_count // 8), params.bit_count // 8
    sizes = (count * 12, count * mask_bytes, count * bit_bytes)
    if len(data) != _HEADER.size + sum(sizes):
        raise ValueError("MCC data length does not match its header")
    start = _HEADER.size
    minutiae = np.frombuffer(data, "<f4", count * 3, start).reshape(count, 3).astype(np.float32)
    start += sizes[0]
    mask = np.frombuffer(data, np.uint8, sizes[1], start).reshape(count, mask_bytes).copy()
    start += sizes[1]
    bits = np.frombuffer(data, np.uint8, sizes[2], start).reshape(count, bit_bytes).copy()
    return Cylinders(bits=bits, cell_mask=mask, minutiae=minutiae, params=params)
