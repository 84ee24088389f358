"""Fill a civid database with synthetic enrolled people quickly (bulk inserts, real encryption).

Used by the rebuild and enrolment benchmarks to stand in for a national gallery. Each synthetic
person is an issued enrolment with one AES-GCM sealed template, exactly as the workflow stores them.
"""

from __future__ import annotations

import uuid
from datetime import date

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import insert, select

from enrollment.templates import seal_descriptor
from models import ApiKey, Enrolment, EnrolmentStatus, FaceTemplate, Identity, utcnow
from server.services import Services

CHUNK = 5_000


def bench_officer(services: Services) -> int:
    with services.sessions.begin() as session:
        existing = session.scalar(select(ApiKey.id).where(ApiKey.name == "benchmark officer"))
        if existing:
            return existing
        row = ApiKey(name="benchmark officer", role="officer", key_hash=uuid.uuid4().hex * 2, prefix="bench")
        session.add(row)
        session.flush()
        return row.id


def fill(services: Services, vectors: NDArray[np.float32], on_chunk=None) -> None:  # type: ignore[no-untyped-def]
    """Insert one issued person per row of ``vectors`` (shape (n, 128))."""
    officer = bench_officer(services)
    now = utcnow()
    for start in range(0, len(vectors), CHUNK):
        chunk = vectors[start : start + CHUNK]
        public_ids = [str(uuid.uuid4()) for _ in chunk]
        with services.sessions.begin() as session:
            first_identity = (session.scalar(select(Identity.id).order_by(Identity.id.desc()).limit(1)) or 0) + 1
            first_enrolment = (session.scalar(select(Enrolment.id).order_by(Enrolment.id.desc()).limit(1)) or 0) + 1
            session.execute(
                insert(Identity),
                [
                    {"id": first_identity + i, "uin": _unique_uin(start + i), "status": "active", "created_at": now}
                    for i in range(len(chunk))
                ],
            )
            session.execute(
                insert(Enrolment),
                [
                    {
                        "id": first_enrolment + i,
                        "public_id": public_ids[i],
                        "status": EnrolmentStatus.ISSUED,
                        "officer_id": officer,
                        "given_name": "Synthetic",
                        "family_name": "Person",
                        "date_of_birth": date(1980, 1, 1),
                        "sex": "X",
                        "place_of_birth": "Belmopan",
                        "nationality": "BLZ",
                        "address": {"line1": "1 Main Street", "locality": "Belmopan", "country": "BLZ"},
                        "quality": [],
                        "rejection_reasons": [],
                        "identity_id": first_identity + i,
                        "created_at": now,
                        "decided_at": now,
                    }
                    for i in range(len(chunk))
                ],
            )
            rows = []
            for i, vector in enumerate(chunk):
                sealed = seal_descriptor(services.keyring, vector, public_ids[i], 0)
                rows.append(
                    {
                        "enrolment_id": first_enrolment + i,
                        "photo_index": 0,
                        "in_gallery": True,
                        "key_id": sealed.key_id,
                        "nonce": sealed.nonce,
                        "ciphertext": sealed.ciphertext,
                        "quality_score": 80.0,
                        "created_at": now,
                    }
                )
            session.execute(insert(FaceTemplate), rows)
        if on_chunk:
            on_chunk(len(chunk))


def _unique_uin(index: int) -> str:
    """Distinct 10-character identifiers for synthetic people (not valid UINs: they start with 0)."""
    return f"0{index:09d}"
