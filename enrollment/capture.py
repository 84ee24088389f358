"""Capture: turn uploaded bytes into a checked RGB image, refusing bad input before decoding pixels.

Order matters for safety: size of the file, then the format from its magic bytes (never the declared
content type alone), then the dimensions from the header (a decompression bomb is refused here,
before any pixel is allocated), and only then a full decode that also catches truncated files.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

from civid.errors import InvalidImage, PayloadTooLarge, UnsupportedMediaType

ACCEPTED_CONTENT_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/jpg": "JPEG"}
_MAGIC = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"))


@dataclass(frozen=True)
class CapturedImage:
    """A decoded photo: ``rgb`` has shape (height, width, 3), dtype uint8."""

    rgb: NDArray[np.uint8]
    format: str
    filename: str

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def sniff_format(data: bytes, magic: tuple[tuple[bytes, str], ...] = _MAGIC) -> str | None:
    """The image format named by the file's magic bytes, or None."""
    for prefix, name in magic:
        if data.startswith(prefix):
            return name
    return None


def decode_image(
    data: bytes,
    *,
    filename: str = "photo",
    content_type: str | None = None,
    max_bytes: int,
    max_pixels: int,
    min_side: int,
) -> CapturedImage:
    """Check and decode one uploaded photo; raise a ``CividError`` subclass on any bad input."""
    image, fmt = open_checked(
        data,
        filename=filename,
        content_type=content_type,
        accepted=ACCEPTED_CONTENT_TYPES,
        magic=_MAGIC,
        max_bytes=max_bytes,
        max_pixels=max_pixels,
        min_side=min_side,
    )
    image = ImageOps.exif_transpose(image)  # camera orientation, so faces are upright
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return CapturedImage(rgb=np.ascontiguousarray(rgb), format=fmt, filename=filename)


def open_checked(
    data: bytes,
    *,
    filename: str,
    content_type: str | None,
    accepted: dict[str, str],
    magic: tuple[tuple[bytes, str], ...],
    max_bytes: int,
    max_pixels: int,
    min_side: int,
) -> tuple[Image.Image, str]:
    """Size, magic bytes, declared type, header dimensions, then a full decode; the decoded image and format."""
    names = " or ".join(sorted(set(accepted.values())))
    if len(data) == 0:
        raise InvalidImage(f"{filename}: the file is empty", photo=filename)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"{filename}: {len(data)} bytes is over the limit of {max_bytes} bytes", photo=filename)
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared and declared not in accepted and declared != "application/octet-stream":
        raise UnsupportedMediaType(
            f"{filename}: content type {declared!r} is not accepted; send {', '.join(sorted(accepted))}", photo=filename
        )
    fmt = sniff_format(data, magic)
    if fmt is None:
        raise UnsupportedMediaType(f"{filename}: not a {names} image", photo=filename)
    if declared in accepted and accepted[declared] != fmt:
        raise UnsupportedMediaType(f"{filename}: declared as {declared} but the file is {fmt}", photo=filename)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[fmt])
            width, height = image.size  # read from the header; no pixels decoded yet
            if width * height > max_pixels:
                raise PayloadTooLarge(
                    f"{filename}: {width}x{height} pixels is over the limit of {max_pixels} pixels",
                    photo=filename,
                )
            if min(width, height) < min_side:
                raise InvalidImage(
                    f"{filename}: {width}x{height} is smaller than {min_side} pixels on a side",
                    photo=filename,
                    code="image_too_small",
                    params={"width": width, "height": height, "min_side": min_side},
                )
            image.load()  # full decode: truncated or corrupt data fails here
    except (PayloadTooLarge, InvalidImage):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PayloadTooLarge(f"{filename}: refused as a decompression bomb ({exc})", photo=filename) from exc
    except UnidentifiedImageError as exc:
        # Pillow's message names its in-memory buffer ("<_io.BytesIO object at 0x…>"), not the client's file.
        raise InvalidImage(
            f"{filename}: corrupt {fmt}: the file starts like a {fmt} image but its header cannot be read",
            photo=filename,
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(f"{filename}: corrupt or truncated {fmt} ({_without_objects(exc)})", photo=filename) from exc
    return image, fmt


_OBJECT_REPR = re.compile(r"<[^<>]* object at 0x[0-9a-fA-F]+>")


def _without_objects(exc: Exception) -> str:
    """The decoder's reason with any Python object's repr taken out (it means nothing to a client)."""
    return _OBJECT_REPR.sub("the file", str(exc))
