"""Deterministic synthetic fingerprints for tests, in the spirit of SFinGe (Cappelli, Maio, Maltoni).

Tests must never use real fingerprints (personal data, licence terms), so minutiae extraction and
matching are exercised on prints generated here. A finger is a *master* ridge pattern grown by
iterative Gabor filtering along an orientation field from singular points (Sherlock–Monro
zero-pole model); each *impression* of it is a translated, rotated, elastically distorted, partial,
noisy grey-level capture at 500 ppi, deterministic from (seed, impression index).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import NDArray

ORIENTATION_BINS = 16
# Ridge periods (pixels at 500 ppi) between which the frequency map is interpolated; real
# fingertips have ~9 px between ridges, a little more near the tip and the edges.
RIDGE_PERIODS = (8.0, 10.5)
GROWTH_ITERATIONS = 14
# Gain of a Gabor filter on a matched ridge of amplitude 1: above 1 so weak seeds grow until clipped.
GABOR_GAIN = 4.0
PATTERN_CLASSES = ("arch", "tented_arch", "left_loop", "right_loop", "whorl")
# Rough natural frequencies of the classes (Henry classes, FBI statistics).
CLASS_PROBABILITIES = (0.05, 0.05, 0.32, 0.30, 0.28)


# --- master fingerprint --------------------------------------------------------------------------


def _grid(size: tuple[int, int]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Pixel coordinates (x right, y down), each shaped (height, width)."""
    height, width = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    return xs, ys


def _fingertip_mask(size: tuple[int, int], rng: np.random.Generator) -> NDArray[np.float32]:
    """Soft-edged fingertip silhouette shaped (height, width): an ellipse, narrower at the bottom."""
    height, width = size
    xs, ys = _grid(size)
    centre_x = width * (0.5 + rng.uniform(-0.03, 0.03))
    centre_y = height * (0.5 + rng.uniform(-0.02, 0.04))
    half_width = width * rng.uniform(0.36, 0.43)
    half_height = height * rng.uniform(0.45, 0.52)
    dx = (xs - centre_x) / half_width
    dy = (ys - centre_y) / half_height
    # The lower half is slightly narrower, as the finger is cut by the platen edge near the joint.
    dx = np.where(dy > 0, dx * (1.0 + 0.12 * dy), dx)
    radius = np.sqrt(dx**2 + dy**2)
    edge_width = 0.08
    return np.clip((1.0 - radius) / edge_width, 0.0, 1.0).astype(np.float32)


def _singular_points(
    pattern_class: str, size: tuple[int, int], rng: np.random.Generator
) -> tuple[list[complex], list[complex]]:
    """Loops (cores) and deltas, as complex pixel positions, for one pattern class."""
    height, width = size
    centre = complex(width * rng.uniform(0.44, 0.56), height * rng.uniform(0.38, 0.48))
    scale = min(height, width)
    if pattern_class == "tented_arch":
        gap = scale * rng.uniform(0.10, 0.16)
        return [centre], [centre + complex(rng.uniform(-3, 3), gap)]
    if pattern_class in ("left_loop", "right_loop"):
        side = -1.0 if pattern_class == "left_loop" else 1.0
        delta = centre + complex(side * scale * rng.uniform(0.25, 0.38), scale * rng.uniform(0.28, 0.40))
        return [centre], [delta]
    if pattern_class == "whorl":
        gap = scale * rng.uniform(0.04, 0.10)
        tilt = complex(np.cos(rng.uniform(-0.5, 0.5)), np.sin(rng.uniform(-0.5, 0.5)))
        loops = [centre - 0.5j * gap * tilt, centre + 0.5j * gap * tilt]
        below = scale * rng.uniform(0.30, 0.40)
        deltas = [
            centre + complex(-scale * rng.uniform(0.28, 0.38), below + rng.uniform(-8, 8)),
            centre + complex(scale * rng.uniform(0.28, 0.38), below + rng.uniform(-8, 8)),
        ]
        return loops, deltas
    return [], []


def _orientation_field(pattern_class: str, size: tuple[int, int], rng: np.random.Generator) -> NDArray[np.float64]:
    """Ridge direction in radians, in [0, pi), shaped (height, width).

    Sherlock–Monro zero-pole model: theta(z) = 1/2 (sum arg(z - loop) - sum arg(z - delta)).
    A plain arch has no singular points, so it gets an analytic arch field instead.
    """
    height, width = size
    xs, ys = _grid(size)
    if pattern_class == "arch":
        peak_x = width * rng.uniform(0.42, 0.58)
        spread = width * rng.uniform(0.22, 0.32)
        bulge = rng.uniform(0.9, 1.5)
        # Arches are steepest at mid height and flatten towards the finger joint.
        steepness = bulge * np.clip(1.2 - ys / height, 0.15, 1.0)
        offset = (xs - peak_x) / spread
        slope = -2.0 * steepness * offset * np.exp(-(offset**2))
        return np.mod(np.arctan(slope), np.pi)
    loops, deltas = _singular_points(pattern_class, size, rng)
    z = xs + 1j * ys
    angle = np.zeros(size, dtype=np.float64)
    for loop in loops:
        angle += np.angle(z - loop)
    for delta in deltas:
        angle -= np.angle(z - delta)
    return np.mod(0.5 * angle, np.pi)


def _smooth_noise(size: tuple[int, int], rng: np.random.Generator, blur: float) -> NDArray[np.float32]:
    """Smooth random field in about [-1, 1] shaped (height, width)."""
    noise = rng.standard_normal(size).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), blur)
    return smooth / (3.0 * float(smooth.std()) + 1e-6)


def _gabor_bank(period: float) -> list[NDArray[np.float32]]:
    """Zero-mean Gabor kernels, one per orientation bin, for ridges of the given period.

    Bin k is for ridges running at angle k*pi/bins; the cosine wave runs across them.
    """
    sigma_across = 0.45 * period
    sigma_along = 1.5 * sigma_across  # longer along the ridge: smooths ridges, keeps them apart
    radius = int(np.ceil(3 * sigma_along))
    ys, xs = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float64)
    kernels = []
    for k in range(ORIENTATION_BINS):
        ridge_angle = k * np.pi / ORIENTATION_BINS
        along = xs * np.cos(ridge_angle) + ys * np.sin(ridge_angle)
        across = -xs * np.sin(ridge_angle) + ys * np.cos(ridge_angle)
        envelope = np.exp(-0.5 * ((across / sigma_across) ** 2 + (along / sigma_along) ** 2))
        wave = np.cos(2 * np.pi * across / period)
        kernel = envelope * wave
        kernel -= envelope * (kernel.sum() / envelope.sum())  # no response to flat areas
        # Scale so that a matched cosine of amplitude 1 comes back with amplitude GABOR_GAIN.
        kernel *= GABOR_GAIN / float((kernel * wave).sum())
        kernels.append(kernel.astype(np.float32))
    return kernels


@lru_cache(maxsize=4)
def _gabor_banks() -> tuple[list[NDArray[np.float32]], ...]:
    """One Gabor bank per entry of RIDGE_PERIODS, built once per process."""
    return tuple(_gabor_bank(period) for period in RIDGE_PERIODS)


def _grow_ridges(
    seed_image: NDArray[np.float32],
    orientation: NDArray[np.float64],
    period_weight: NDArray[np.float32],
) -> NDArray[np.float32]:
    """Iterative Gabor filtering: each pass filters with the locally oriented, locally tuned Gabor
    filter and clips to [-1, 1], so seeds grow into ridges that meet in endings and bifurcations."""
    position = orientation * (ORIENTATION_BINS / np.pi)
    lower_bin = np.floor(position).astype(np.int64) % ORIENTATION_BINS
    upper_bin = (lower_bin + 1) % ORIENTATION_BINS
    upper_weight = (position - np.floor(position)).astype(np.float32)
    lower_index, upper_index = lower_bin[None], upper_bin[None]
    image = seed_image
    banks = _gabor_banks()
    for _ in range(GROWTH_ITERATIONS):
        combined = np.zeros_like(image)
        for bank, weight in zip(banks, (1.0 - period_weight, period_weight)):
            # Filtering the whole image with every kernel and picking per pixel is far faster in
            # numpy than a per-pixel kernel; the two nearest orientation bins are blended.
            responses = np.stack([cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT) for kernel in bank])
            lower = np.take_along_axis(responses, lower_index, axis=0)[0]
            upper = np.take_along_axis(responses, upper_index, axis=0)[0]
            combined += weight * ((1.0 - upper_weight) * lower + upper_weight * upper)
        image = np.clip(combined, -1.0, 1.0)
    return image


@lru_cache(maxsize=64)
def _cached_master(seed: int, size: tuple[int, int]) -> NDArray[np.float32]:
    rng = np.random.default_rng([seed, 0x5F1E6E])
    pattern_class = PATTERN_CLASSES[rng.choice(len(PATTERN_CLASSES), p=CLASS_PROBABILITIES)]
    orientation = _orientation_field(pattern_class, size, rng)
    # Small smooth wobble of the field, as real ridge flow is never exactly the model's.
    orientation = np.mod(orientation + 0.08 * _smooth_noise(size, rng, 25.0), np.pi)
    period_weight = np.clip(0.5 + 0.9 * _smooth_noise(size, rng, 30.0), 0.0, 1.0)
    seeds = np.zeros(size, dtype=np.float32)
    seed_count = int(rng.integers(12, 20))
    rows = rng.integers(0, size[0], seed_count)
    cols = rng.integers(0, size[1], seed_count)
    seeds[rows, cols] = rng.choice([-1.0, 1.0], seed_count).astype(np.float32)
    # Faint noise everywhere, so that regions the seeds never reach still fill with ridges.
    seeds += 1e-4 * rng.standard_normal(size).astype(np.float32)
    ridges = _grow_ridges(seeds, orientation, period_weight.astype(np.float32))
    pattern = (ridges * _fingertip_mask(size, rng)).astype(np.float32)
    pattern.setflags(write=False)  # shared by every caller through the cache
    return pattern


def master(seed: int, size: tuple[int, int] = (300, 300)) -> NDArray[np.float32]:
    """Master ridge pattern of finger `seed`, float32 in [-1, 1] shaped `size` (height, width);
    ridges are positive, 0 outside the fingertip. Cached and read-only."""
    return _cached_master(int(seed), (int(size[0]), int(size[1])))


# --- impressions ---------------------------------------------------------------------------------


def _sampling_maps(size: tuple[int, int], rng: np.random.Generator) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Where each impression pixel samples the master: rotation, translation and a non-linear
    elastic distortion that is zero at the contact centre and grows away from it (Cappelli 2001)."""
    height, width = size
    xs, ys = _grid(size)
    centre_x, centre_y = width / 2.0, height / 2.0
    angle = np.deg2rad(rng.uniform(-15.0, 15.0))
    shift_x, shift_y = rng.uniform(-20.0, 20.0, 2)
    # Inverse similarity: from the impression pixel back to the undistorted master pixel.
    ux, uy = xs - centre_x - shift_x, ys - centre_y - shift_y
    cos, sin = np.cos(angle), np.sin(angle)
    source_x = cos * ux + sin * uy + centre_x
    source_y = -sin * ux + cos * uy + centre_y
    contact_x = centre_x + rng.uniform(-0.15, 0.15) * width
    contact_y = centre_y + rng.uniform(-0.15, 0.15) * height
    distance = np.hypot(source_x - contact_x, source_y - contact_y)
    # Skin is held at the contact centre and dragged by the finger's lateral push elsewhere.
    grip = 1.0 - np.exp(-((distance / (0.35 * min(size))) ** 2))
    drag_x, drag_y = rng.uniform(-7.0, 7.0, 2)
    twist = np.deg2rad(rng.uniform(-3.0, 3.0))
    rel_x, rel_y = source_x - contact_x, source_y - contact_y
    source_x = source_x + grip * (drag_x - twist * rel_y)
    source_y = source_y + grip * (drag_y + twist * rel_x)
    return source_x.astype(np.float32), source_y.astype(np.float32)


def _contact_region(size: tuple[int, int], rng: np.random.Generator) -> NDArray[np.float32]:
    """Soft elliptical region (in master coordinates) that touched the sensor: partial prints."""
    height, width = size
    xs, ys = _grid(size)
    centre_x = width * (0.5 + rng.uniform(-0.08, 0.08))
    centre_y = height * (0.5 + rng.uniform(-0.08, 0.08))
    half_width = width * rng.uniform(0.30, 0.48)
    half_height = height * rng.uniform(0.38, 0.58)
    radius = np.hypot((xs - centre_x) / half_width, (ys - centre_y) / half_height)
    return np.clip((1.0 - radius) / 0.12, 0.0, 1.0).astype(np.float32)


def impression(master_pattern: NDArray[np.float32], seed: int, index: int) -> NDArray[np.uint8]:
    """Impression `index` of a master: uint8 grey image of the master's shape, dark ridges on a
    light background at 500 ppi; deterministic from (seed, index)."""
    size = master_pattern.shape[:2]
    rng = np.random.default_rng([int(seed), int(index), 0x1A9E55])
    pressure = rng.uniform(-0.35, 0.30)  # > 0: wet or pressed hard, thick ridges; < 0: dry
    ridges = np.asarray(master_pattern, dtype=np.float32)
    # The master fades to 0 outside the fingertip; its local mean magnitude recovers the silhouette.
    fingertip = np.clip(cv2.GaussianBlur(np.abs(ridges), (0, 0), 4.0) / 0.6, 0.0, 1.0)
    contact = _contact_region(size, rng) * fingertip
    # Ink is a soft threshold of the pattern; pressure moves the threshold, thickening ridges.
    ink = 1.0 / (1.0 + np.exp(-10.0 * (ridges + pressure)))
    # Dry skin: ridges break up into blotches.
    dryness = np.clip(-pressure * 2.0, 0.0, 0.7)
    blotches = np.clip(_smooth_noise(size, rng, 1.5) * 2.5 + 1.5 - dryness, 0.0, 1.0)
    ink = ink * (contact * blotches).astype(np.float32)
    map_x, map_y = _sampling_maps(size, rng)
    ink = cv2.remap(ink.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR, borderValue=0.0)

    background = rng.uniform(195.0, 240.0) + 12.0 * _smooth_noise(size, rng, 60.0)
    contrast = rng.uniform(0.75, 0.97) * background
    gray = background - contrast * ink
    gray = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), rng.uniform(0.4, 0.9))
    gray += rng.normal(0.0, rng.uniform(3.0, 9.0), size).astype(np.float32)
    return np.clip(np.rint(gray), 0, 255).astype(np.uint8)


def impressions(seed: int, count: int, size: tuple[int, int] = (300, 300)) -> list[NDArray[np.uint8]]:
    """`count` impressions of finger `seed`, as from `impression(master(seed, size), seed, i)`."""
    pattern = master(seed, size)
    return [impression(pattern, seed, index) for index in range(count)]


def png_bytes(image: NDArray[np.uint8]) -> bytes:
    """The image encoded as PNG."""
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("could not encode image as PNG")
    return encoded.tobytes()
