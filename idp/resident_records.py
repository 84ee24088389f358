"""The enrolment side of what civid holds about a resident (``idp.resident_data``): the identity, every
enrolment with its demographics (their history: one enrolment row per capture), its decision dates, the
biometric templates described, the status history and the civil registrations naming them.

Read through ``models``: enrollment and crvs keep these rows but have no hook into the account pages.
Biometric templates are described, never exported: the encrypted template serves deduplication, and neither
it nor a photo leaves civid through a download. Nothing of another person: no officer's name or key, and of a
birth registration the child's own facts only (not the parents' UINs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.resident_data import HistoryEntry
from idp.resident_sources import iso
from models import CivilRegistration, Enrolment, FaceTemplate, FingerTemplate, Identity, IdentityStatusChange, Photo

TEMPLATE_NOTE = "encrypted template held for deduplication"
PHOTO_NOTE = "encrypted enrolment photo kept for the adjudicators"
CHILD_FACTS = ("given_name", "family_name", "sex", "place_of_birth")  # a birth's own facts, not the parents'


def _demographics(row: Enrolment) -> dict[str, Any]:
    return {
        "given_name": row.given_name,
        "middle_names": row.middle_names,
        "family_name": row.family_name,
        "date_of_birth": row.date_of_birth.isoformat(),
        "sex": row.sex,
        "place_of_birth": row.place_of_birth,
        "nationality": row.nationality,
        "address": row.address,
        "phone": row.phone,
        "email": row.email,
    }


def _biometrics(db: Session, row: Enrolment) -> list[dict[str, Any]]:
    faces = db.scalars(select(FaceTemplate).where(FaceTemplate.enrolment_id == row.id).order_by(FaceTemplate.id))
    fingers = db.scalars(
        select(FingerTemplate).where(FingerTemplate.enrolment_id == row.id).order_by(FingerTemplate.position)
    )
    described = [
        {"modality": "face", "photo": face.photo_index, "created_at": iso(face.created_at), "note": TEMPLATE_NOTE}
        for face in faces
    ]
    photos = db.scalars(select(Photo).where(Photo.enrolment_id == row.id).order_by(Photo.photo_index))
    described += [{"modality": "photo", "photo": photo.photo_index, "note": PHOTO_NOTE} for photo in photos]
    described += [
        {
            "modality": "finger",
            "finger_position": finger.position,  # ISO/IEC 19794-2 code: 1 right thumb ... 10 left little finger
            "source": finger.source,
            "created_at": iso(finger.created_at),
            "note": TEMPLATE_NOTE,
        }
        for finger in fingers
    ]
    return described


class EnrolmentRecords:
    """The identity, its enrolments, biometrics described, status history and civil registrations."""

    name = "idp.enrolment_records"

    def history(self, db: Session, identity: Identity, limit: int) -> list[HistoryEntry]:
        """Status changes (suspended, deactivated, reactivated), by whose role."""
        rows = db.scalars(
            select(IdentityStatusChange)
            .where(IdentityStatusChange.identity_id == identity.id)
            .order_by(IdentityStatusChange.id.desc())
            .limit(limit)
        )
        return [
            HistoryEntry(row.created_at, "status", row.actor_role, None, row.transition, by_role=True) for row in rows
        ]

    def export(self, db: Session, identity: Identity) -> Mapping[str, Any]:
        """Every section of the resident's registration record."""
        enrolments = db.scalars(select(Enrolment).where(Enrolment.identity_id == identity.id).order_by(Enrolment.id))
        changes = db.scalars(
            select(IdentityStatusChange)
            .where(IdentityStatusChange.identity_id == identity.id)
            .order_by(IdentityStatusChange.id)
        )
        registrations = db.scalars(
            select(CivilRegistration).where(CivilRegistration.identity_id == identity.id).order_by(CivilRegistration.id)
        )
        return {
            "identity": {"uin": identity.uin, "status": identity.status, "created_at": iso(identity.created_at)},
            "enrolments": [
                {
                    "reference": row.public_id,
                    "status": row.status,
                    "enrolled_at": iso(row.created_at),
                    "decided_at": iso(row.decided_at),
                    "demographics": _demographics(row),
                    "deduplicated_on": row.dedup_modalities or [],
                    "biometrics": _biometrics(db, row),
                }
                for row in enrolments
            ],
            "status_history": [
                {
                    "transition": row.transition,
                    "from": row.from_status,
                    "to": row.to_status,
                    "reason": row.reason,
                    "evidence_reference": row.evidence_reference,
                    "by": row.actor_role,
                    "at": iso(row.created_at),
                }
                for row in changes
            ],
            "civil_registrations": [
                {
                    "kind": row.kind,
                    "registration_number": row.registration_number,
                    "event_date": row.event_date.isoformat() if row.event_date else None,
                    "status": row.status,
                    "declared": {k: (row.person or {}).get(k) for k in CHILD_FACTS if (row.person or {}).get(k)},
                    "received_at": iso(row.received_at),
                    "linked_at": iso(row.linked_at),
                }
                for row in registrations
            ],
        }
