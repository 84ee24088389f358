"""The nbis-py bridge: MINDTCT extraction, NFIQ 2, and BOZORTH3 on standard ISO 19794-2 minutiae."""

from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor

import cv2
import nbis  # only to pin nbis-py's own behaviour, which is why the bridge exists
import numpy as np
import pytest

from matcher import nbis_bridge
from matcher.errors import InvalidImage, InvalidTemplate
from matcher.iso19794 import (
    FingerprintRecord,
    FingerView,
    Minutia,
    MinutiaType,
    decode,
    encode,
)
from matcher.nbis_bridge import Extraction, bozorth3, extract, to_nbis
from tests.synthetic_fingerprints import impressions


@pytest.fixture(scope="module")
def fingers() -> dict[int, list[np.ndarray]]:
    """Two impressions each of three synthetic fingers."""
    return {seed: impressions(seed, 2) for seed in (11, 12, 13)}


@pytest.fixture(scope="module")
def extractions(fingers) -> dict[tuple[int, int], Extraction]:
    return {(seed, i): extract(image) for seed, images in fingers.items() for i, image in enumerate(images)}


def view(extraction: Extraction) -> FingerView:
    return FingerView(position=2, minutiae=extraction.minutiae)


def size(extraction: Extraction) -> tuple[int, int]:
    return extraction.width, extraction.height


def raw_nbis(image: np.ndarray) -> nbis.Minutiae:
    settings = nbis.NbisExtractorSettings(
        min_quality=0.0, get_center=False, check_fingerprint=False, compute_nfiq2=False, ppi=None
    )
    return nbis.new_nbis_extractor(settings).extract_minutiae(cv2.imencode(".png", image)[1].tobytes())


def test_ridge_image_yields_minutiae_inside_the_image_and_an_nfiq2_or_a_reason(extractions):
    for extraction in extractions.values():
        assert len(extraction.minutiae) > 10
        assert (extraction.width, extraction.height) == (300, 300)
        assert all(0 <= m.x < 300 and 0 <= m.y < 300 and 0 <= m.angle < 256 for m in extraction.minutiae)
        assert all(0 <= m.quality <= 100 for m in extraction.minutiae)
        assert {m.type for m in extraction.minutiae} <= {MinutiaType.RIDGE_ENDING, MinutiaType.BIFURCATION}
        if extraction.nfiq2 is None:
            assert extraction.nfiq2_error
        else:
            assert isinstance(extraction.nfiq2, int) and 0 <= extraction.nfiq2 <= 100
            assert extraction.nfiq2_error is None


def test_extraction_fits_in_an_iso_record(extractions):
    extraction = extractions[(11, 0)]
    record = FingerprintRecord(width=extraction.width, height=extraction.height, views=(view(extraction),))
    assert decode(encode(record)) == record


@pytest.mark.parametrize("grey", [0, 200])
def test_blank_image_gives_no_minutiae_and_a_readable_nfiq2_reason(grey):
    extraction = extract(np.full((300, 300), grey, dtype=np.uint8))
    assert len(extraction.minutiae) <= 3
    assert extraction.nfiq2 is None
    assert "NFIQ 2 could not be computed" in extraction.nfiq2_error


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((10, 300), dtype=np.uint8),  # heights of 8..11 px crash NBIS's C code outright
        np.zeros((11, 11), dtype=np.uint8),
        np.zeros((300, 300), dtype=np.float32),
        np.zeros((300, 300, 3), dtype=np.uint8),
    ],
)
def test_images_nbis_cannot_take_are_refused_before_reaching_it(image):
    with pytest.raises(InvalidImage):
        extract(image)


def test_same_finger_scores_higher_than_different_fingers(extractions):
    def score(a, b):
        return bozorth3(view(extractions[a]), view(extractions[b]), size(extractions[a]), size(extractions[b]))

    genuine = [score((seed, 0), (seed, 1)) for seed in (11, 12, 13)]
    impostor = [score((11, 0), (12, 0)), score((12, 1), (13, 1)), score((13, 0), (11, 1))]
    assert min(genuine) > max(impostor)
    assert min(genuine) > 20


def test_extract_to_iso_and_back_scores_like_the_original(fingers):
    image = fingers[11][0]
    original = raw_nbis(image)
    extraction = extract(image)
    record = decode(encode(FingerprintRecord(width=300, height=300, views=(view(extraction),))))
    restored = to_nbis(record.views[0], record.width, record.height)
    self_score = original.compare(original)
    assert self_score > 50
    assert original.compare(restored) >= 0.95 * self_score
    assert [(m.x(), m.y(), m.angle(), m.kind()) for m in restored.get()] == [
        (m.x(), m.y(), m.angle(), m.kind()) for m in original.get()
    ]


def test_angles_are_counter_clockwise_as_in_iso(fingers):
    # Rotating the image 90° counter-clockwise adds 90° (64 ISO units) to every minutia angle.
    image = fingers[12][0]
    upright = extract(image).minutiae
    turned = extract(cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)).minutiae
    width = image.shape[1]
    shifts = []
    for m in turned:
        # a pixel (x, y) of the original lands on (y, width - 1 - x)
        near = [u for u in upright if abs(u.y - m.x) <= 2 and abs(width - 1 - u.x - m.y) <= 2]
        if near:
            shifts.append((m.angle - near[0].angle) % 256)
    assert len(shifts) >= 5
    assert np.median(shifts) == pytest.approx(64, abs=8)


def standard_view(position: int, minutiae: list[tuple[int, int, int, int, int]], extended: bytes) -> bytes:
    """A finger view written byte by byte from ISO/IEC 19794-2:2005, as another vendor would."""
    data = struct.pack(">BBBB", position, 0x00, 80, len(minutiae))
    for kind, x, y, angle, quality in minutiae:
        data += struct.pack(">HHBB", (kind << 14) | x, y, angle, quality)
    return data + struct.pack(">H", len(extended)) + extended


def test_third_party_record_converted_by_to_nbis_matches_another_impression(fingers):
    probe, other_impression = fingers[13]
    found = raw_nbis(probe).get()
    minutiae = [
        (1 if m.kind() == nbis.MinutiaKind.RIDGE_ENDING else 2, m.x(), m.y(), round(m.angle() / 1.40625) % 256, 60)
        for m in found
    ]
    extended = struct.pack(">HH", 0x0002, 4) + b"\x01\x02\x03\x04"  # a core/delta area, opaque to us
    views = standard_view(1, [(1, 10, 10, 0, 50)], b"") + standard_view(2, minutiae, extended)
    data = b"FMR\x00 20\x00" + struct.pack(">IHHHHHBB", 24 + len(views), 0, 300, 300, 197, 197, 2, 0) + views

    record = decode(data)
    imported = record.views[1]
    assert imported.extended_data == extended
    assert [(m.x, m.y) for m in imported.minutiae] == [(m.x(), m.y()) for m in found]

    reference = raw_nbis(other_impression)
    assert to_nbis(imported, 300, 300).compare(reference) > 0
    assert bozorth3(imported, view(extract(other_impression)), (300, 300), (300, 300)) > 20

    # Why the bridge exists: nbis-py's own reader finds no minutiae in a standard record.
    own_reading = nbis_bridge._extractor(False).load_iso_19794_2_2005(data)
    assert len(own_reading.get()) == 0
    assert own_reading.compare(reference) == 0


def test_to_nbis_keeps_the_150_best_minutiae_for_bozorth3():
    minutiae = tuple(
        Minutia(x=5 + i % 40 * 7, y=5 + i // 40 * 50, angle=i % 256, type=MinutiaType.BIFURCATION, quality=i % 100)
        for i in range(200)
    )
    loaded = to_nbis(FingerView(position=0, minutiae=minutiae), 300, 300).get()
    assert len(loaded) == 150
    kept_qualities = sorted(m.quality for m in minutiae)[-150:]
    assert min(round(m.reliability() * 100) for m in loaded) >= kept_qualities[0] - 1


def test_views_without_minutiae_score_zero_and_cannot_be_loaded(extractions):
    empty = FingerView(position=0, minutiae=())
    assert bozorth3(empty, view(extractions[11, 0]), (300, 300), (300, 300)) == 0
    with pytest.raises(InvalidTemplate, match="no minutiae"):
        to_nbis(empty, 300, 300)


def test_other_resolutions_are_resampled_to_500_ppi(fingers):
    extraction = extract(cv2.resize(fingers[11][0], (600, 600)), ppi=1000)
    assert (extraction.width, extraction.height) == (300, 300)
    assert len(extraction.minutiae) > 10


def test_concurrent_extractions_agree_with_serial_ones(fingers):
    images = [fingers[11][0], fingers[12][0]] * 2
    serial = [extract(image) for image in images]
    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(extract, images)) == serial
