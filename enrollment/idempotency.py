"""Idempotency-Key on enrolment: a key stands for one request, by the digest stored with it.

The same request again under the key gets the first result; another request under it is refused (422,
draft-ietf-httpapi-idempotency-key-header §2.7), never answered with another person's record. Keys are
per officer (the unique constraint on officer and key).

The digest is canonical over what the request means, not how it was written: the validated demographics and
documents (so re-indented or reordered JSON is the same request), the SHA-256 of each uploaded file's bytes
(photos in order, fingers by position, an imported finger record) and the finger exceptions. File names and
declared content types are left out: a client retrying may name the same file differently.
A SHA-256 over the whole is stored, not the values: it includes the hashes of the uploaded images, which no one
without them can reproduce, so it does not let anyone test guesses at a person's names or document number.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civid.audit import Actor
from civid.errors import Conflict, IdempotencyKeyReused
from enrollment.documents import DocumentEvidence
from enrollment.fingerprint import FingerException, FingerUpload
from enrollment.runtime import EnrolmentServices
from enrollment.schemas import Demographics
from models import Enrolment

VERSION = 1  # bump when the canonical form changes: older digests then never match (their keys get a 422)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def request_digest(
    demographics: Demographics,
    photos: Sequence[bytes],
    fingers: Sequence[FingerUpload],
    finger_exceptions: Sequence[FingerException],
    finger_record: bytes | None,
    documents: Sequence[DocumentEvidence],
    guardian: tuple[str, str] | None = None,
) -> str:
    """SHA-256 (hex) of the request's canonical JSON form."""
    canonical: dict[str, Any] = {
        "version": VERSION,
        "demographics": demographics.model_dump(mode="json"),
        # Photo order is kept: it decides each photo's index (and so the stored template of each).
        "photos": [_sha256(data) for data in photos],
        "fingers": sorted([finger.position, _sha256(finger.data)] for finger in fingers),
        "finger_exceptions": sorted([e.position, e.reason, e.note or ""] for e in finger_exceptions),
        "finger_record": _sha256(finger_record) if finger_record is not None else None,
        # Document order is kept (a document's position binds its sealed number); check methods are a set.
        "documents": [
            [
                d.type,
                d.number,
                d.issuer_name,
                d.issuer_country,
                d.date_of_issuance.isoformat() if d.date_of_issuance else None,
                d.date_of_expiry.isoformat() if d.date_of_expiry else None,
                sorted(d.check_methods),
            ]
            for d in documents
        ],
    }
    if guardian is not None:  # (UIN, relationship) of a minor's guardian; absent for an adult, as before it existed
        canonical["guardian"] = list(guardian)
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _sha256(text.encode())


@dataclass(frozen=True)
class Replay:
    """An officer's Idempotency-Key and the digest of the request sent with it."""

    key: str
    digest: str

    def previous(self, session: Session, actor: Actor) -> Enrolment | None:
        """The enrolment this officer stored under the key, if any; IdempotencyKeyReused if it was another request."""
        found = session.scalars(
            select(Enrolment).where(Enrolment.officer_id == actor.id, Enrolment.idempotency_key == self.key)
        ).first()
        # No digest: stored before migration 0011; it replays as it always did (see that migration).
        if found is not None and found.request_digest is not None and found.request_digest != self.digest:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {self.key!r} was already used for a different enrolment request (enrolment "
                f"{found.public_id}); send a new key for a new request",
                code="idempotency_key_reused",
                params={"key": self.key, "enrolment": found.public_id},
                idempotency_key=self.key,
            )
        return found

    def stored_meanwhile(self, services: EnrolmentServices, actor: Actor, exc: IntegrityError) -> Enrolment:
        """After a unique violation on the key: the enrolment stored under it by a request that did not take
        the dedup lock (none in civid does; another tool might), else the violation was not the key's."""
        with services.sessions() as session:
            found = self.previous(session, actor)
        if found is None:
            raise Conflict(
                "the enrolment could not be stored (a conflicting row was written at the same moment); retry"
            ) from exc
        return found
