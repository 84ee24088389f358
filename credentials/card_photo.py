"""The photos of an ID card: the identity's current enrolment photo, cropped to head and shoulders, as a printed
portrait and as the tiny picture the QR carries for an offline look (Claim 169 key 17).

The current photo is the kept photo (``keep_photos``) of the issuing enrolment whose face template is in the
gallery: the one enrolled, or the newest after a biometric update (which leaves the old template out of the
gallery). None when photos are not kept or retention removed it: no card is issued without a photo.

The QR photo is 48 x 64 pixels, grey, WebP at quality 40: about 550 bytes, so the whole QR stays near 1,400
Base45 characters (QR version 25 at level M, under the 1,800 the Claim 169 photo guidance calls safe) and scans
from a printed card; a person still recognises a face at that size (that guidance's 48 px default; grey saves
about a fifth of the bytes; LANCZOS downscaling is the low-pass that keeps sensor noise out of the bytes).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid.keyring import KeyRing, Sealed
from enrollment.face import FaceEngine
from enrollment.templates import photo_aad
from models import Enrolment, FaceTemplate, Photo

QR_SIZE = (48, 64)  # width, height in pixels
QR_WEBP_QUALITY = 40
PRINT_SIZE = (300, 400)  # 25.4 x 33.9 mm at 300 dpi: the printed portrait
PRINT_JPEG_QUALITY = 85
HEAD_TO_FRAME = 2.6  # the frame's height over the detected face box's (head, neck and shoulders, ICAO-like)


@dataclass(frozen=True)
class CardPhotos:
    """The two renditions: ``qr`` (WebP) for the QR and ``printed`` (JPEG) for the card's front."""

    qr: bytes
    printed: bytes
    qr_format: str = "webp"


def current_photo(db: Session, keyring: KeyRing, record: Enrolment) -> bytes | None:
    """The identity's current photo (decrypted), or None when none is kept."""
    in_gallery = select(FaceTemplate.photo_index).where(
        FaceTemplate.enrolment_id == record.id, FaceTemplate.in_gallery.is_(True)
    )
    row = db.scalars(
        select(Photo)
        .where(Photo.enrolment_id == record.id, Photo.photo_index.in_(in_gallery))
        .order_by(Photo.photo_index.desc())
    ).first()
    if row is None:
        return None
    return keyring.open(Sealed(row.key_id, row.nonce, row.ciphertext), photo_aad(record.public_id, row.photo_index))


def _portrait(image: Image.Image, faces: FaceEngine, max_side: int, min_confidence: float) -> Image.Image:
    """A 3:4 frame around the most confident face (the face a little above the middle), inside the image."""
    width, height = image.size
    boxes = faces.detect(np.asarray(image), max_side=max_side, min_confidence=min_confidence)
    if not boxes:  # an enrolled photo passed the quality gate with one face; keep the centre if detection differs
        frame_h = min(height, width * 4 / 3)
        centre_x, centre_y = width / 2, height / 2
    else:
        box = boxes[0]
        frame_h = min(height, (box.bottom - box.top) * HEAD_TO_FRAME, width * 4 / 3)
        centre_x, centre_y = (box.left + box.right) / 2, (box.top + box.bottom) / 2 + frame_h * 0.06
    frame_w = frame_h * 3 / 4
    left = min(max(0.0, centre_x - frame_w / 2), width - frame_w)
    top = min(max(0.0, centre_y - frame_h / 2), height - frame_h)
    return image.crop((round(left), round(top), round(left + frame_w), round(top + frame_h)))


def renditions(data: bytes, faces: FaceEngine, *, max_side: int, min_confidence: float) -> CardPhotos:
    """The QR's and the printed photo from an enrolment photo (JPEG or PNG bytes)."""
    with Image.open(io.BytesIO(data)) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    portrait = _portrait(image, faces, max_side, min_confidence)
    printed = io.BytesIO()
    portrait.resize(PRINT_SIZE, Image.Resampling.LANCZOS).save(printed, "JPEG", quality=PRINT_JPEG_QUALITY)
    tiny = portrait.convert("L").resize(QR_SIZE, Image.Resampling.LANCZOS)
    small = io.BytesIO()
    tiny.save(small, "WEBP", quality=QR_WEBP_QUALITY, method=6)
    return CardPhotos(qr=small.getvalue(), printed=printed.getvalue())
