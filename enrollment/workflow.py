"""enrol(): validate → extract → deduplicate → issue a UIN or open a case, in one transaction.

The expensive part (decoding, detection, encoding) runs before any lock. The short critical part —
catch the gallery up with the database, search it, write the enrolment with its templates and its
outcome, commit, add to the gallery — runs inside ``dedup_section``, so two officers enrolling the same
person at the same moment are ordered: the second one finds the first and opens a case.
A failure anywhere before the commit leaves nothing behind: no row, no UIN, no index entry.

An Idempotency-Key is looked up before the work (a retry costs nothing) and again inside ``dedup_section``
(the same key sent twice at once: the second waits for the first and gets its result). The key stands for
one request (``enrollment.idempotency.request_digest``): another request under it is refused, never answered
with the first person's record.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from civid.errors import InvalidInput
from civid.stopwatch import NULL, Stopwatch
from enrollment.capture import decode_image
from enrollment.dedup import FusedMatch, fused_candidates
from enrollment.documents import DocumentEvidence, audit_summary, store_documents
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
from enrollment.idempotency import Replay, request_digest
from enrollment.quality import AcceptedFace, QualityIssue, assess
from enrollment.runtime import EnrolmentServices
from enrollment.schemas import Demographics
from enrollment.templates import photo_aad, seal_descriptor
from enrollment.uin import generate_uin
from models import (
    CaseCandidate,
    DedupCase,
    Enrolment,
    EnrolmentStatus,
    FaceTemplate,
    FingerTemplate,
    Identity,
    Photo,
    utcnow,
)
from models.db import dedup_section


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
) -> Enrolment:
    """Enrol one person; return the stored enrolment (issued, pending_adjudication or rejected).

    ``fingers`` are scanned images by position, ``finger_record`` an ISO/IEC 19794-2 record from another
    system, ``finger_exceptions`` the fingers that could not be taken and why, ``documents`` the identity
    documents the officer examined (stored, number sealed, with an accepted enrolment; not with a rejected one).
    ``watch`` collects seconds per stage (decode, detect, landmarks, encode, fingers, search, commit)."""
    settings = services.settings
    if not photos:
        raise InvalidInput("at least one face photo is required")
    if len(photos) > settings.max_photos_per_enrolment:
        raise InvalidInput(
            f"at most {settings.max_photos_per_enrolment} photos per enrolment",
            code="too_many_photos",
            params={"limit": settings.max_photos_per_enrolment},
        )
    fingers, finger_exceptions = list(fingers or []), list(finger_exceptions or [])
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
                demographics, [p.data for p in photos], fingers, finger_exceptions, finger_record, list(documents or [])
            ),
        )
        with services.sessions() as session:
            previous = key.previous(session, actor)
        if previous is not None:
            return previous

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
        reports, extracted, sorted(finger_reports, key=lambda r: r.position), accepted_fingers, list(documents or [])
    )
    public_id = str(uuid.uuid4())
    if issues:
        return _store_rejected(services, actor, demographics, public_id, captured, issues, key)
    return _store_accepted(services, actor, demographics, public_id, captured, key, watch)


@dataclass(frozen=True)
class Captured:
    """Everything taken from the person at the desk, after the quality gates."""

    face_reports: list[dict]
    faces: list[ExtractedFace]
    finger_reports: list[FingerReport]
    fingers: list[AcceptedFinger]
    documents: list[DocumentEvidence]

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


def _store_rejected(
    services: EnrolmentServices,
    actor: Actor,
    demographics: Demographics,
    public_id: str,
    captured: Captured,
    issues: list[QualityIssue],
    key: Replay | None,
) -> Enrolment:
    reasons = [{"code": i.code, "message": i.message} for i in issues]
    # The dedup lock orders this with an accepted or rejected enrolment under the same key (see enrol()).
    with services.sessions() as session, dedup_section(session):
        previous = key.previous(session, actor) if key else None
        if previous is not None:
            return previous
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
        except IntegrityError as exc:
            session.rollback()
            if key is None:
                raise
            return key.stored_meanwhile(services, actor, exc)
    return enrolment


def _store_accepted(
    services: EnrolmentServices,
    actor: Actor,
    demographics: Demographics,
    public_id: str,
    captured: Captured,
    key: Replay | None,
    watch: Stopwatch,
) -> Enrolment:
    faces = captured.faces
    vectors = np.stack([f.descriptor for f in faces])
    with services.sessions() as session, dedup_section(session):
        # Again under the lock: the same key sent twice at once passed the first look-up both times.
        previous = key.previous(session, actor) if key else None
        if previous is not None:
            return previous
        with watch.stage("search"):
            services.gallery.catch_up(session)
            services.fingers.catch_up(session)
            matches = fused_candidates(session, services, vectors, captured.fingers, services.settings.dedup)
        commit_started = time.perf_counter()
        try:
            enrolment, rows, finger_rows = _write_accepted(
                services, session, actor, demographics, public_id, captured, key, matches
            )
            session.commit()
        except IntegrityError as exc:  # raised at a flush or at the commit
            session.rollback()
            if key is None:
                raise
            return key.stored_meanwhile(services, actor, exc)
        # Committed: now (and only now) the templates enter the in-memory gallery.
        services.gallery.added([row.id for row in rows], vectors)
        services.fingers.added(finger_rows, public_id)
        watch.seconds["commit"] = watch.seconds.get("commit", 0.0) + time.perf_counter() - commit_started
    return enrolment


def _write_accepted(
    services: EnrolmentServices,
    session: Session,
    actor: Actor,
    demographics: Demographics,
    public_id: str,
    captured: Captured,
    key: Replay | None,
    matches: list[FusedMatch],
) -> tuple[Enrolment, list[FaceTemplate], list[FingerTemplate]]:
    """Write the enrolment, its templates and documents, then a UIN or a case, and its audit event (not committed)."""
    faces = captured.faces
    status = EnrolmentStatus.PENDING if matches else EnrolmentStatus.ISSUED
    enrolment = _new_enrolment(actor, demographics, public_id, status, captured, key)
    enrolment.dedup_modalities = captured.modalities
    session.add(enrolment)
    session.flush()
    rows = _store_templates(services, session, enrolment, faces)
    finger_rows = _store_fingers(services, session, enrolment, captured.fingers)
    store_documents(services.keyring, session, enrolment, captured.documents, actor.id)
    documents = {"documents": audit_summary(captured.documents)} if captured.documents else {}
    if matches:
        case = _open_case(session, enrolment, matches)
        audit.record(
            session,
            actor,
            "enrolment.case_opened",
            "enrolment",
            public_id,
            case=case.public_id,
            modalities=captured.modalities,
            candidates=[
                {
                    "enrolment": m.enrolment.public_id,
                    # None only for a candidate found without a face probe (enrolments always carry one).
                    "face_score": round(m.face_score, 4) if m.face_score is not None else None,
                    "fused_llr": round(m.fused.llr, 3),
                }
                for m in matches
            ],
            **documents,
        )
    else:
        identity = issue_identity(session, enrolment)
        audit.record(
            session,
            actor,
            "enrolment.issued",
            "enrolment",
            public_id,
            uin=identity.uin,
            photos=len(faces),
            fingers=[f.position for f in captured.fingers],
            modalities=captured.modalities,
            **documents,
        )
    return enrolment, rows, finger_rows


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
    rows = []
    for finger in fingers:
        record, features = seal_finger(services.keyring, finger, enrolment.public_id)
        rows.append(
            FingerTemplate(
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
        )
        assert features.key_id == record.key_id  # one key per row; sealed back to back under the active key
    session.add_all(rows)
    session.flush()
    return rows


def _open_case(session: Session, enrolment: Enrolment, matches: list[FusedMatch]) -> DedupCase:
    case = DedupCase(public_id=str(uuid.uuid4()), enrolment_id=enrolment.id)
    session.add(case)
    session.flush()
    for rank, match in enumerate(matches, start=1):
        session.add(
            CaseCandidate(
                case_id=case.id,
                rank=rank,
                enrolment_id=match.enrolment.id,
                face_score=match.face_score,
                fused_llr=match.fused.llr,
                finger_scores={str(p): round(v, 4) for p, v in match.fused.finger_scores.items()},
            )
        )
    session.flush()
    return case


def issue_identity(session: Session, enrolment: Enrolment) -> Identity:
    """Create the identity with a fresh UIN (retrying the rare random collision) and attach the enrolment."""
    for _ in range(20):
        uin = generate_uin()
        if session.scalar(select(Identity.id).where(Identity.uin == uin)) is None:
            break
    else:  # pragma: no cover - 20 collisions in a 9-digit space means a broken random source
        raise RuntimeError("could not draw an unused UIN")
    identity = Identity(uin=uin)
    session.add(identity)
    session.flush()
    enrolment.identity_id = identity.id
    enrolment.status = EnrolmentStatus.ISSUED
    enrolment.decided_at = utcnow()
    return identity


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
    )
