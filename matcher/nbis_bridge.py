"""The one bridge to nbis-py (NIST MINDTCT extraction, BOZORTH3 comparison, NFIQ 2 quality).

No other module imports ``nbis``. What we found out about nbis-py 0.1.3, and rely on here:

- ``extract_minutiae`` takes *encoded* image bytes (decoded in Rust by the ``image`` crate: PNG,
  JPEG, TIFF, BMP, WebP, PNM...). It cannot read WSQ. We hand it a lossless PNG of the grey array.
  Its ``ppi`` setting changes nothing in the minutiae (500 ppi is assumed); callers resample first.
- Its minutia coordinates are image pixels, origin top-left, y down, exactly as in ISO 19794-2;
  its angles are degrees counter-clockwise from +x as the image is viewed, in MINDTCT's 11.25°
  steps: the same convention as ISO (checked by rotating an image by 90° and against SecuGen's
  records of the same images), so the conversion is a change of unit only (1 ISO unit = 1.40625°).
- Its ISO reader/writer are not ISO: no finger-view count, a 2-byte view header (position, count),
  no extended-data length, minutia quality on a 0..63 scale. A standard record loads with zero
  minutiae. ``to_nbis`` writes that private layout from our standard ``FingerView``.
- With NFIQ 2 switched on, a failing NFIQ 2 (blank, flat, tiny images) raises ``Nfiq2ComputeFailed``
  from ``extract_minutiae`` itself and the minutiae are lost; with it off, ``quality()`` returns a
  meaningless 0. So we extract with NFIQ 2 and, on failure, again without.
- NFIQ 2 *is* computed on every image (its 69 features differ from image to image), but it grades a
  fingerprint and never says "not a finger": face portraits score 17–46 (on 60 LFW faces; 10% fail),
  above civid's minimum, and MINDTCT finds 20–131 "minutiae" in them. (The five face uploads reported at 32
  with 74–131 minutiae were two portraits, obama_2012 (74) and collins (131), each scoring 32, in
  several colour modes that all became the same grey.) So
  ``matcher.finger_gate`` decides whether an image is a fingerprint before this bridge is called.
- nbis-py's own ``check_fingerprint`` (NIST SIVV) gives no measurement: a refused image comes back as
  zero minutiae and quality 0, and it refused 1 of 6 real FVC2000 DB1 prints tried. We keep it off.
- Images with a side under 12 px crash the process (segfault / stack smashing in the C code);
  sides of 8..11 px were observed to do so. We refuse anything under ``MIN_IMAGE_SIDE``.
- NBIS keeps C globals (BOZORTH3's work arrays), so every call goes through one lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

import cv2
import nbis
import numpy as np
from numpy.typing import NDArray

from matcher.errors import InvalidImage, InvalidTemplate
from matcher.iso19794 import (
    ANGLE_UNITS,
    MAX_COORDINATE,
    MAX_MINUTIAE_PER_VIEW,
    FingerView,
    Minutia,
    MinutiaType,
)

MIN_IMAGE_SIDE = 32  # below ~12 px NBIS crashes the process; below 32 px there is no usable finger
BOZORTH3_MAX_MINUTIAE = 150  # BOZORTH3 keeps at most 150 minutiae per print
NBIS_QUALITY_SCALE = 63  # nbis's template quality byte: reliability * 63
_DEGREES_PER_UNIT = 360.0 / ANGLE_UNITS

_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Extraction:
    """MINDTCT minutiae of one image, in ISO terms, with its NFIQ 2 score or the reason there is none."""

    minutiae: tuple[Minutia, ...]
    width: int
    height: int
    nfiq2: int | None  # 0..100, higher is better; None when NFIQ 2 could not be computed
    nfiq2_error: str | None  # why nfiq2 is None, readable by an officer


def extract(image: NDArray[np.uint8], ppi: int = 500) -> Extraction:
    """Extract minutiae (MINDTCT) and NFIQ 2 from a 2-D uint8 grey image scanned at ``ppi``.

    An image at another resolution is resampled to 500 ppi first; coordinates, width and height are
    then those of the 500-ppi image (so that BOZORTH3 distances mean the same for every source).
    """
    image = at_500_ppi(image, ppi)
    height, width = image.shape
    png = _png(image)
    nfiq2: int | None = None
    nfiq2_error: str | None = None
    with _lock:
        try:
            found = _extractor(True).extract_minutiae(png)
            nfiq2 = int(found.quality().score)
        except nbis.NbisError.Nfiq2ComputeFailed as failure:
            nfiq2_error = (
                f"NFIQ 2 could not be computed (NFIQ 2 error code {failure[0]}): the image is blank, "
                "too small or shows no usable friction ridges"
            )
            found = _extractor(False).extract_minutiae(png)
        except nbis.NbisError as failure:
            raise InvalidImage(f"MINDTCT could not process the fingerprint image: {failure!r}") from failure
        raw = [(m.x(), m.y(), m.angle(), m.kind(), m.reliability()) for m in found.get()]
    minutiae = tuple(
        _from_nbis(x, y, angle, kind, reliability, width, height) for x, y, angle, kind, reliability in raw
    )
    return Extraction(
        minutiae=best(minutiae, MAX_MINUTIAE_PER_VIEW),
        width=width,
        height=height,
        nfiq2=nfiq2,
        nfiq2_error=nfiq2_error,
    )


def mindtct(image: NDArray[np.uint8]) -> tuple[Minutia, ...]:
    """MINDTCT's minutiae of a 500 ppi grey image, without NFIQ 2 (for an image civid has enhanced: its
    quality is not the capture's), every one kept, in MINDTCT's order."""
    height, width = _check_image(image)
    png = _png(image)
    with _lock:
        try:
            found = _extractor(False).extract_minutiae(png)
        except nbis.NbisError as failure:
            raise InvalidImage(f"MINDTCT could not process the fingerprint image: {failure!r}") from failure
        raw = [(m.x(), m.y(), m.angle(), m.kind(), m.reliability()) for m in found.get()]
    return tuple(_from_nbis(x, y, angle, kind, reliability, width, height) for x, y, angle, kind, reliability in raw)


def at_500_ppi(image: NDArray[np.uint8], ppi: int) -> NDArray[np.uint8]:
    """The checked image resampled to 500 ppi (itself when it is at 500 ppi already)."""
    height, width = _check_image(image)
    if ppi == 500:
        return image
    # nbis ignores its ppi setting; MINDTCT and NFIQ 2 are tuned for 500 ppi, so resample.
    scale = 500.0 / ppi
    # cv2.resize keeps the dtype (its stub returns any numeric array).
    resampled = cast(
        NDArray[np.uint8],
        cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA),
    )
    _check_image(resampled)
    return resampled


def _png(image: NDArray[np.uint8]) -> bytes:
    ok, png = cv2.imencode(".png", image)
    if not ok:
        raise InvalidImage("the fingerprint image could not be encoded for extraction")
    return bytes(png.tobytes())


def to_nbis(view: FingerView, width: int, height: int) -> nbis.Minutiae:
    """Load a standard finger view into nbis (its private template layout), keeping the best 150 minutiae."""
    if not view.minutiae:
        # nbis rejects a template without minutiae ("ISO template too short").
        raise InvalidTemplate("finger view has no minutiae to compare")
    with _lock:
        try:
            return _extractor(False).load_iso_19794_2_2005(_nbis_template(view, width, height))
        except nbis.NbisError as failure:
            raise InvalidTemplate(f"nbis refused the minutiae: {failure!r}") from failure


def bozorth3(
    probe: FingerView,
    reference: FingerView,
    probe_size: tuple[int, int],
    reference_size: tuple[int, int],
) -> int:
    """BOZORTH3 similarity of two views (sizes are (width, height)); about 40+ is a likely match, 0 for no minutiae."""
    if not probe.minutiae or not reference.minutiae:
        return 0
    probe_nbis = to_nbis(probe, *probe_size)
    reference_nbis = to_nbis(reference, *reference_size)
    with _lock:
        return int(probe_nbis.compare(reference_nbis))


def _nbis_template(view: FingerView, width: int, height: int) -> bytes:
    """nbis-py's non-standard 'ISO' layout: the 24-byte header, then (position, count), then 6-byte minutiae."""
    minutiae = best(view.minutiae, BOZORTH3_MAX_MINUTIAE)
    body = bytearray()
    for m in minutiae:
        # nbis knows ridge endings and bifurcations only; ISO "other" is read as a ridge ending.
        kind = 2 if m.type is MinutiaType.BIFURCATION else 1
        quality = round(m.quality * NBIS_QUALITY_SCALE / 100)
        body += (
            ((kind << 14) | (m.x & MAX_COORDINATE)).to_bytes(2, "big")
            + (m.y & MAX_COORDINATE).to_bytes(2, "big")
            + bytes((m.angle % ANGLE_UNITS, quality))
        )
    header = (
        b"FMR\x00 20\x00"
        + (24 + 2 + len(body)).to_bytes(4, "big")
        + b"\x00\x00"
        + min(max(width, 0), 0xFFFF).to_bytes(2, "big")
        + min(max(height, 0), 0xFFFF).to_bytes(2, "big")
        + b"\x00" * 6  # nbis writes zero resolution and zero views and ignores them on reading
    )
    # The view header byte nbis reads first is 0, so a reader taking the pair as a 16-bit count agrees.
    return header + bytes((0, len(minutiae))) + bytes(body)


def best(minutiae: tuple[Minutia, ...], limit: int) -> tuple[Minutia, ...]:
    """At most ``limit`` minutiae, highest quality first kept; original order preserved among the kept."""
    if len(minutiae) <= limit:
        return minutiae
    ranked = sorted(range(len(minutiae)), key=lambda i: -minutiae[i].quality)[:limit]
    return tuple(minutiae[i] for i in sorted(ranked))


def _from_nbis(
    x: int, y: int, angle: float, kind: nbis.MinutiaKind, reliability: float, width: int, height: int
) -> Minutia:
    return Minutia(
        x=min(max(int(x), 0), width - 1),
        y=min(max(int(y), 0), height - 1),
        angle=round(angle / _DEGREES_PER_UNIT) % ANGLE_UNITS,
        type=MinutiaType.BIFURCATION if kind == nbis.MinutiaKind.BIFURCATION else MinutiaType.RIDGE_ENDING,
        quality=min(max(round(reliability * 100), 0), 100),
    )


def _check_image(image: NDArray[np.uint8]) -> tuple[int, int]:
    if not isinstance(image, np.ndarray) or image.ndim != 2 or image.dtype != np.uint8:
        raise InvalidImage("a fingerprint image must be a 2-D uint8 grey array")
    height, width = image.shape
    if min(height, width) < MIN_IMAGE_SIDE:
        raise InvalidImage(f"fingerprint image {width}x{height} is smaller than {MIN_IMAGE_SIDE} px on a side")
    if max(height, width) > MAX_COORDINATE:
        raise InvalidImage(f"fingerprint image {width}x{height} exceeds ISO 19794-2's {MAX_COORDINATE} px")
    return height, width


@lru_cache(maxsize=2)
def _extractor(compute_nfiq2: bool) -> nbis.NbisExtractor:
    # min_quality 0: keep every minutia and let the ISO quality say how reliable each is.
    settings = nbis.NbisExtractorSettings(
        min_quality=0.0, get_center=False, check_fingerprint=False, compute_nfiq2=compute_nfiq2, ppi=None
    )
    return nbis.new_nbis_extractor(settings)
