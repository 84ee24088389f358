"""Minutiae extraction from a fingerprint image, by one of civid's extractors (the enrolment setting picks one).

- ``mindtct``: NIST MINDTCT on the image as captured (``matcher.nbis_bridge.extract``).
- ``masked``: MINDTCT on the image as captured, then every minutia outside the print's foreground
  (``matcher.ridge_enhance.foreground``) or within ``BORDER_MARGIN`` pixels of its edge dropped.
- ``enhanced``: the image's ridges enhanced first (``matcher.ridge_enhance``: orientation- and frequency-tuned
  Gabor filtering, Hong, Wan & Jain 1998), MINDTCT on the enhanced image, and every minutia outside the print's
  foreground or within ``BORDER_MARGIN`` pixels of its edge dropped: where a print stops every ridge seems to
  end, and on large optical captures (FVC2000 DB3: 448×478 px) MINDTCT reports ~130 minutiae, many of them
  along the border and in the background. NFIQ 2 still grades the image as captured (an enhanced image
  would hide a poor capture), which nbis-py computes only together with MINDTCT: the enhanced extractor
  runs MINDTCT twice, and costs about twice as much (``benchmarks/finger_lodo.py`` measures both).

Either way the result is an ``nbis_bridge.Extraction``: the same ISO minutiae, frame and NFIQ 2, so
templates keep their format and every matcher reads them unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from matcher import nbis_bridge, ridge_enhance
from matcher.iso19794 import MAX_MINUTIAE_PER_VIEW, Minutia

# Minutiae closer than this to the foreground's edge are dropped (pixels at 500 ppi; about two ridge periods).
BORDER_MARGIN = 16.0


class Extractor(StrEnum):
    """Which extractor turns an image into minutiae."""

    MINDTCT = "mindtct"
    MASKED = "masked"  # MINDTCT on the capture, minutiae outside the foreground (and near its edge) dropped
    ENHANCED = "enhanced"


def extract(
    image: NDArray[np.uint8], ppi: int = 500, extractor: Extractor = Extractor.ENHANCED
) -> nbis_bridge.Extraction:
    """Minutiae and NFIQ 2 of a 2-D uint8 grey image scanned at ``ppi`` (resampled to 500 ppi first)."""
    captured = nbis_bridge.extract(image, ppi)
    if extractor is Extractor.MINDTCT:
        return captured
    at_500 = nbis_bridge.at_500_ppi(image, ppi)
    if extractor is Extractor.MASKED:
        return replace(captured, minutiae=inside(captured.minutiae, ridge_enhance.foreground_of(at_500), BORDER_MARGIN))
    enhanced = ridge_enhance.enhance(at_500)
    minutiae = inside(nbis_bridge.mindtct(enhanced.image), enhanced.mask, BORDER_MARGIN)
    return replace(captured, minutiae=nbis_bridge.best(minutiae, MAX_MINUTIAE_PER_VIEW))


def inside(minutiae: tuple[Minutia, ...], mask: NDArray[np.bool_], margin: float) -> tuple[Minutia, ...]:
    """The minutiae at least ``margin`` pixels inside the foreground ``mask`` (and the image's edge)."""
    distance = ridge_enhance.border_distance(mask)
    return tuple(m for m in minutiae if distance[m.y, m.x] >= margin)
