"""ISO/IEC 19794-2:2005 finger minutiae records: our codec against the standard's byte layout."""

from __future__ import annotations

import dataclasses
import math
import struct

import numpy as np
import pytest

from civid.errors import InvalidFingerprintTemplate, InvalidInput
from matcher.errors import InvalidTemplate
from matcher.iso19794 import (
    FINGER_POSITIONS,
    FingerprintRecord,
    FingerView,
    Minutia,
    MinutiaType,
    decode,
    encode,
    minutiae_array,
)


def sample_record() -> FingerprintRecord:
    first = FingerView(
        position=2,
        minutiae=(
            Minutia(x=10, y=20, angle=0, type=MinutiaType.RIDGE_ENDING, quality=80),
            Minutia(x=299, y=399, angle=255, type=MinutiaType.BIFURCATION, quality=100),
            Minutia(x=0, y=0, angle=64, type=MinutiaType.OTHER, quality=0),
        ),
        view_number=1,
        impression_type=2,
        quality=77,
        extended_data=b"\x00\x01\x00\x02\xab\xcd",
    )
    second = FingerView(
        position=7, minutiae=(Minutia(x=150, y=151, angle=128, type=MinutiaType.BIFURCATION, quality=42),)
    )
    return FingerprintRecord(
        width=300,
        height=400,
        views=(first, second),
        x_resolution=197,
        y_resolution=200,
        equipment_certification=0x8,
        equipment_id=0x123,
    )


def standard_minutia(kind: int, x: int, y: int, angle: int, quality: int) -> bytes:
    """One 6-byte minutia written straight from the standard, independently of ``encode``."""
    return struct.pack(">HHBB", (kind << 14) | x, y, angle, quality)


def third_party_record() -> bytes:
    """A record as another vendor would write it: two views, the first with an extended data block."""
    view1 = (
        struct.pack(">BBBB", 1, (0 << 4) | 0, 60, 3)
        + standard_minutia(1, 100, 120, 32, 90)
        + standard_minutia(2, 140, 90, 200, 70)
        + standard_minutia(0, 60, 250, 5, 0)
    )
    extended = struct.pack(">HH", 0x0001, 3) + b"\x01\x02\x03"  # one area: ridge-count type, 3 bytes
    view1 += struct.pack(">H", len(extended)) + extended
    view2 = struct.pack(">BBBB", 6, (1 << 4) | 1, 100, 1) + standard_minutia(2, 255, 355, 255, 100) + b"\x00\x00"
    body = view1 + view2
    header = (
        b"FMR\x00" + b" 20\x00" + struct.pack(">IHHHHHBB", 24 + len(body), (1 << 12) | 0x0AB, 256, 360, 197, 197, 2, 0)
    )
    return header + body


def test_round_trip_preserves_every_field():
    record = sample_record()
    decoded = decode(encode(record))
    assert decoded == record
    for field in dataclasses.fields(FingerprintRecord):
        assert getattr(decoded, field.name) == getattr(record, field.name)
    assert decoded.views[0].minutiae[2].type is MinutiaType.OTHER


def test_encoded_header_follows_the_standard_layout():
    data = encode(sample_record())
    magic, version, length, equipment, width, height, xres, yres, views, reserved = struct.unpack(
        ">4s4sIHHHHHBB", data[:24]
    )
    assert (magic, version) == (b"FMR\x00", b" 20\x00")
    assert length == len(data) == 24 + (4 + 3 * 6 + 2 + 6) + (4 + 6 + 2)
    assert equipment == (0x8 << 12) | 0x123
    assert (width, height, xres, yres, views, reserved) == (300, 400, 197, 200, 2, 0)
    assert data[24:28] == bytes((2, 0x12, 77, 3))
    assert data[28:34] == struct.pack(">HHBB", (1 << 14) | 10, 20, 0, 80)


def test_third_party_record_built_byte_by_byte_decodes_to_its_minutiae():
    record = decode(third_party_record())
    assert (record.width, record.height, record.x_resolution, record.y_resolution) == (256, 360, 197, 197)
    assert (record.equipment_certification, record.equipment_id) == (1, 0x0AB)
    first, second = record.views
    assert (first.position, first.view_number, first.impression_type, first.quality) == (1, 0, 0, 60)
    assert first.minutiae == (
        Minutia(100, 120, 32, MinutiaType.RIDGE_ENDING, 90),
        Minutia(140, 90, 200, MinutiaType.BIFURCATION, 70),
        Minutia(60, 250, 5, MinutiaType.OTHER, 0),
    )
    assert first.extended_data == b"\x00\x01\x00\x03\x01\x02\x03"
    assert (second.position, second.view_number, second.impression_type, second.quality) == (6, 1, 1, 100)
    assert second.minutiae == (Minutia(255, 355, 255, MinutiaType.BIFURCATION, 100),)
    assert second.extended_data == b""
    assert encode(record) == third_party_record()


@pytest.mark.parametrize("cut", range(24 + 4 + 3 * 6 + 2 + 7 + 4 + 6 + 2))
def test_every_truncation_raises_invalid_template_not_index_or_struct_error(cut):
    data = third_party_record()
    assert cut < len(data)
    with pytest.raises(InvalidTemplate):
        decode(data[:cut])


def test_truncation_with_patched_length_names_the_field_and_offset():
    data = bytearray(third_party_record()[:30])
    data[8:12] = struct.pack(">I", len(data))
    data[22] = 1  # one view, so the failure is the view's own minutia count
    with pytest.raises(
        InvalidTemplate, match=r"finger view 0: 3 minutiae and the extended data length need 20 bytes at offset 28"
    ):
        decode(bytes(data))


def patched(offset: int, value: bytes) -> bytes:
    data = bytearray(third_party_record())
    data[offset : offset + len(value)] = value
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (patched(0, b"FMX\x00"), r"format identifier at offset 0"),
        (patched(4, b" 30\x00"), r"version at offset 4"),
        (patched(8, struct.pack(">I", 999)), r"record length at offset 8 says 999"),
        (third_party_record() + b"\x00", r"record length at offset 8"),
        (patched(22, b"\x09"), r"truncated: 9 finger views need 54 bytes at offset 24"),  # view count overruns
        (patched(22, b"\x03"), r"truncated: finger view 2 position"),  # a third view that is not there
        (patched(27, b"\x09"), r"finger view 0: 9 minutiae and the extended data length need 56 bytes at offset 28"),
        (patched(46, b"\x00\xff"), r"extended data block needs 255 bytes"),  # block length that overruns
        (patched(24, b"\x0b"), r"finger position 11 > 10"),
        (patched(26, b"\x65"), r"finger quality 101 > 100"),
        (patched(28, struct.pack(">H", (1 << 14) | 256)), r"\(256, 120\) lies outside the 256x360 image"),
        (patched(30, struct.pack(">H", 360)), r"\(100, 360\) lies outside"),
        (patched(33, b"\x65"), r"minutia quality 101 > 100"),
        (patched(28, struct.pack(">H", (3 << 14) | 100)), r"type bits 0b11 are reserved"),
    ],
)
def test_malformed_records_are_rejected_with_a_useful_message(data, message):
    with pytest.raises(InvalidTemplate, match=message):
        decode(data)


def test_invalid_template_is_an_invalid_input_problem():
    error = InvalidFingerprintTemplate("x")
    assert isinstance(error, InvalidInput)
    assert error.status == 422
    assert error.type_uri.endswith("/invalid-fingerprint-template")


def with_view(**changes) -> FingerprintRecord:
    record = sample_record()
    return dataclasses.replace(record, views=(dataclasses.replace(record.views[0], **changes),))


def with_minutia(**changes) -> FingerprintRecord:
    minutia = dataclasses.replace(sample_record().views[0].minutiae[0], **changes)
    return with_view(minutiae=(minutia,))


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (with_view(position=11), r"position is 11"),
        (with_view(quality=101), r"finger view 0 quality is 101"),
        (with_view(view_number=16), r"view number is 16"),
        (with_view(impression_type=16), r"impression type is 16"),
        (with_minutia(x=300), r"minutia 0 x is 300"),
        (with_minutia(y=400), r"minutia 0 y is 400"),
        (with_minutia(x=-1), r"minutia 0 x is -1"),
        (with_minutia(quality=101), r"minutia 0 quality is 101"),
        (with_minutia(angle=256), r"minutia 0 angle is 256"),
        (with_minutia(type=3), r"is not a MinutiaType"),
        (with_view(minutiae=(Minutia(1, 1, 0, MinutiaType.RIDGE_ENDING),) * 256), r"number of minutiae is 256"),
        (with_view(extended_data=b"\x00" * 65536), r"extended data length is 65536"),
        (dataclasses.replace(sample_record(), width=0), r"image size X is 0"),
        (dataclasses.replace(sample_record(), equipment_id=0x1000), r"equipment id"),
        (dataclasses.replace(sample_record(), equipment_certification=16), r"equipment certification"),
    ],
)
def test_encode_validates_every_field(record, message):
    with pytest.raises(InvalidTemplate, match=message):
        encode(record)


def test_encode_accepts_255_minutiae_the_one_byte_maximum():
    minutiae = tuple(Minutia(i, i, i, MinutiaType.BIFURCATION, 50) for i in range(255))
    record = dataclasses.replace(sample_record(), views=(FingerView(position=0, minutiae=minutiae),))
    assert decode(encode(record)) == record


def test_record_without_views_round_trips():
    record = FingerprintRecord(width=500, height=500, views=())
    assert decode(encode(record)) == record
    assert len(encode(record)) == 24


def test_minutiae_array_gives_pixels_and_radians():
    view = sample_record().views[0]
    array = minutiae_array(view)
    assert array.shape == (3, 3) and array.dtype == np.float32
    assert array[1].tolist() == pytest.approx([299.0, 399.0, 255 * 2 * math.pi / 256])
    assert array[2, 2] == pytest.approx(math.pi / 2)  # 64 units = 90 degrees
    assert view.minutiae[2].radians == pytest.approx(math.pi / 2)
    assert minutiae_array(FingerView(position=0, minutiae=())).shape == (0, 3)


def test_finger_positions_cover_the_iso_codes():
    assert FINGER_POSITIONS[0] == "unknown"
    assert FINGER_POSITIONS[1] == "right thumb"
    assert FINGER_POSITIONS[10] == "left little"
    assert sorted(FINGER_POSITIONS) == list(range(11))
