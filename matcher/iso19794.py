"""ISO/IEC 19794-2:2005 finger minutiae records ("FMR\\0", version " 20\\0"): our own codec.

Written from the standard because nbis-py's reader and writer are not conformant (its writer emits
no finger-view count, no resolution and a 2-byte view header without the extended-data length, and
its reader expects the same, so a record from another vendor loads with no minutiae). This module
only parses and writes bytes; ``matcher.nbis_bridge`` converts to and from NIST's tools.

Layout (all integers big-endian):

    record header, 24 bytes
      0  format identifier "FMR\\0"            4
      4  version " 20\\0"                       4
      8  record length, header included         4
     12  equipment certification (4 bits) | equipment id (12 bits)   2
     14  image size X, pixels                   2
     16  image size Y, pixels                   2
     18  X resolution, pixels per cm            2   (500 ppi = 197)
     20  Y resolution, pixels per cm            2
     22  number of finger views                 1
     23  reserved (0)                           1
    per finger view
      finger position (0..10)                   1
      view number (4 bits) | impression type (4 bits)   1
      finger quality (0..100)                   1
      number of minutiae                        1
      per minutia, 6 bytes
        type (2 bits: 01 ridge ending, 10 bifurcation, 00 other) | x (14 bits)   2
        reserved (2 bits) | y (14 bits)                                           2
        angle, units of 360/256 degrees, counter-clockwise from the +x axis       1
        quality (0..100, 0 = not reported)                                        1
      extended data block length (0 = none)     2
      extended data block                       that many bytes (kept opaque)
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from matcher.errors import InvalidTemplate

FORMAT_IDENTIFIER = b"FMR\x00"
VERSION_2005 = b" 20\x00"
RECORD_HEADER_SIZE = 24
VIEW_HEADER_SIZE = 4
MINUTIA_SIZE = 6
MAX_MINUTIAE_PER_VIEW = 255  # the count is one byte
MAX_COORDINATE = 0x3FFF  # 14 bits
ANGLE_UNITS = 256  # one unit = 1.40625 degrees
PIXELS_PER_CM_AT_500_PPI = 197

# Finger position codes shared by ISO/IEC 19794-2 and ANSI/NIST-ITL (Table "finger position").
FINGER_POSITIONS: dict[int, str] = {
    0: "unknown",
    1: "right thumb",
    2: "right index",
    3: "right middle",
    4: "right ring",
    5: "right little",
    6: "left thumb",
    7: "left index",
    8: "left middle",
    9: "left ring",
    10: "left little",
}


class MinutiaType(IntEnum):
    """The 2-bit minutia type of ISO/IEC 19794-2:2005 (binary 11 is reserved)."""

    OTHER = 0
    RIDGE_ENDING = 1
    BIFURCATION = 2


@dataclass(frozen=True, slots=True)
class Minutia:
    """One minutia in image pixels (origin top-left, y down).

    ``angle`` is in ISO units 0..255 (1 unit = 1.40625 degrees), counter-clockwise from +x as the
    image is viewed, so the direction in pixel coordinates is (cos θ, -sin θ).
    """

    x: int
    y: int
    angle: int
    type: MinutiaType
    quality: int = 0

    @property
    def radians(self) -> float:
        """The angle in radians, 0 <= θ < 2π, same orientation as ``angle``."""
        return self.angle * (2.0 * math.pi / ANGLE_UNITS)


@dataclass(frozen=True, slots=True)
class FingerView:
    """One finger view of a record: its minutiae and what the standard says about the capture."""

    position: int
    minutiae: tuple[Minutia, ...]
    view_number: int = 0
    impression_type: int = 0
    quality: int = 0
    extended_data: bytes = b""  # the extended data block, opaque (ridge counts, cores/deltas, vendor data)


@dataclass(frozen=True, slots=True)
class FingerprintRecord:
    """A whole ISO/IEC 19794-2:2005 record: image geometry, capture equipment, finger views."""

    width: int
    height: int
    views: tuple[FingerView, ...]
    x_resolution: int = PIXELS_PER_CM_AT_500_PPI
    y_resolution: int = PIXELS_PER_CM_AT_500_PPI
    equipment_certification: int = 0
    equipment_id: int = 0


def encode(record: FingerprintRecord) -> bytes:
    """Serialise a record to ISO/IEC 19794-2:2005 bytes, validating every field first."""
    _validate(record)
    body = bytearray()
    for view in record.views:
        body += struct.pack(
            ">BBBB",
            view.position,
            (view.view_number << 4) | view.impression_type,
            view.quality,
            len(view.minutiae),
        )
        for minutia in view.minutiae:
            body += struct.pack(
                ">HHBB",
                (int(minutia.type) << 14) | minutia.x,
                minutia.y,
                minutia.angle,
                minutia.quality,
            )
        body += struct.pack(">H", len(view.extended_data)) + view.extended_data
    header = struct.pack(
        ">4s4sIHHHHHBB",
        FORMAT_IDENTIFIER,
        VERSION_2005,
        RECORD_HEADER_SIZE + len(body),
        (record.equipment_certification << 12) | record.equipment_id,
        record.width,
        record.height,
        record.x_resolution,
        record.y_resolution,
        len(record.views),
        0,
    )
    return header + bytes(body)


def decode(data: bytes) -> FingerprintRecord:
    """Parse ISO/IEC 19794-2:2005 bytes; raise InvalidTemplate naming the bad field and offset."""
    reader = _Reader(bytes(data))
    magic = reader.take(4, "format identifier")
    if magic != FORMAT_IDENTIFIER:
        raise InvalidTemplate(f"format identifier at offset 0 is {magic!r}, expected b'FMR\\x00'")
    version = reader.take(4, "version")
    if version != VERSION_2005:
        raise InvalidTemplate(f"version at offset 4 is {version!r}, expected b' 20\\x00' (2005 edition)")
    record_length = reader.unpack(">I", "record length")
    if record_length != len(data):
        raise InvalidTemplate(f"record length at offset 8 says {record_length} bytes but {len(data)} bytes were given")
    equipment = reader.unpack(">H", "capture equipment")
    width = reader.unpack(">H", "image size X")
    height = reader.unpack(">H", "image size Y")
    x_resolution = reader.unpack(">H", "X resolution")
    y_resolution = reader.unpack(">H", "Y resolution")
    view_count = reader.unpack(">B", "number of finger views")
    reader.take(1, "reserved byte")  # reserved; tolerated whatever its value
    reader.require(view_count * (VIEW_HEADER_SIZE + 2), f"{view_count} finger views")
    views = tuple(_decode_view(reader, index, width, height) for index in range(view_count))
    if reader.offset != len(data):
        raise InvalidTemplate(
            f"{len(data) - reader.offset} unexpected trailing bytes at offset {reader.offset} "
            f"after {view_count} finger view(s)"
        )
    return FingerprintRecord(
        width=width,
        height=height,
        views=views,
        x_resolution=x_resolution,
        y_resolution=y_resolution,
        equipment_certification=equipment >> 12,
        equipment_id=equipment & 0x0FFF,
    )


def minutiae_array(view: FingerView) -> NDArray[np.float32]:
    """The view's minutiae as an (N, 3) float32 array of x, y, θ in radians (for the MCC matcher)."""
    if not view.minutiae:
        return np.zeros((0, 3), dtype=np.float32)
    return np.array([(m.x, m.y, m.radians) for m in view.minutiae], dtype=np.float32)


class _Reader:
    """Bounds-checked cursor over the record: every overrun becomes InvalidTemplate."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def require(self, size: int, field: str) -> None:
        """Fail early, naming the count, when what a count announces cannot fit in what is left."""
        if self.offset + size > len(self.data):
            raise InvalidTemplate(
                f"record truncated: {field} need {size} bytes at offset {self.offset}, "
                f"only {len(self.data) - self.offset} left"
            )

    def take(self, size: int, field: str) -> bytes:
        end = self.offset + size
        if end > len(self.data):
            raise InvalidTemplate(
                f"record truncated: {field} needs {size} bytes at offset {self.offset}, "
                f"only {len(self.data) - self.offset} left"
            )
        chunk = self.data[self.offset : end]
        self.offset = end
        return chunk

    def unpack(self, fmt: str, field: str) -> int:
        # Every format read here is a single integer code (">B", ">H", ...).
        value: int = struct.unpack(fmt, self.take(struct.calcsize(fmt), field))[0]
        return value


def _decode_view(reader: _Reader, index: int, width: int, height: int) -> FingerView:
    start = reader.offset
    position = reader.unpack(">B", f"finger view {index} position")
    if position not in FINGER_POSITIONS:
        raise InvalidTemplate(f"finger view {index} at offset {start}: finger position {position} > 10")
    view_and_impression = reader.unpack(">B", f"finger view {index} view number/impression type")
    quality = reader.unpack(">B", f"finger view {index} quality")
    if quality > 100:
        raise InvalidTemplate(f"finger view {index} at offset {start + 2}: finger quality {quality} > 100")
    count = reader.unpack(">B", f"finger view {index} number of minutiae")
    reader.require(count * MINUTIA_SIZE + 2, f"finger view {index}: {count} minutiae and the extended data length")
    minutiae = tuple(_decode_minutia(reader, index, m, width, height) for m in range(count))
    extended_length = reader.unpack(">H", f"finger view {index} extended data block length")
    extended_data = reader.take(extended_length, f"finger view {index} extended data block")
    return FingerView(
        position=position,
        minutiae=minutiae,
        view_number=view_and_impression >> 4,
        impression_type=view_and_impression & 0x0F,
        quality=quality,
        extended_data=extended_data,
    )


def _decode_minutia(reader: _Reader, view: int, index: int, width: int, height: int) -> Minutia:
    offset = reader.offset
    type_and_x, reserved_and_y, angle, quality = struct.unpack(
        ">HHBB", reader.take(MINUTIA_SIZE, f"finger view {view} minutia {index}")
    )
    where = f"finger view {view} minutia {index} at offset {offset}"
    kind = type_and_x >> 14
    if kind not in MinutiaType._value2member_map_:
        raise InvalidTemplate(f"{where}: minutia type bits 0b11 are reserved")
    x, y = type_and_x & MAX_COORDINATE, reserved_and_y & MAX_COORDINATE
    if x >= width or y >= height:
        raise InvalidTemplate(f"{where}: ({x}, {y}) lies outside the {width}x{height} image")
    if quality > 100:
        raise InvalidTemplate(f"{where}: minutia quality {quality} > 100")
    return Minutia(x=x, y=y, angle=angle, type=MinutiaType(kind), quality=quality)


def _validate(record: FingerprintRecord) -> None:
    """Reject on encode everything decode would reject, plus values that do not fit their bit fields."""
    _check_range("image size X", record.width, 1, 0xFFFF)
    _check_range("image size Y", record.height, 1, 0xFFFF)
    _check_range("X resolution", record.x_resolution, 0, 0xFFFF)
    _check_range("Y resolution", record.y_resolution, 0, 0xFFFF)
    _check_range("equipment certification", record.equipment_certification, 0, 0x0F)
    _check_range("equipment id", record.equipment_id, 0, 0x0FFF)
    _check_range("number of finger views", len(record.views), 0, 0xFF)
    for v, view in enumerate(record.views):
        _check_range(f"finger view {v} position", view.position, 0, max(FINGER_POSITIONS))
        _check_range(f"finger view {v} view number", view.view_number, 0, 0x0F)
        _check_range(f"finger view {v} impression type", view.impression_type, 0, 0x0F)
        _check_range(f"finger view {v} quality", view.quality, 0, 100)
        _check_range(f"finger view {v} number of minutiae", len(view.minutiae), 0, MAX_MINUTIAE_PER_VIEW)
        _check_range(f"finger view {v} extended data length", len(view.extended_data), 0, 0xFFFF)
        for m, minutia in enumerate(view.minutiae):
            name = f"finger view {v} minutia {m}"
            _check_range(f"{name} x", minutia.x, 0, min(record.width - 1, MAX_COORDINATE))
            _check_range(f"{name} y", minutia.y, 0, min(record.height - 1, MAX_COORDINATE))
            _check_range(f"{name} angle", minutia.angle, 0, ANGLE_UNITS - 1)
            _check_range(f"{name} quality", minutia.quality, 0, 100)
            if not isinstance(minutia.type, MinutiaType):
                raise InvalidTemplate(f"{name} type {minutia.type!r} is not a MinutiaType")


def _check_range(field: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidTemplate(f"{field} is {value!r}, must be an integer in {low}..{high}")
