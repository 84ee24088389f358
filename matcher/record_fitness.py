"""Is a finger's minutiae set usable by civid's matchers? Declared resolution and geometry, checked before matching.

civid's matchers measure distances in pixels of a 500 ppi image (MCC's cylinder radius, BOZORTH3's pair
lengths), so a record whose coordinates are not 500 ppi pixels compares as another finger would. A record that
declares a resolution far from 500 ppi, or whose minutiae were rescaled into a frame that does not fit them, is
such a record — and nothing downstream can tell. What the record itself betrays, measured here in physical units
(millimetres, from its declared resolution):

- the declared resolution: outside 500 ppi ± the tolerance it is not what the matchers assume (unless the caller
  resamples the coordinates to 500 ppi first);
- the share of the declared frame the minutiae's bounding box covers: minutiae squeezed into a corner of a big
  frame were rescaled or cropped from another frame;
- the minutiae density over their bounding box, per cm²: a real fingertip holds a few tens of minutiae per cm²
  (FVC2002's SecuGen records: 8–57, median 25); far fewer means the coordinates were stretched (or the record is
  nearly empty), far more that they were shrunk (a larger sensor's minutiae pressed into a smaller frame);
- too few minutiae at all.

Every check runs and every failure is a ``Finding`` with a stable code, the measurement and the limit, so the
caller can refuse or flag with every reason at once. The limits are the deployment's (``settings.finger_quality``);
this module holds no default, so a benchmark and the service read the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matcher.iso19794 import FingerprintRecord, FingerView, minutiae_array

CM_PER_INCH = 2.54
MATCHER_PPI = 500  # what every matcher in civid assumes its coordinates are

RESOLUTION = "finger_record_ppi"
COVERAGE = "finger_minutiae_coverage"
SPARSE = "finger_minutiae_sparse"
DENSE = "finger_minutiae_dense"
TOO_FEW = "finger_too_few_minutiae"
CODES = (RESOLUTION, COVERAGE, SPARSE, DENSE, TOO_FEW)


@dataclass(frozen=True, slots=True)
class FitnessLimits:
    """The limits one finger's minutiae must meet (built from ``settings.finger_quality``)."""

    ppi_tolerance: float  # the declared resolution must be within MATCHER_PPI ± this, unless resampled
    min_minutiae: int
    min_frame_coverage: float  # share (0-1] of the declared frame the minutiae's bounding box must cover
    min_minutiae_per_cm2: float  # over the minutiae's bounding box, in the declared resolution's centimetres
    max_minutiae_per_cm2: float


@dataclass(frozen=True, slots=True)
class Frame:
    """The coordinate frame minutiae are given in: its size in pixels and its resolution in pixels per cm."""

    width: int
    height: int
    x_pixels_per_cm: float
    y_pixels_per_cm: float

    @property
    def x_ppi(self) -> float:
        return self.x_pixels_per_cm * CM_PER_INCH

    @property
    def y_ppi(self) -> float:
        return self.y_pixels_per_cm * CM_PER_INCH

    @classmethod
    def of_record(cls, record: FingerprintRecord) -> Frame:
        """The frame an ISO/IEC 19794-2 record declares (its image size and resolution)."""
        return cls(record.width, record.height, float(record.x_resolution), float(record.y_resolution))

    @classmethod
    def at_ppi(cls, width: int, height: int, ppi: float) -> Frame:
        """An image's frame scanned at ``ppi`` in both directions."""
        return cls(width, height, ppi / CM_PER_INCH, ppi / CM_PER_INCH)


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason the minutiae cannot be used: a stable code, the measurement, the limit and a sentence."""

    code: str
    measured: float
    limit: float
    message: str


@dataclass(frozen=True, slots=True)
class Fitness:
    """What was measured on one finger's minutiae, and every limit they fail (none: fit for matching)."""

    minutiae: int
    x_ppi: float
    y_ppi: float
    frame_coverage: float  # share of the declared frame inside the minutiae's bounding box
    minutiae_per_cm2: float  # over that bounding box; inf when it has no area
    findings: tuple[Finding, ...]

    @property
    def fit(self) -> bool:
        return not self.findings

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.findings)


def assess(xy: NDArray[np.float32], frame: Frame, limits: FitnessLimits, *, resampled: bool = False) -> Fitness:
    """Check minutiae ``xy`` ((N, 2) pixels of ``frame``, more columns ignored) against ``limits``.

    ``resampled``: the caller converts the coordinates to 500 ppi itself, so only a stated resolution is needed."""
    points = np.asarray(xy, dtype=np.float64)
    points = points[:, :2] if points.ndim == 2 else points.reshape(-1, 2)
    count = len(points)
    findings = [
        *_resolution_findings(frame, limits, resampled),
        *_count_findings(count, limits),
    ]
    coverage, density = _geometry(points, frame)
    if count and frame.width > 0 and frame.height > 0 and coverage < limits.min_frame_coverage:
        findings.append(
            Finding(
                COVERAGE,
                coverage,
                limits.min_frame_coverage,
                f"the minutiae cover {100 * coverage:.0f}% of the declared {frame.width}x{frame.height} frame, "
                f"at least {100 * limits.min_frame_coverage:.0f}% is expected (rescaled or cropped from another "
                "frame)",
            )
        )
    if count >= 2 and density < limits.min_minutiae_per_cm2:
        findings.append(
            Finding(
                SPARSE,
                density,
                limits.min_minutiae_per_cm2,
                f"{density:.1f} minutiae per cm² over the area they span, at least {limits.min_minutiae_per_cm2:g} "
                "is expected of a fingertip (coordinates stretched, or too few minutiae for the area)",
            )
        )
    if count >= 2 and density > limits.max_minutiae_per_cm2:
        shown = "no area" if np.isinf(density) else f"{density:.1f} minutiae per cm²"
        findings.append(
            Finding(
                DENSE,
                density,
                limits.max_minutiae_per_cm2,
                f"{shown} over the area they span, at most {limits.max_minutiae_per_cm2:g} is plausible for a "
                "fingertip (coordinates shrunk, e.g. a larger sensor's minutiae rescaled into a smaller frame)",
            )
        )
    return Fitness(count, frame.x_ppi, frame.y_ppi, coverage, density, tuple(findings))


def assess_view(
    record: FingerprintRecord, view: FingerView, limits: FitnessLimits, *, resampled: bool = False
) -> Fitness:
    """``assess`` for one finger view of an ISO/IEC 19794-2 record, in the frame the record declares."""
    return assess(minutiae_array(view)[:, :2], Frame.of_record(record), limits, resampled=resampled)


def _resolution_findings(frame: Frame, limits: FitnessLimits, resampled: bool) -> list[Finding]:
    low, high = MATCHER_PPI - limits.ppi_tolerance, MATCHER_PPI + limits.ppi_tolerance
    findings = []
    for axis, ppi in (("X", frame.x_ppi), ("Y", frame.y_ppi)):
        if ppi <= 0:
            message = f"the {axis} resolution is not stated (0): the minutiae's scale is unknown"
        elif resampled or low <= ppi <= high:
            continue
        else:
            message = (
                f"the declared {axis} resolution is {ppi:.0f} ppi; the matchers need {low:.0f}–{high:.0f} ppi "
                "(coordinates in 500 ppi pixels)"
            )
        findings.append(Finding(RESOLUTION, ppi, low if ppi < low else high, message))
    return findings


def _count_findings(count: int, limits: FitnessLimits) -> list[Finding]:
    if count >= limits.min_minutiae:
        return []
    return [
        Finding(
            TOO_FEW,
            float(count),
            float(limits.min_minutiae),
            f"{count} minutiae, at least {limits.min_minutiae} needed",
        )
    ]


def _geometry(points: NDArray[np.float64], frame: Frame) -> tuple[float, float]:
    """(share of the frame inside the minutiae's bounding box, minutiae per cm² of that box)."""
    if len(points) == 0:
        return 0.0, 0.0
    extent = points.max(axis=0) - points.min(axis=0)
    frame_area = float(frame.width) * float(frame.height)
    coverage = float(extent[0] * extent[1] / frame_area) if frame_area > 0 else 0.0
    if frame.x_pixels_per_cm <= 0 or frame.y_pixels_per_cm <= 0:
        return coverage, float("nan")  # no scale: the resolution finding says so, density cannot be judged
    area_cm2 = float(extent[0] / frame.x_pixels_per_cm * extent[1] / frame.y_pixels_per_cm)
    return coverage, (len(points) / area_cm2 if area_cm2 > 0 else float("inf"))
