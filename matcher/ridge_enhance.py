"""Ridge enhancement of a fingerprint image before minutiae extraction, and the print's foreground mask.

After Hong, Wan, Jain, "Fingerprint image enhancement: algorithm and performance evaluation", IEEE TPAMI
20(8), 1998: normalise the grey levels, estimate the ridge orientation field (least-squares on smoothed
gradient moments) and the ridge frequency (the period of the grey-level signature across the ridges in
oriented blocks), then filter every pixel with the even-symmetric Gabor filter tuned to its local
orientation and frequency. The foreground mask (where the print is) comes from the local grey-level spread
and the coherence of the orientation field; minutiae outside it, or within a few ridges of its edge (where
the print simply stops, so every ridge "ends"), are the spurious ones a matcher is better off without.

Images are 2-D uint8 grey arrays at 500 ppi, ridges dark, as ``matcher.nbis_bridge.extract`` takes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

BLOCK = 16  # pixels per block of the segmentation and frequency estimate (about 2 ridge periods at 500 ppi)
ORIENTATIONS = 16  # Gabor filter bank: 11.25° steps, MINDTCT's own direction resolution
PERIODS = (6.0, 7.0, 8.0, 9.0, 10.5, 12.0, 14.0)  # ridge periods (px) of the bank; fingers span ~6–14 px
GABOR_SIGMA = 4.0  # σx = σy of the Gabor envelope, Hong et al.'s choice (pixels)
ORIENTATION_SIGMA = 1.0 * BLOCK / 2  # smoothing of the gradient moments: the field varies over ~half a block
# Segmentation: a block is foreground when its grey-level spread reaches this share of the image's
# 95th-percentile block spread and its orientation coherence this value (the background is flat or noise).
SPREAD_SHARE = 0.25
MIN_COHERENCE = 0.25
MIN_PERIOD_SHARE = 0.05  # a ridge-period bin covering less of the foreground is filtered with its neighbour's


@dataclass(frozen=True)
class Enhanced:
    """An enhanced image (uint8, ridges dark, background white) and the foreground mask (True = print)."""

    image: NDArray[np.uint8]
    mask: NDArray[np.bool_]
    period: float  # median ridge period over the foreground, pixels


def enhance(image: NDArray[np.uint8]) -> Enhanced:
    """Normalise, estimate orientation, frequency and the foreground, Gabor-filter; see the module docstring."""
    grey = image.astype(np.float32)
    orientation, coherence = orientation_field(grey)
    mask = foreground(grey, coherence)
    normalised = _normalise(grey, mask)
    period = _block_periods(normalised, orientation, mask)
    filtered = _gabor(normalised, orientation, period, mask)
    # Ridges dark as in the capture: the filter keeps polarity; its output is scaled to its own spread.
    scale = float(np.percentile(np.abs(filtered[mask]), 95)) if mask.any() else 1.0
    out = np.clip(127.5 + 127.5 * filtered / max(scale, 1e-6), 0, 255).astype(np.uint8)
    out[~mask] = 255
    median_period = float(np.median(period[mask])) if mask.any() else 9.0
    return Enhanced(out, mask, median_period)


def foreground_of(image: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """The foreground mask alone (no filtering): what ``enhance`` would return as ``mask``."""
    grey = image.astype(np.float32)
    return foreground(grey, orientation_field(grey)[1])


def orientation_field(grey: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Per pixel: the ridge direction in radians (0..π, from +x, y down) and its coherence (0..1)."""
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    gxx = cv2.GaussianBlur(gx * gx, (0, 0), ORIENTATION_SIGMA)
    gyy = cv2.GaussianBlur(gy * gy, (0, 0), ORIENTATION_SIGMA)
    gxy = cv2.GaussianBlur(gx * gy, (0, 0), ORIENTATION_SIGMA)
    # The gradient's dominant direction, doubled-angle averaged; ridges run perpendicular to it.
    gradient = 0.5 * np.arctan2(2 * gxy, gxx - gyy)
    ridge = np.mod(gradient + math.pi / 2, math.pi).astype(np.float32)
    coherence = np.sqrt((gxx - gyy) ** 2 + 4 * gxy**2) / np.maximum(gxx + gyy, 1e-6)
    return ridge, coherence.astype(np.float32)


def foreground(grey: NDArray[np.float32], coherence: NDArray[np.float32]) -> NDArray[np.bool_]:
    """The print's region: blocks with ridge contrast and a coherent direction, holes filled, edges smoothed."""
    height, width = grey.shape
    rows, cols = math.ceil(height / BLOCK), math.ceil(width / BLOCK)
    padded = np.pad(grey, ((0, rows * BLOCK - height), (0, cols * BLOCK - width)), mode="edge")
    blocks = padded.reshape(rows, BLOCK, cols, BLOCK)
    spread = blocks.std(axis=(1, 3))
    padded_coherence = np.pad(coherence, ((0, rows * BLOCK - height), (0, cols * BLOCK - width)), mode="edge")
    block_coherence = padded_coherence.reshape(rows, BLOCK, cols, BLOCK).mean(axis=(1, 3))
    reference = float(np.percentile(spread, 95))
    chosen = (spread >= SPREAD_SHARE * reference) & (block_coherence >= MIN_COHERENCE)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    opened = cv2.morphologyEx(chosen.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    closed = cv2.morphologyEx(opened, cv2.MORPH_CLOSE, kernel).astype(np.uint8)
    block_mask = _largest_component(_fill_holes(closed))
    full = cv2.resize(block_mask * 255, (cols * BLOCK, rows * BLOCK), interpolation=cv2.INTER_LINEAR)
    full = cv2.GaussianBlur(full, (0, 0), BLOCK / 2)
    return full[:height, :width] >= 128


def border_distance(mask: NDArray[np.bool_]) -> NDArray[np.float32]:
    """Per pixel: the distance in pixels to the nearest background pixel or image edge (0 outside the print)."""
    framed = np.pad(mask.astype(np.uint8), 1)
    distance = cv2.distanceTransform(framed, cv2.DIST_L2, 5)
    return cast(NDArray[np.float32], distance[1:-1, 1:-1])


def _fill_holes(block_mask: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """``block_mask`` with every background region not connected to the image edge made foreground."""
    framed = np.pad(block_mask, 1)
    flood = framed.copy()
    cv2.floodFill(flood, None, (0, 0), 2)
    return cast(NDArray[np.uint8], np.where(flood[1:-1, 1:-1] == 2, 0, 1).astype(np.uint8))


def _largest_component(block_mask: NDArray[np.uint8]) -> NDArray[np.uint8]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(block_mask, connectivity=4)
    if count <= 2:
        return block_mask
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return np.asarray(labels == biggest, dtype=np.uint8)


def _normalise(grey: NDArray[np.float32], mask: NDArray[np.bool_]) -> NDArray[np.float32]:
    """Zero mean, unit spread, locally (over ~2 ridge periods) so that uneven pressure does not matter."""
    mean = cv2.GaussianBlur(grey, (0, 0), BLOCK)
    centred = grey - mean
    spread = np.sqrt(cv2.GaussianBlur(centred * centred, (0, 0), BLOCK))
    floor = float(np.median(spread[mask])) * 0.2 if mask.any() else 1.0
    return cast(NDArray[np.float32], centred / np.maximum(spread, max(floor, 1e-3)))


def _block_periods(
    normalised: NDArray[np.float32], orientation: NDArray[np.float32], mask: NDArray[np.bool_]
) -> NDArray[np.float32]:
    """Per pixel: the ridge period from oriented windows (2·BLOCK across the ridges, BLOCK along them) centred on
    each foreground block (the mean distance between the peaks of the window's x-signature), smoothed, with the
    foreground median where a block gives none."""
    height, width = normalised.shape
    centres_y = np.arange(BLOCK // 2, height, BLOCK)
    centres_x = np.arange(BLOCK // 2, width, BLOCK)
    grid_y, grid_x = np.meshgrid(centres_y, centres_x, indexing="ij")
    chosen = mask[grid_y, grid_x]
    cy, cx = grid_y[chosen].astype(np.float32), grid_x[chosen].astype(np.float32)
    theta = orientation[grid_y[chosen], grid_x[chosen]]
    # Unit vectors along the ridge (u) and across it (v), image coordinates (y down); every window in one remap.
    ux, uy = np.cos(theta), np.sin(theta)
    across = np.arange(-BLOCK, BLOCK, dtype=np.float32)[None, :, None]
    along = np.arange(-BLOCK // 2, BLOCK // 2, dtype=np.float32)[None, None, :]
    xs = cx[:, None, None] - across * uy[:, None, None] + along * ux[:, None, None]
    ys = cy[:, None, None] + across * ux[:, None, None] + along * uy[:, None, None]
    windows = len(cx)
    periods = np.full(grid_y.shape, np.nan, np.float32)
    if windows:
        samples = cv2.remap(
            normalised,
            xs.reshape(windows * 2 * BLOCK, BLOCK),
            ys.reshape(windows * 2 * BLOCK, BLOCK),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )
        signatures = samples.reshape(windows, 2 * BLOCK, BLOCK).mean(axis=2)
        periods[chosen] = [_signature_period(signature) for signature in signatures]
    valid = np.isfinite(periods)
    fallback = float(np.median(periods[valid])) if valid.any() else 9.0
    smoothed = cv2.GaussianBlur(np.where(valid, periods, fallback).astype(np.float32), (3, 3), 0)
    # Block centres sit every BLOCK pixels from BLOCK / 2: stretching the grid over the image keeps them within
    # half a block of where they were measured.
    return cast(NDArray[np.float32], cv2.resize(smoothed, (width, height), interpolation=cv2.INTER_LINEAR))


def _signature_period(signature: NDArray[np.float32]) -> float:
    """The mean distance between the local maxima of a 1-D signature, or NaN when it is not ridge-like."""
    smooth = np.convolve(signature, np.array([0.25, 0.5, 0.25], np.float32), mode="same")
    inner = smooth[1:-1]
    peaks = np.flatnonzero((inner > smooth[:-2]) & (inner >= smooth[2:]) & (inner > 0)) + 1
    if len(peaks) < 2:
        return math.nan
    period = float(peaks[-1] - peaks[0]) / (len(peaks) - 1)
    return period if PERIODS[0] - 1 <= period <= PERIODS[-1] + 1 else math.nan


@lru_cache(maxsize=1)
def _bank() -> tuple[tuple[NDArray[np.float32], ...], ...]:
    """Even-symmetric Gabor kernels, [period][orientation], zero mean (a flat region gives zero response)."""
    size = int(math.ceil(3 * GABOR_SIGMA))
    ys, xs = np.mgrid[-size : size + 1, -size : size + 1].astype(np.float32)
    bank = []
    for period in PERIODS:
        row = []
        for k in range(ORIENTATIONS):
            theta = k * math.pi / ORIENTATIONS
            # Across the ridge: the direction perpendicular to theta.
            across = -xs * math.sin(theta) + ys * math.cos(theta)
            envelope = np.exp(-(xs**2 + ys**2) / (2 * GABOR_SIGMA**2))
            kernel = envelope * np.cos(2 * math.pi * across / period)
            kernel -= kernel.mean() * envelope / envelope.mean()
            row.append((kernel / np.abs(kernel).sum()).astype(np.float32))
        bank.append(tuple(row))
    return tuple(bank)


def _gabor(
    normalised: NDArray[np.float32],
    orientation: NDArray[np.float32],
    period: NDArray[np.float32],
    mask: NDArray[np.bool_],
) -> NDArray[np.float32]:
    """Every foreground pixel filtered by the bank's kernel nearest its orientation and period (zero elsewhere).

    A period bin holding under ``MIN_PERIOD_SHARE`` of the foreground is merged into the nearest larger one:
    a handful of pixels is not worth filtering the image again for, and a period so rare is mostly noise."""
    bank = _bank()
    height, width = normalised.shape
    margin = bank[0][0].shape[0] // 2
    out = np.zeros_like(normalised)
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return out
    orientation_bin = np.round(orientation[ys, xs] * ORIENTATIONS / math.pi).astype(np.int64) % ORIENTATIONS
    edges = np.array([(a + b) / 2 for a, b in zip(PERIODS, PERIODS[1:])], np.float32)
    period_bin = np.searchsorted(edges, period[ys, xs])
    shares = np.bincount(period_bin, minlength=len(PERIODS)) / len(period_bin)
    kept = np.flatnonzero(shares >= MIN_PERIOD_SHARE)
    if not len(kept):
        kept = np.array([int(np.argmax(shares))])
    period_bin = kept[np.abs(period_bin[:, None] - kept[None, :]).argmin(axis=1)]
    label = period_bin * ORIENTATIONS + orientation_bin
    order = np.argsort(label, kind="stable")
    labels, starts = np.unique(label[order], return_index=True)
    for group, start, stop in zip(labels, starts, [*starts[1:], len(order)]):
        members = order[start:stop]
        gy, gx = ys[members], xs[members]
        # Filter only the bounding box of the pixels that take this kernel (plus its reach).
        top, bottom = max(int(gy.min()) - margin, 0), min(int(gy.max()) + margin + 1, height)
        left, right = max(int(gx.min()) - margin, 0), min(int(gx.max()) + margin + 1, width)
        kernel = bank[group // ORIENTATIONS][group % ORIENTATIONS]
        response = cv2.filter2D(normalised[top:bottom, left:right], cv2.CV_32F, kernel, borderType=cv2.BORDER_REFLECT)
        out[gy, gx] = response[gy - top, gx - left]
    return out
