"""enrol(): validate → extract → store (templates searchable) → deduplicate → issue a UIN or open a case.

Insert-then-identify (MOSIP's ABIS design): the enrolment is stored as ``pending_dedup`` with its templates
and a dedup job in one transaction, with no lock; the job is then decided by ``enrollment.dedup_decision``,
in this request (``dedup_inline``, the embedded default) or by ``civid abis worker`` processes, and the
request waits up to ``dedup_wait_s`` for that decision. Two officers enrolling the same person at the same
moment therefore find each other, and the decision order resolves the pair (one UIN, one case).
A failure before the commit leaves nothing behind: no row, no job, no index entry.

An Idempotency-Key is looked up before the work (a retry costs nothing) and again in the storing transaction;
the same key sent twice at once stores one enrolment (the unique key, ``Replay.stored_meanwhile``) and every
copy waits for its decision. The key stands for one request (``enrollment.idempotency.request_digest``):
another request under it is refused, never answered with the first person's record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from civid.errors import InvalidInput
from civid.keyring import KeyRing
from civid.stopwatch import NULL, Stopwatch
from enrollment import dedup_queue
from enrollment.abis_worker import Settle
from enrollment.capture import decode_image
from enrollment.documents import DocumentEvidence, store_documents
from enrollment.fingerprint import (
    AcceptedFinger,
    FingerException,
    FingerReport,
    FingerUpload,
    assess_finger,
    check_positions,
    import_records,
    seal_finger,
)
from enrollment.guardianship import VerifiedGuardian, check_enrolment
from enrollment.idempotency import Replay, request_digest
from enrollment.quality import AcceptedFace, QualityIssue, assess
from enrollment.runtime import EnrolmentServices
from enrollment.schemas import Demographics
from enrollment.templates import photo_aad, seal_descriptor
from models import Enrolment, EnrolmentStatus, FaceTemplate, FingerTemplate, Photo, utcnow


@dataclass(frozen=True)
class PhotoUpload:
    """One uploaded photo as received."""

    data: bytes
    filename: str
    content_type: str | None


@dataclass(frozen=True)
class ExtractedFace:
    face: AcceptedFace
    descriptor: NDArray[np.float32]  # (128,), L2-normalised
    data: bytes
    content_type: str


def enrol(
    services: EnrolmentServices,
    actor: Actor,
    demographics: Demographics,
    photos: list[PhotoUpload],
    idempotency_key: str | None = None,
    watch: Stopwatch = NULL,
    fingers: list[FingerUpload] | None = None,
    finger_exceptions: list[FingerException] | None = None,
    finger_record: bytes | None = None,
    documents: list[DocumentEvidence] | None = None,
    settle: Settle | None = None,
    guardian: VerifiedGuardian | None = None,
) -> Enrolment:
    """Enrol one person; return the stored enrolment (issued, pending_adjudication or rejected; pending_dedup when
    its decision did not come within ``settle``'s wait, by default the settings' ``dedup_wait_s``).

    ``fingers`` are scanned images by position, ``finger_record`` an ISO/IEC 19794-2 record from another
    system, ``finger_exceptions`` the fingers that could not be taken and why, ``documents`` the identity
    documents the officer examined (stored, number sealed, with an accepted enrolment; not with a rejected one).
    ``guardian``: a minor's guardian, verified at the desk (``enrollment.guardian_proof``); a minor without one
    is refused, and a child under the face-only age gives no fingers (``enrollment.guardianship``).
    ``watch`` collects seconds per stage (decode, detect, landmarks, encode, fingers, commit, dedup)."""
    settings = services.settings
    settle = settle or Settle.from_settings(services.settings.dedup_queue)
    if not photos:
        raise InvalidInput("at least one face photo is required")
    if len(photos) > settings.max_photos_per_enrolment:
        raise InvalidInput(
            f"at most {settings.max_photos_per_enrolment} photos per enrolment",
            code="too_many_photos",
            params={"limit": settings.max_photos_per_enrolment},
        )
    fingers, finger_exceptions = list(fingers or []), list(finger_exceptions or [])
    fingers_deferred = check_enrolment(
        settings.ages,
        demographics.date_of_birth,
        guardian,
        gives_fingers=bool(fingers or finger_exceptions or finger_record),
    )
    key = None
    if idempotency_key is not None:
        if not idempotency_key.strip():
            # An empty header is a client bug (a template variable left unset), not "no key": treating it as
            # no key would enrol again on every retry the client believes is protected.
            raise InvalidInput(
                "the Idempotency-Key header is empty: send a key that names this request, or no header",
                code="idempotency_key_empty",
            )
        key = Replay(
            idempotency_key,
            request_digest(
                demographics,
                [p.data for p in photos],
                fingers,
                finger_exceptions,
                finger_record,
                list(documents or []),
                guardian=(guardian.uin, guardian.relationship) if guardian else None,
            ),
        )
        with services.sessions() as session:
            previous = key.previous(session, actor)
        if previous is not None:
            return settle.replayed(services, previous)

    # 1. Decode every photo first: any bad file refuses the whole request before anything is stored.
    with watch.stage("decode"):
        images = [
            decode_image(
                p.data,
                filename=p.filename,
                content_type=p.content_type,
                max_bytes=settings.max_upload_bytes,
                max_pixels=settings.max_image_pixels,
                min_side=settings.min_image_side,
            )
            for p in photos
        ]
    imported, imported_reports = import_records(finger_record, settings.finger_quality) if finger_record else ([], [])
    check_positions(fingers, finger_exceptions, [r.position for r in imported_reports])
    # 2. Quality gate, then templates for the photos (and fingers) that pass.
    with watch.stage("fingers"):
        assessed = [assess_finger(upload, settings.finger_quality) for upload in fingers]
    accepted_fingers = [finger for finger, _ in assessed if finger is not None] + imported
    finger_reports = (
        [report for _, report in assessed]
        + imported_reports
        + [FingerReport(e.position, "excepted", reason=e.reason, note=e.note) for e in finger_exceptions]
    )
    finger_issues = [
        QualityIssue(issue["code"], f"finger {report.position}: {issue['message']}")
        for report in finger_reports
        for issue in report.issues
    ]
    results = [assess(services.faces, image, settings.face_gate, watch) for image in images]
    reports = [r.report.to_dict() for r in results]
    issues = [issue for r in results for issue in r.report.issues]
    extracted: list[ExtractedFace] = []
    if not issues:
        for result, upload, image in zip(results, photos, images):
            assert result.face is not None
            with watch.stage("encode"):
                vector = services.faces.encode(image.rgb, result.face.landmarks)
            extracted.append(ExtractedFace(result.face, vector, upload.data, f"image/{image.format.lower()}"))
        issues = _consistency_issues(extracted, settings.dedup.same_person_threshold)

    issues = issues + finger_issues
    captured = Captured(
        reports,
        extracted,
        sorted(finger_reports, key=lambda r: r.position),
        accepted_fingers,
        list(documents or []),
        guardian,
        fingers_deferred,
    )
    public_id = str(uuid.uuid4())
    if issues:
        return _store_rejected(services, actor, demographics, public_id, captured, issues, key, settle)
    return _store_accepted(services, actor, demographics, public_id, captured, key, watch, settle)


@dataclass(frozen=True)
class Captured:
    """Everything taken from the person at the desk, after the quality gates."""

    face_reports: list[dict]
    faces: list[ExtractedFace]
    finger_reports: list[FingerReport]
    fingers: list[AcceptedFinger]
    documents: list[DocumentEvidence]
    guardian: VerifiedGuardian | None = None  # a minor's, verified at the desk
    fingers_deferred: bool = False  # a face-only child: fingers owed at a later biometric update

    @property
    def modalities(self) -> list[str]:
        return ["face", "finger"] if self.fingers else ["face"]


def _consistency_issues(faces: list[ExtractedFace], threshold: float) -> list[QualityIssue]:
    """Several photos in one enrolment must all show the same person."""
    if len(faces) < 2:
        return []
    vectors = np.stack([f.descriptor for f in faces])
    scores = vectors @ vectors.T
    worst = float(scores.min())
    if worst < threshold:
        return [
            QualityIssue(
                "photos_not_same_person",
                f"the photos do not show the same person (similarity {worst:.3f} < {threshold:.3f})",
            )
        ]
    return []


def submit(
    services: EnrolmentServices,
    actor: Actor,
    demographics: Demographics,
    captured: Captured,
    settle: Settle,
    watch: Stopwatch = NULL,
) -> Enrolment:
    """Store templates that passed the gates (``captured``) as a new enrolment and settle its dedup job: what
    ``enrol`` does after extraction, for callers that bring their own templates (benchmarks, load tests)."""
    return _store_accepted(services, actor, demographics, str(uuid.uuid4()), captured, None, watch, settle)


def _store_rejected(
    services: EnrolmentServices,
    actor: Actor,
    demographics: Demographics,
    public_id: str,
    captured: Captured,
    issues: list[QualityIssue],
    key: Replay | None,
    settle: Settle,
) -> Enrolment:
    reasons = [{"code": i.code, "message": i.message} for i in issues]
    with services.sessions() as session:
        previous = key.previous(session, actor) if key else None
        if previous is not None:
            return settle.replayed(services, previous)
        try:
            enrolment = _new_enrolment(actor, demographics, public_id, EnrolmentStatus.REJECTED, captured, key)
            enrolment.rejection_reasons = reasons
            enrolment.decided_at = utcnow()
            session.add(enrolment)
            session.flush()
            audit.record(
                session,
                actor,
                "enrolment.rejected",
                "enrolment",
                public_id,
                reasons=[i.code for i in issues],
                photos=len(captured.face_reports),
                fingers=len(captured.finger_reports),
            )
            session.commit()
        except IntegrityError as exc:  # the same key stored meanwhile by a copy of this request
            session.rollback()
            if key is None:
                raise
            return settle.replayed(services, key.stored_meanwhile(services, actor, exc))
    return enrolment


def _store_accepted(
    services: EnrolmentServices,
    actor: Actor,
    demographics: Demographics,
    public_id: str,
    captured: Captured,
    key: Replay | None,
    watch: Stopwatch,
    settle: Settle,
) -> Enrolment:
    """Store the enrolment as pending_dedup with its templates and its job (searchable from the commit), then
    wait for the job's decision as ``settle`` says."""
    with services.sessions() as session:
        previous = key.previous(session, actor) if key else None
        if previous is not None:
            return settle.replayed(services, previous)
        try:
            with watch.stage("commit"):
                enrolment = _new_enrolment(actor, demographics, public_id, EnrolmentStatus.PENDING_DEDUP, captured, key)
                enrolment.dedup_modalities = captured.modalities
                session.add(enrolment)
                session.flush()  # the enrolment row first: see enrollment.gallery_store.IdGaps
                _store_templates(services, session, enrolment, captured.faces)
                _store_fingers(services, session, enrolment, captured.fingers)
                store_documents(services.keyring, session, enrolment, captured.documents, actor.id)
                dedup_queue.enqueue(session, enrolment)
                session.commit()
        except IntegrityError as exc:  # raised at a flush or at the commit
            session.rollback()
            if key is None:
                raise
            return settle.replayed(services, key.stored_meanwhile(services, actor, exc))
    with watch.stage("dedup"):
        return settle.decided(services, enrolment.id)


def _store_templates(
    services: EnrolmentServices, session: Session, enrolment: Enrolment, faces: list[ExtractedFace]
) -> list[FaceTemplate]:
    rows = []
    for index, face in enumerate(faces):
        sealed = seal_descriptor(services.keyring, face.descriptor, enrolment.public_id, index)
        rows.append(
            FaceTemplate(
                enrolment_id=enrolment.id,
                photo_index=index,
                key_id=sealed.key_id,
                nonce=sealed.nonce,
                ciphertext=sealed.ciphertext,
                quality_score=face.face.report.score,
                in_gallery=True,
            )
        )
        if services.settings.keep_photos:
            photo = services.keyring.seal(face.data, photo_aad(enrolment.public_id, index))
            session.add(
                Photo(
                    enrolment_id=enrolment.id,
                    photo_index=index,
                    content_type=face.content_type,
                    key_id=photo.key_id,
                    nonce=photo.nonce,
                    ciphertext=photo.ciphertext,
                )
            )
    session.add_all(rows)
    session.flush()
    return rows


def _store_fingers(
    services: EnrolmentServices, session: Session, enrolment: Enrolment, fingers: list[AcceptedFinger]
) -> list[FingerTemplate]:
    rows = [finger_template(services.keyring, enrolment, finger) for finger in fingers]
    session.add_all(rows)
    session.flush()
    return rows


def finger_template(keyring: KeyRing, enrolment: Enrolment, finger: AcceptedFinger) -> FingerTemplate:
    """One accepted finger as its row: the ISO record and the MCC cylinders, each sealed to the enrolment."""
    record, features = seal_finger(keyring, finger, enrolment.public_id)
    assert features.key_id == record.key_id  # one key per row; sealed back to back under the active key
    return FingerTemplate(
        enrolment_id=enrolment.id,
        position=finger.position,
        source=finger.source,
        nfiq2=finger.nfiq2,
        minutiae_count=len(finger.view.minutiae),
        in_gallery=True,
        key_id=record.key_id,
        nonce=record.nonce,
        ciphertext=record.ciphertext,
        features_nonce=features.nonce,
        features_ciphertext=features.ciphertext,
    )


def _new_enrolment(
    actor: Actor, demographics: Demographics, public_id: str, status: str, captured: Captured, key: Replay | None
) -> Enrolment:
    data = demographics.model_dump(mode="json")
    return Enrolment(
        public_id=public_id,
        status=status,
        officer_id=actor.id,
        idempotency_key=key.key if key else None,
        request_digest=key.digest if key else None,
        given_name=data["given_name"],
        middle_names=data["middle_names"],
        family_name=data["family_name"],
        date_of_birth=demographics.date_of_birth,
        sex=data["sex"],
        place_of_birth=data["place_of_birth"],
        nationality=data["nationality"],
        address=data["address"],
        phone=data["phone"],
        email=data["email"],
        quality=captured.face_reports,
        rejection_reasons=[],
        fingerprints=[r.to_dict() for r in captured.finger_reports],
        dedup_modalities=[],
        guardian_identity_id=captured.guardian.identity_id if captured.guardian else None,
        guardian_relationship=captured.guardian.relationship if captured.guardian else None,
        fingers_deferred=captured.fingers_deferred,
    )
