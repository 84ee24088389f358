"""What the ID card tests share: issuing through the API, reading the sealed QR, decoding a QR image."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image
from sqlalchemy import select

from credentials import cards
from credentials.card_pdf import QR_PNG_SCALE, qr_png
from models import AuditEvent, IdCard


def issue(client, headers, uin: str):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/identities/{uin}/cards", headers=headers)


def sealed(services, number: str) -> cards.CardContents:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        card = db.scalars(select(IdCard).where(IdCard.number == number)).one()
        return cards.contents(db, services.keyring, card)


def decode_qr_image(text: str, scale: int = QR_PNG_SCALE) -> str:
    """Render the card's QR as the back prints it and read it back with OpenCV (an independent reader). OpenCV's
    ArUco-based detector: its classic ``QRCodeDetector`` misses about half of all version-25 symbols however sharp
    (tried on random Base45 texts), a limit of that detector, not of the symbol."""
    grey = np.asarray(Image.open(io.BytesIO(qr_png(text, scale=scale))).convert("L"))
    decoded, points, _ = cv2.QRCodeDetectorAruco().detectAndDecode(grey)
    assert points is not None, "OpenCV found no QR"
    return str(decoded)


def events(services, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
