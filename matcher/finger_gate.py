"""The finger gate: is this grey image a fingerprint at all? It runs before MINDTCT and NFIQ 2.

NFIQ 2 (ISO/IEC 29794-4) predicts how useful a *fingerprint* image is for matching; it presumes its input
is one and has no "not a finger" answer. Face portraits score 17–46 on it (civid's minimum is 20) and
MINDTCT finds dozens of "minutiae" in a face. So the question is asked here first, on the structure every
friction-ridge image has and other pictures lack (Maltoni et al., Handbook of Fingerprint Recognition,
3rd ed., §3.2–3.6), block by block over the segmented foreground:

- **foreground**: 16×16 blocks whose grey levels vary (ridges against valleys): at least ``min_block_std``
  and ``relative_block_std`` of the image's 90th percentile, so a sensor's textured background is not
  counted; their area must be that of a fingertip (``min_foreground_mm2``);
- **ridge flow**: the orientation field is coherent — in each 32×32 window the ridge-band energy lies along
  one axis, and neighbouring windows agree (structure-tensor coherence of the band-passed spectrum, summed
  over 3×3 windows: Bazen & Gerez 2002, eq. 8); a face's edges are coherent too, noise and text are not;
- **ridge frequency**: the dominant spatial period of each window (the peak of its local spectrum) lies in
  the band of human ridges at 500 ppi, ``min_ridge_period_px``–``max_ridge_period_px`` (0.25–0.75 mm); a
  face's energy peaks at lower frequencies.

Pure numpy, ~10–50 ms an image. The limits in ``DEFAULT`` were chosen on the eight FVC2000 and FVC2002
databases (640 prints, all accepted) against the 8,292 LFW faces (all refused) and synthetic non-fingers,
midway between the worst of each side; ``benchmarks/finger_gate.py`` measures them again. It is a gate
against the wrong picture, not presentation-attack detection: parallel stripes at ridge spacing (a grating,
a barcode, many pages of dense printed text) pass it and are then judged by NFIQ 2 and the minutiae count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

PPI = 500
_MM_PER_INCH = 25.4


@dataclass(frozen=True, slots=True)
class FingerGateParams:
    """The finger gate's limits (pixels at 500 ppi)."""

    block: int = 16  # segmentation and measurement step, px (about 1.5 ridge periods)
    window: int = 32  # side of the window whose spectrum describes a block, px
    spectrum: int = 64  # FFT size: the window zero-padded, for a finer frequency grid
    min_block_std: float = 8.0  # grey-level standard deviation of a foreground block ...
    relative_block_std: float = 0.3  # ... and at least this share of the image's 90th-percentile block
    min_foreground_mm2: float = 30.0  # real prints: 45 mm² and up (FVC); a fingertip pressed flat ~150 mm²
    min_coherence: float = 0.20  # real prints ≥ 0.24, white noise ≤ 0.11 (75th percentile over windows)
    min_ridge_period_px: float = 5.0
    max_ridge_period_px: float = 15.0
    min_in_band: float = 0.40  # real prints ≥ 0.44, LFW faces ≤ 0.38 (share of windows with a ridge period)


DEFAULT = FingerGateParams()

FOREGROUND = "finger_too_little_foreground"
RIDGE_FLOW = "finger_no_ridge_flow"
RIDGE_FREQUENCY = "finger_no_ridge_frequency"


@dataclass(frozen=True, slots=True)
class GateMeasurement:
    """What the gate measured on one image."""

    foreground_mm2: float
    coherence: float  # 75th percentile of the neighbourhood coherence over foreground windows (0 .. 1)
    ridge_period_px: float  # median dominant period over the foreground windows (0 without foreground)
    in_band: float  # share of foreground windows whose dominant period is a ridge period


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """The gate's answer: ``reason`` is None for a fingerprint, else a stable code, the value and its limit."""

    measurement: GateMeasurement
    reason: str | None = None
    value: float | None = None
    limit: float | None = None

    @property
    def passed(self) -> bool:
        return self.reason is None


def check(image: NDArray[np.uint8], params: FingerGateParams = DEFAULT) -> GateVerdict:
    """Measure one 2-D uint8 grey image (500 ppi) and judge it."""
    return judge(measure(image, params), params)


def judge(measurement: GateMeasurement, params: FingerGateParams = DEFAULT) -> GateVerdict:
    """The first limit the measurement fails (foreground, then ridge flow, then ridge frequency), or a pass."""
    m = measurement
    if m.foreground_mm2 < params.min_foreground_mm2:
        return GateVerdict(m, FOREGROUND, round(m.foreground_mm2, 1), params.min_foreground_mm2)
    if m.coherence < params.min_coherence:
        return GateVerdict(m, RIDGE_FLOW, round(m.coherence, 2), params.min_coherence)
    if m.in_band < params.min_in_band:
        return GateVerdict(m, RIDGE_FREQUENCY, round(m.in_band, 2), params.min_in_band)
    return GateVerdict(m)


def measure(image: NDArray[np.uint8], params: FingerGateParams = DEFAULT) -> GateMeasurement:
    """Segment the ridge foreground and measure its area, ridge-flow coherence and ridge frequency."""
    if image.ndim != 2:
        raise ValueError("the finger gate measures 2-D grey images")
    b = params.block
    rows, cols = image.shape[0] // b, image.shape[1] // b
    if rows == 0 or cols == 0:
        return GateMeasurement(0.0, 0.0, 0.0, 0.0)
    grey = image[: rows * b, : cols * b].astype(np.float32)
    spread = grey.reshape(rows, b, cols, b).std(axis=(1, 3))
    foreground = spread >= max(params.min_block_std, params.relative_block_std * float(np.percentile(spread, 90)))
    count = int(foreground.sum())
    if count == 0:
        return GateMeasurement(0.0, 0.0, 0.0, 0.0)
    power, fx, fy, radius = _spectra(_windows(grey, rows, cols, params)[foreground.ravel()], params)
    flat = power.reshape(count, -1)
    period = 1.0 / np.maximum(radius.ravel()[flat.argmax(axis=1)], 1e-6)
    in_band = (period >= params.min_ridge_period_px) & (period <= params.max_ridge_period_px)
    # Structure tensor of the ridge band (Parseval: Σ P·f fᵀ is the band-passed image's gradient tensor).
    band = (radius >= 1.0 / params.max_ridge_period_px) & (radius <= 1.0 / params.min_ridge_period_px)
    ridge = power * band
    gxx, gyy, gxy = ((ridge * weight).sum(axis=(1, 2)) for weight in (fx * fx, fy * fy, fx * fy))
    # Doubled-angle vectors summed over each window's 3×3 neighbours: ridges flow on, noise cancels out.
    grid = [np.zeros((rows, cols)) for _ in range(3)]
    for target, values in zip(grid, (gxx - gyy, 2.0 * gxy, gxx + gyy)):
        target[foreground] = values
    vx, vy, energy = (_neighbourhood(g) for g in grid)
    coherence = (np.hypot(vx, vy) / np.maximum(energy, 1e-12))[foreground]
    area = count * (b * _MM_PER_INCH / PPI) ** 2
    return GateMeasurement(
        foreground_mm2=float(area),
        coherence=float(np.quantile(coherence, 0.75)),
        ridge_period_px=float(np.median(period)),
        in_band=float(in_band.mean()),
    )


def _windows(grey: NDArray[np.float32], rows: int, cols: int, params: FingerGateParams) -> NDArray[np.float32]:
    """A window centred on every block (reflect-padded at the edges), as (rows*cols, window, window)."""
    w, b = params.window, params.block
    padded = np.pad(grey, (w - b) // 2, mode="reflect")
    view = np.lib.stride_tricks.sliding_window_view(padded, (w, w))[::b, ::b][:rows, :cols]
    return view.reshape(rows * cols, w, w)


def _spectra(windows: NDArray[np.float32], params: FingerGateParams) -> tuple[NDArray[np.floating[Any]], ...]:
    """Hann-windowed power spectra (half plane) and their frequency grids, in cycles per pixel; DC removed."""
    n = params.spectrum
    hann = np.hanning(params.window).astype(np.float32)
    centred = (windows - windows.mean(axis=(1, 2), keepdims=True)) * np.outer(hann, hann)
    power = np.abs(np.fft.rfft2(centred, s=(n, n))) ** 2
    fy = np.fft.fftfreq(n)[:, None]
    fx = np.fft.rfftfreq(n)[None, :]
    radius = np.hypot(fx, fy)
    power[:, radius < 1.5 / params.window] = 0.0  # DC and the Hann window's leakage around it
    return power, fx, fy, radius


def _neighbourhood(grid: NDArray[np.float64]) -> NDArray[np.float64]:
    """The sum over each cell's 3×3 neighbourhood (zero outside the grid)."""
    rows, cols = grid.shape
    padded = np.pad(grid, 1)
    # sum() starts at the int 0, which mypy keeps in the result type; 0 plus the first window is an array.
    return sum(padded[i : i + rows, j : j + cols] for i in range(3) for j in range(3))  # type: ignore[return-value]
