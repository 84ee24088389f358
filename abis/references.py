"""The ABIS reference store: MOSIP's references' templates sealed in ``abis_templates``, and their two indexes.

A reference's face descriptors go to a FAISS gallery and its fingers' MCC cylinders to civid's finger index, both
keyed by template id and both caches of the table: built from it on first use and caught up by id before each
search (another process may have inserted since). Inserts commit without a common lock, so on PostgreSQL a
template id below the watermark may still commit later (another process's insert still open at the last
catch-up): such gaps are remembered and scanned again until every transaction that could fill them has ended
(``enrollment.gallery_store.IdGaps``, as the enrolment galleries do). A template deleted by another process may
linger in this process's index for a while; searches drop any hit whose row is gone, so it is never reported.
These indexes are in-process on every gallery backend (docs/abis-mosip.md says what that means with Milvus).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid.keyring import KeyRing, Sealed
from enrollment.fingerprint import AcceptedFinger, index_features, record_of
from enrollment.gallery_store import RECENT_GAPS, IdGaps
from enrollment.matcher_problems import matcher_problems
from matcher import iso19794, mcc
from matcher.finger_index import FingerIndex
from matcher.gallery import FaissGallery
from models import AbisModality, AbisReference, AbisTemplate

FACE_FORMAT = b"civid/abis-face-template/v1"  # dlib ResNet 128 x float32 little-endian
RECORD_FORMAT = b"civid/abis-finger-record/iso19794-2-2005"
FEATURES_FORMAT = b"civid/abis-finger-mcc-index/v1"
_CATCH_UP_BATCH = 1000


@dataclass
class ReferenceTemplates:
    """What civid keeps of one reference: face descriptors (each (128,)) and fingers by ISO position."""

    faces: list[NDArray[np.float32]] = field(default_factory=list)
    fingers: dict[int, AcceptedFinger] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.faces and not self.fingers

    def face_matrix(self) -> NDArray[np.float32] | None:
        """The descriptors stacked (n, 128), or None without a face."""
        return np.stack(self.faces).astype(np.float32) if self.faces else None


def _aad(kind: bytes, reference_id: str, position: int) -> bytes:
    """Associated data binding a ciphertext to one reference's template: rows swapped between references fail."""
    return kind + b"/" + reference_id.encode() + b"/" + str(position).encode()


def seal_templates(keyring: KeyRing, reference: AbisReference, templates: ReferenceTemplates) -> list[AbisTemplate]:
    """The rows holding ``templates`` of ``reference`` (flushed, so it has its id), each sealed and bound to it."""
    rows = []
    for index, vector in enumerate(templates.faces):
        sealed = keyring.seal(
            np.asarray(vector, dtype="<f4").tobytes(), _aad(FACE_FORMAT, reference.reference_id, index)
        )
        rows.append(_row(reference, AbisModality.FACE, index, sealed, None))
    for position, finger in sorted(templates.fingers.items()):
        with matcher_problems():
            record = iso19794.encode(record_of([finger]))
        sealed = keyring.seal(record, _aad(RECORD_FORMAT, reference.reference_id, position))
        features = keyring.seal(
            mcc.to_bytes(index_features(finger.view)), _aad(FEATURES_FORMAT, reference.reference_id, position)
        )
        rows.append(_row(reference, AbisModality.FINGER, position, sealed, features))
    return rows


def _row(
    reference: AbisReference, modality: str, position: int, sealed: Sealed, features: Sealed | None
) -> AbisTemplate:
    return AbisTemplate(
        reference_pk=reference.id,
        modality=modality,
        position=position,
        key_id=sealed.key_id,
        nonce=sealed.nonce,
        ciphertext=sealed.ciphertext,
        features_nonce=features.nonce if features else None,
        features_ciphertext=features.ciphertext if features else None,
    )


def open_face(keyring: KeyRing, row: AbisTemplate, reference_id: str) -> NDArray[np.float32]:
    plain = keyring.open(Sealed(row.key_id, row.nonce, row.ciphertext), _aad(FACE_FORMAT, reference_id, row.position))
    return np.frombuffer(plain, dtype="<f4").astype(np.float32)


def open_finger(keyring: KeyRing, row: AbisTemplate, reference_id: str) -> AcceptedFinger:
    plain = keyring.open(Sealed(row.key_id, row.nonce, row.ciphertext), _aad(RECORD_FORMAT, reference_id, row.position))
    with matcher_problems():
        record = iso19794.decode(plain)
    return AcceptedFinger(record.views[0], record.width, record.height, "import", None)


def open_features(keyring: KeyRing, row: AbisTemplate, reference_id: str) -> mcc.Cylinders:
    assert row.features_nonce is not None and row.features_ciphertext is not None
    plain = keyring.open(
        Sealed(row.key_id, row.features_nonce, row.features_ciphertext),
        _aad(FEATURES_FORMAT, reference_id, row.position),
    )
    return mcc.from_bytes(plain)


def find(session: Session, reference_id: str) -> AbisReference | None:
    return session.scalars(select(AbisReference).where(AbisReference.reference_id == reference_id)).first()


def templates_of(session: Session, keyring: KeyRing, references: list[AbisReference]) -> dict[int, ReferenceTemplates]:
    """The opened templates of each reference, by the reference's row id."""
    by_pk = {reference.id: reference for reference in references}
    result: dict[int, ReferenceTemplates] = defaultdict(ReferenceTemplates)
    if not by_pk:
        return {}
    rows = session.scalars(
        select(AbisTemplate).where(AbisTemplate.reference_pk.in_(list(by_pk))).order_by(AbisTemplate.id)
    )
    for row in rows:
        reference_id = by_pk[row.reference_pk].reference_id
        templates = result[row.reference_pk]
        if row.modality == AbisModality.FACE:
            templates.faces.append(open_face(keyring, row, reference_id))
        else:
            templates.fingers[row.position] = open_finger(keyring, row, reference_id)
    return dict(result)


class ReferenceGallery:
    """The references' face gallery and finger index in this process, following ``abis_templates`` by id."""

    def __init__(self, keyring: KeyRing, *, exact_max: int, nprobe: int) -> None:
        self.keyring = keyring
        self.faces = FaissGallery(exact_max=exact_max, nprobe=nprobe)
        self.fingers = FingerIndex()
        self.watermark = 0  # highest template id added
        self._gaps = IdGaps()  # ids below the watermark another insert may still commit (PostgreSQL)
        self._lock = threading.Lock()

    def catch_up(self, session: Session) -> int:
        """Add every template row above the watermark (all of them on first use) and any that filled a gap below
        it since; returns how many."""
        with self._lock:
            postgres = session.get_bind().dialect.name == "postgresql"
            settled = self._gaps.settled(session) if postgres else set()
            start = self.watermark
            present: set[int] = set()
            added = self._add(session, AbisTemplate.id.in_(sorted(self._gaps.ids))) if self._gaps.ids else set()
            present |= added
            while rows := self._add(session, AbisTemplate.id > self.watermark, limit=_CATCH_UP_BATCH):
                present |= rows
                self.watermark = max(self.watermark, *rows)
            if postgres:
                # On first use, only the newest ids can belong to inserts still open: older gaps are deletions.
                low = start if start else max(self.watermark - RECENT_GAPS, 0)
                self._gaps.scanned(session, low, self.watermark, present, settled)
            return len(present)

    def _add(self, session: Session, condition: Any, limit: int | None = None) -> set[int]:
        """Add the template rows matching ``condition`` (lowest ids first, at most ``limit``); their ids."""
        query = (
            select(AbisTemplate, AbisReference.reference_id)
            .join(AbisReference, AbisTemplate.reference_pk == AbisReference.id)
            .where(condition)
            .order_by(AbisTemplate.id)
        )
        rows = session.execute(query if limit is None else query.limit(limit)).all()
        faces = [(row.id, open_face(self.keyring, row, ref)) for row, ref in rows if row.modality == "face"]
        fingers = [(row.id, open_features(self.keyring, row, ref)) for row, ref in rows if row.modality == "finger"]
        if faces:
            self.faces.add(np.array([i for i, _ in faces], np.int64), np.stack([v for _, v in faces]))
        if fingers:
            self.fingers.add(np.array([i for i, _ in fingers], np.int64), [c for _, c in fingers])
        return {row.id for row, _ in rows}

    def remove(self, template_ids: list[int]) -> None:
        """Drop a deleted reference's templates from both indexes (after its delete committed)."""
        self.faces.remove(template_ids)
        self.fingers.remove(template_ids)

    def __len__(self) -> int:
        return len(self.faces) + len(self.fingers)


def reencrypt(keyring: KeyRing, session: Session, batch: int = 1000) -> int:
    """Re-seal every reference template not under the active key (after a rotation), in the caller's transaction;
    returns the count. ``civid keys reencrypt-templates`` runs it with enrollment's, so old keys can be retired."""
    query = (
        select(AbisTemplate, AbisReference.reference_id)
        .join(AbisReference, AbisTemplate.reference_pk == AbisReference.id)
        .where(AbisTemplate.key_id != keyring.active)
        .execution_options(yield_per=batch)
    )
    moved = 0
    for row, reference_id in session.execute(query):
        kind = FACE_FORMAT if row.modality == AbisModality.FACE else RECORD_FORMAT
        associated = _aad(kind, reference_id, row.position)
        sealed = keyring.seal(keyring.open(Sealed(row.key_id, row.nonce, row.ciphertext), associated), associated)
        if row.features_nonce is not None and row.features_ciphertext is not None:
            features_ad = _aad(FEATURES_FORMAT, reference_id, row.position)
            old = Sealed(row.key_id, row.features_nonce, row.features_ciphertext)
            features = keyring.seal(keyring.open(old, features_ad), features_ad)
            row.features_nonce, row.features_ciphertext = features.nonce, features.ciphertext
        row.key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
        moved += 1
    return moved
