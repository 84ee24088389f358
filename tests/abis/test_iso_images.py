"""ISO/IEC 19794-5:2011 and 19794-4:2011 records: read back what the encoders write, refuse what is not a record."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from abis import iso_images
from abis.messages import AbisFailure, FailureReason
from tests.conftest import load_rgb
from tests.synthetic_fingerprints import impressions

MAX_PIXELS = 40_000_000


def test_a_face_record_gives_back_its_jpeg2000_image() -> None:
    rgb = load_rgb("biden_2010_blue_room.jpg")
    ok, jp2 = cv2.imencode(".jp2", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    record = iso_images.encode_face(jp2.tobytes(), rgb.shape[1], rgb.shape[0], data_type=2)
    assert record[:8] == b"FAC\x00030\x00"
    decoded = iso_images.decode_face(record, MAX_PIXELS)
    assert decoded.shape == rgb.shape
    assert np.abs(decoded.astype(int) - rgb.astype(int)).mean() < 3  # JPEG 2000 at OpenCV's default rate


def test_a_finger_record_gives_back_its_image_position_and_resolution() -> None:
    gray = impressions(301, 1)[0]
    ok, png = cv2.imencode(".png", gray)
    record = iso_images.encode_finger(png.tobytes(), gray.shape[1], gray.shape[0], position=7, ppi=1000)
    finger = iso_images.decode_finger(record, MAX_PIXELS)
    assert (finger.position, finger.ppi) == (7, 1000)
    assert np.array_equal(finger.gray, gray)  # PNG is lossless


@pytest.mark.parametrize(
    "mangle",
    [
        lambda r: r[:-10],  # truncated: the record says more bytes than it has
        lambda r: b"FIR\x00" + r[4:],  # a finger record's header on a face
        lambda r: r[:4] + b"010\x00" + r[8:],  # the 2005 version
        lambda r: r[:60] + b"\x00" * (len(r) - 60),  # the image zeroed: no codec reads it
    ],
)
def test_a_damaged_face_record_is_reason_16(mangle) -> None:
    rgb = load_rgb("biden_2010_blue_room.jpg")
    ok, jpeg = cv2.imencode(".jpg", rgb)
    record = iso_images.encode_face(jpeg.tobytes(), rgb.shape[1], rgb.shape[0])
    with pytest.raises(AbisFailure) as refused:
        iso_images.decode_face(mangle(record), MAX_PIXELS)
    assert refused.value.reason == FailureReason.INVALID_CBEFF


def test_a_wsq_finger_or_an_oversized_header_is_reason_16() -> None:
    gray = impressions(302, 1)[0]
    ok, png = cv2.imencode(".png", gray)
    wsq = iso_images.encode_finger(png.tobytes(), gray.shape[1], gray.shape[0], position=2, compression=2)
    with pytest.raises(AbisFailure, match="compression 2"):
        iso_images.decode_finger(wsq, MAX_PIXELS)
    bomb = iso_images.encode_finger(png.tobytes(), 60_000, 60_000, position=2)
    with pytest.raises(AbisFailure, match="pixels|px"):
        iso_images.decode_finger(bomb, MAX_PIXELS)
