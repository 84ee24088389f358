"""A register of issued people stored as the workflow stores them (real AES-GCM sealing, real finger extraction),
inserted directly: the way an existing register, migrated in bulk, can hold one person under two UINs."""

from __future__ import annotations

import uuid
from datetime import date

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import insert, select

from civid.audit import SYSTEM
from civid.auth import create_api_key
from enrollment.fingerprint import AcceptedFinger, FingerUpload, assess_finger
from enrollment.templates import seal_descriptor
from enrollment.workflow import finger_template
from models import Enrolment, EnrolmentStatus, FaceTemplate, Identity, utcnow
from server.services import Services
from tests.synthetic_fingerprints import impressions, png_bytes


def unit(rng: np.random.Generator, count: int) -> NDArray[np.float32]:
    """``count`` random unit descriptors, shape (count, 128): distinct people, nearly orthogonal."""
    vectors = rng.standard_normal((count, 128)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def near(vector: NDArray[np.float32], cosine: float, rng: np.random.Generator) -> NDArray[np.float32]:
    """A unit descriptor at exactly ``cosine`` from ``vector`` (another photo of the person, or a look-alike)."""
    noise = rng.standard_normal(128).astype(np.float32)
    noise -= noise.dot(vector) * vector
    noise /= np.linalg.norm(noise)
    return (cosine * vector + np.sqrt(1 - cosine**2) * noise).astype(np.float32)


def fingers_of(services: Services, seed: int, impression: int, positions: tuple[int, ...]) -> list[AcceptedFinger]:
    """Accepted fingers (through the real quality gate and MINDTCT) of synthetic finger ``seed + position``."""
    accepted = []
    for position in positions:
        image = impressions(seed + position, impression + 1)[impression]
        finger, report = assess_finger(
            FingerUpload(position, png_bytes(image), f"f{position}.png", "image/png"), services.settings.finger_quality
        )
        assert finger is not None, report
        accepted.append(finger)
    return accepted


def officer(services: Services) -> int:
    with services.sessions.begin() as session:
        row, _ = create_api_key(session, f"register officer {uuid.uuid4().hex[:6]}", "officer", SYSTEM)
        return row.id


def register(
    services: Services,
    vectors: NDArray[np.float32],
    fingers: dict[int, list[AcceptedFinger]] | None = None,
    officer_id: int | None = None,
) -> list[int]:
    """One issued person (identity, enrolment, sealed face template) per row of ``vectors``; ``fingers`` by row.
    Returns their enrolment ids, in row order."""
    officer_id = officer_id or officer(services)
    now = utcnow()
    ids = []
    with services.sessions.begin() as session:
        start = session.scalar(select(Identity.id).order_by(Identity.id.desc()).limit(1)) or 0
        for row, vector in enumerate(vectors):
            public_id = str(uuid.uuid4())
            identity = Identity(uin=f"9{start + row:09d}", status="active", created_at=now)
            session.add(identity)
            session.flush()
            enrolment = Enrolment(
                public_id=public_id,
                status=EnrolmentStatus.ISSUED,
                officer_id=officer_id,
                given_name=f"Person{start + row}",
                family_name="Register",
                date_of_birth=date(1980, 1, 1),
                sex="X",
                place_of_birth="Belmopan",
                nationality="BLZ",
                address={"line1": "1 Main Street", "locality": "Belmopan", "country": "BLZ"},
                quality=[],
                rejection_reasons=[],
                identity_id=identity.id,
                decided_at=now,
            )
            session.add(enrolment)
            session.flush()
            sealed = seal_descriptor(services.keyring, vector, public_id, 0)
            session.execute(
                insert(FaceTemplate),
                [
                    {
                        "enrolment_id": enrolment.id,
                        "photo_index": 0,
                        "in_gallery": True,
                        "key_id": sealed.key_id,
                        "nonce": sealed.nonce,
                        "ciphertext": sealed.ciphertext,
                        "quality_score": 80.0,
                    }
                ],
            )
            for finger in (fingers or {}).get(row, []):
                session.add(finger_template(services.keyring, enrolment, finger))
            ids.append(enrolment.id)
    return ids
