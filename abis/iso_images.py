"""ISO/IEC 19794-5:2011 face image and 19794-4:2011 finger image records, as MOSIP's devices write them.

Both are big-endian binary records: a general header ("FAC\\0" or "FIR\\0", version "030\\0" or "020\\0", the
record's length, the number of representations), then per representation a header and the image itself, in a
compressed format the header names (JPEG, JPEG 2000, PNG; WSQ for fingers, which civid does not decode). The
layout follows the standards' tables as MOSIP's biometrics-util reads them (face: table 2, 17-byte facial
information and 11-byte image information; finger: table 4, the image behind a 4-byte length). Images are decoded
with OpenCV after the header's dimensions are checked against ``max_pixels``, and only the first representation of
a record is used (MOSIP sends one per BIR). The encoders write the same layout (tests, and anyone building a CBEFF).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from abis.messages import AbisFailure, FailureReason

FACE_FORMAT, FACE_VERSION = b"FAC\x00", b"030\x00"
FINGER_FORMAT, FINGER_VERSION = b"FIR\x00", b"020\x00"
# 19794-5:2011 image data type -> name; 19794-4:2011 compression algorithm -> name (None: not decoded here).
FACE_IMAGE_TYPES = {0: "JPEG", 1: "JPEG 2000 lossy", 2: "JPEG 2000 lossless", 3: "PNG"}
FINGER_COMPRESSIONS: dict[int, str | None] = {
    0: "uncompressed",
    1: None,  # uncompressed, bit-packed
    2: None,  # WSQ
    3: "JPEG",
    4: "JPEG 2000 lossy",
    5: "JPEG 2000 lossless",
    6: "PNG",
}
_FACE_GENERAL = struct.Struct(">4s4sIHBH")  # 17 bytes
_FINGER_GENERAL = struct.Struct(">4s4sIHBB")  # 16 bytes
_CAPTURE = struct.Struct(">IHBBBBBHBHH")  # representation length, capture date-time (9), device ids (5): 18 bytes
_FACIAL_INFORMATION = struct.Struct(">HBBBB3sH3s3s")  # 17 bytes, starting with the landmark point count
_FACE_IMAGE_INFORMATION = struct.Struct(">BBHHBHBB")  # 11 bytes
_FINGER_IMAGE_HEADER = struct.Struct(">BBBHHHHBBBHH")  # position ... vertical line length: 18 bytes
SCALE_PPI, SCALE_PPCM = 1, 2


@dataclass(frozen=True)
class FingerImage:
    """A finger image from a 19794-4 record: 8-bit grey (height, width), its position and resolution in ppi."""

    gray: NDArray[np.uint8]
    position: int
    ppi: int


def decode_face(data: bytes, max_pixels: int) -> NDArray[np.uint8]:
    """The first face image of a 19794-5:2011 record as RGB (height, width, 3); AbisFailure 16 if unreadable."""
    reader = _Reader(data, "face record")
    format_id, version, length, count, _, _ = reader.unpack(_FACE_GENERAL)
    _check_header(format_id, version, length, count, FACE_FORMAT, FACE_VERSION, len(data), "face")
    start = reader.offset
    representation_length = reader.unpack(_CAPTURE)[0]
    quality_blocks = reader.unpack(struct.Struct(">B"))[0]
    reader.skip(5 * quality_blocks)
    landmarks = reader.unpack(_FACIAL_INFORMATION)[0]
    reader.skip(8 * landmarks)
    face_type, data_type, width, height, *_ = reader.unpack(_FACE_IMAGE_INFORMATION)
    if face_type >= 0x80:  # 3D face image types carry a 3D block civid does not read
        raise AbisFailure(FailureReason.INVALID_CBEFF, f"face image type {face_type:#x} (3D) is not supported")
    if data_type not in FACE_IMAGE_TYPES:
        raise AbisFailure(FailureReason.INVALID_CBEFF, f"face image data type {data_type} is not JPEG, JPEG 2000, PNG")
    image = reader.take(start + representation_length - reader.offset)
    _check_pixels(width, height, max_pixels, "face")
    decoded = _decode(image, cv2.IMREAD_COLOR, f"face ({FACE_IMAGE_TYPES[data_type]})", max_pixels)
    return np.ascontiguousarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB))


def decode_finger(data: bytes, max_pixels: int) -> FingerImage:
    """The first finger image of a 19794-4:2011 record as 8-bit grey; AbisFailure 16 if unreadable."""
    reader = _Reader(data, "finger record")
    format_id, version, length, count, certification, _ = reader.unpack(_FINGER_GENERAL)
    _check_header(format_id, version, length, count, FINGER_FORMAT, FINGER_VERSION, len(data), "finger")
    reader.unpack(_CAPTURE)
    quality_blocks = reader.unpack(struct.Struct(">B"))[0]
    reader.skip(5 * quality_blocks)
    if certification == 1:
        certification_blocks = reader.unpack(struct.Struct(">B"))[0]
        reader.skip(3 * certification_blocks)
    fields = reader.unpack(_FINGER_IMAGE_HEADER)
    position, scale, horizontal_rate = fields[0], fields[2], fields[5]
    bit_depth, compression, width, height = fields[7], fields[8], fields[10], fields[11]
    image = reader.take(reader.unpack(struct.Struct(">I"))[0])
    name = FINGER_COMPRESSIONS.get(compression)
    if name is None:
        raise AbisFailure(
            FailureReason.INVALID_CBEFF,
            f"finger image compression {compression} is not decoded by civid (JPEG, JPEG 2000, PNG or raw are)",
        )
    _check_pixels(width, height, max_pixels, "finger")
    if compression == 0:
        if bit_depth != 8 or len(image) != width * height:
            raise AbisFailure(FailureReason.INVALID_CBEFF, "an uncompressed finger image must be 8-bit, width×height")
        gray = np.frombuffer(image, dtype=np.uint8).reshape(height, width).copy()
    else:
        gray = _decode(image, cv2.IMREAD_GRAYSCALE, f"finger ({name})", max_pixels)
    ppi = round(horizontal_rate * 2.54) if scale == SCALE_PPCM else horizontal_rate
    return FingerImage(np.ascontiguousarray(gray), position, ppi)


def encode_face(image: bytes, width: int, height: int, data_type: int = 0) -> bytes:
    """A one-representation 19794-5:2011 record around an encoded image (``data_type`` 0 JPEG, 2 JPEG 2000...)."""
    body = (
        _CAPTURE.pack(0, 2026, 1, 1, 0, 0, 0, 0, 0, 0, 0)[4:]
        + b"\x00"  # no quality block
        + _FACIAL_INFORMATION.pack(0, 0, 0, 0, 0, b"\x00\x00\x00", 0, b"\x00\x00\x00", b"\x00\x00\x00")
        + _FACE_IMAGE_INFORMATION.pack(1, data_type, width, height, 0, 0, 0, 0)
        + image
    )
    representation = struct.pack(">I", 4 + len(body)) + body
    return _FACE_GENERAL.pack(FACE_FORMAT, FACE_VERSION, 17 + len(representation), 1, 0, 0) + representation


def encode_finger(image: bytes, width: int, height: int, position: int, compression: int = 6, ppi: int = 500) -> bytes:
    """A one-representation 19794-4:2011 record around an encoded finger image (``compression`` 6 PNG, 5 JPEG 2000)."""
    header = (
        _CAPTURE.pack(0, 2026, 1, 1, 0, 0, 0, 0, 0, 0, 0)[4:]
        + b"\x00"  # no quality block
        + _FINGER_IMAGE_HEADER.pack(position, 1, SCALE_PPI, ppi, ppi, ppi, ppi, 8, compression, 0, width, height)
        + struct.pack(">I", len(image))
    )
    representation = struct.pack(">I", 4 + len(header) + len(image)) + header + image
    return _FINGER_GENERAL.pack(FINGER_FORMAT, FINGER_VERSION, 16 + len(representation), 1, 0, 1) + representation


def _check_header(
    format_id: bytes, version: bytes, length: int, count: int, expected: bytes, versions: bytes, size: int, what: str
) -> None:
    if format_id != expected:
        raise AbisFailure(FailureReason.INVALID_CBEFF, f"the {what} BDB does not start with {expected!r}")
    if version != versions:
        raise AbisFailure(FailureReason.INVALID_CBEFF, f"{what} record version {version!r} is not {versions!r}")
    if length != size or count < 1:
        raise AbisFailure(
            FailureReason.INVALID_CBEFF,
            f"the {what} record says {length} bytes, {count} images; it has {size} bytes",
        )


def _check_pixels(width: int, height: int, max_pixels: int, what: str) -> None:
    if width * height > max_pixels:
        raise AbisFailure(FailureReason.INVALID_CBEFF, f"the {what} image is {width}x{height}: over {max_pixels} px")


def _decode(image: bytes, flags: int, what: str, max_pixels: int) -> NDArray[np.uint8]:
    decoded = cv2.imdecode(np.frombuffer(image, dtype=np.uint8), flags) if image else None
    if decoded is None or decoded.dtype != np.uint8:
        raise AbisFailure(FailureReason.INVALID_CBEFF, f"the {what} image cannot be decoded")
    # The header's size was checked; the codestream's own is what was allocated, and it must agree.
    if decoded.shape[0] * decoded.shape[1] > max_pixels:
        raise AbisFailure(FailureReason.INVALID_CBEFF, f"the {what} image is over {max_pixels} pixels")
    return np.asarray(decoded, dtype=np.uint8)


class _Reader:
    """Reads a record front to back, refusing (reason 16) to run past its end."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.offset, self.what = data, 0, what

    def take(self, size: int) -> bytes:
        if size < 0 or self.offset + size > len(self.data):
            raise AbisFailure(FailureReason.INVALID_CBEFF, f"the {self.what} is truncated at byte {self.offset}")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def skip(self, size: int) -> None:
        self.take(size)

    def unpack(self, layout: struct.Struct) -> tuple[Any, ...]:
        """The fields of ``layout`` (ints, and bytes for its ``s`` fields)."""
        return layout.unpack(self.take(layout.size))
