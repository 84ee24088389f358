"""1:1 verification (is this the person holding UIN x?) and 1:N identification (who is this?)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit, auth_method_locks, vid
from civid.audit import Actor
from civid.errors import InvalidInput, NotFound
from civid.uin import normalise_uin
from enrollment.capture import decode_image
from enrollment.dedup import FusedMatch, Match, candidates_for, finger_scores_against, fused_candidates
from enrollment.fingerprint import AcceptedFinger, FingerReport, FingerUpload, assess_finger, matching_features
from enrollment.quality import QualityReport, assess
from enrollment.record import issuing_enrolment
from enrollment.runtime import EnrolmentServices
from enrollment.templates import open_descriptor
from enrollment.workflow import PhotoUpload
from models import Enrolment, EnrolmentStatus, FaceTemplate, Identity


@dataclass(frozen=True)
class FaceVerification:
    match: bool
    score: float
    threshold: float
    quality: QualityReport


@dataclass(frozen=True)
class FingerVerification:
    position: int
    match: bool
    score: float  # MCC similarity 0-1
    threshold: float
    llr: float  # log10 likelihood ratio of the score (matcher/fusion.py calibration)
    report: FingerReport


@dataclass(frozen=True)
class Verification:
    uin: str  # the number as presented: the UIN, or the VID (a VID's holder never learns the UIN from it)
    match: bool
    face: FaceVerification | None
    fingers: list[FingerVerification]
    fused_llr: float


@dataclass(frozen=True)
class Identification:
    candidates: list[Match]
    threshold: float
    gallery_size: int
    quality: QualityReport


@dataclass(frozen=True)
class FusedIdentification:
    candidates: list[FusedMatch]
    threshold: float  # on the fused LLR
    quality: QualityReport | None
    fingers: list[FingerReport]


def probe_descriptor(services: EnrolmentServices, photo: PhotoUpload) -> tuple[NDArray[np.float32], QualityReport]:
    """Decode, quality-check and encode a probe photo; a photo that fails the gate is a 422."""
    s = services.settings
    image = decode_image(
        photo.data,
        filename=photo.filename,
        content_type=photo.content_type,
        max_bytes=s.max_upload_bytes,
        max_pixels=s.max_image_pixels,
        min_side=s.min_image_side,
    )
    result = assess(services.faces, image, s.face_gate)
    if result.face is None:
        raise InvalidInput(
            "the photo failed the quality check: " + "; ".join(i.message for i in result.report.issues),
            quality=result.report.to_dict(),
        )
    return services.faces.encode(image.rgb, result.face.landmarks), result.report


def probe_fingers(
    services: EnrolmentServices, uploads: list[FingerUpload]
) -> tuple[list[AcceptedFinger], list[FingerReport]]:
    """Gate probe fingers like enrolment ones; a finger that fails is a 422 naming it and why."""
    positions = [u.position for u in uploads]
    if len(set(positions)) != len(positions) or not all(1 <= p <= 10 for p in positions):
        raise InvalidInput("each probe finger needs a distinct position 1-10")
    accepted, reports = [], []
    for upload in uploads:
        finger, report = assess_finger(upload, services.settings.finger_quality)
        if finger is None:
            raise InvalidInput(
                f"finger {upload.position} failed the quality check: " + "; ".join(i["message"] for i in report.issues),
                finger=report.to_dict(),
            )
        accepted.append(finger)
        reports.append(report)
    return accepted, reports


def verify(
    services: EnrolmentServices,
    actor: Actor,
    uin_text: str,
    photo: PhotoUpload | None,
    fingers: list[FingerUpload] | None = None,
) -> Verification:
    """Compare a photo and/or fingers with one identity's templates. Every modality presented must match,
    and the modalities in ``verify_required_modalities`` must be presented."""
    fingers = list(fingers or [])
    presented = {"face"} if photo is not None else set()
    presented |= {"finger"} if fingers else set()
    if not presented:
        raise InvalidInput("present a face photo, a fingerprint, or both")
    missing = set(services.settings.verify_required_modalities) - presented
    if missing:
        raise InvalidInput(f"this service's verification policy requires: {', '.join(sorted(missing))}")
    with services.sessions.begin() as session:  # committed first: presenting a temporary VID spends it
        presented_as = vid.resolve(session, services.settings, uin_text)
        if presented_as is None:
            raise NotFound(f"no identity with UIN {normalise_uin(uin_text)}")
        identity_id, uin, shown = presented_as.identity.id, presented_as.identity.uin, presented_as.shown
    with services.sessions() as session:
        identity = session.get(Identity, identity_id)
        assert identity is not None  # noqa: S101 - just found
        try:
            auth_method_locks.refuse_if_locked(session, identity, auth_method_locks.OFFICER_VERIFICATION)
        except auth_method_locks.MethodLocked as refusal:
            with services.sessions.begin() as audited:
                auth_method_locks.record_refusal(audited, actor, refusal)
            raise
        # Compared with the record's biometrics only: an application decided a duplicate is an attempt
        # against the identity (enrollment.record), and its face or fingers must not start to verify for it.
        record = issuing_enrolment(session, identity.id)
        enrolments = [record] if record is not None else []
        face = _verify_face(services, session, shown, enrolments, photo) if photo is not None else None
        finger_results = _verify_fingers(services, session, shown, enrolments, fingers) if fingers else []
    fused = services.fusion.fuse(face.score if face else None, {f.position: f.score for f in finger_results})
    match = (face is None or face.match) and all(f.match for f in finger_results)
    result = Verification(shown, match, face, finger_results, fused.llr)
    with services.sessions.begin() as session:
        audit.record(
            session,
            actor,
            "biometric.verify",
            "identity",
            uin,
            match=match,
            modalities=sorted(presented),
            face_score=round(face.score, 4) if face else None,
            finger_scores={f.position: round(f.score, 4) for f in finger_results},
            via_vid=presented_as.via_vid,
        )
    return result


def _verify_face(
    services: EnrolmentServices, session: Session, uin: str, enrolments: list[Enrolment], photo: PhotoUpload
) -> FaceVerification:
    vector, report = probe_descriptor(services, photo)
    rows = [
        (row, e.public_id)
        for e in enrolments
        # The faces in force: one replaced by a biometric update (enrollment.biometric_update) no longer verifies.
        for row in session.scalars(
            select(FaceTemplate).where(FaceTemplate.enrolment_id == e.id, FaceTemplate.in_gallery)
        )
    ]
    if not rows:
        raise NotFound(f"identity {uin} has no face template")
    enrolled = np.stack([open_descriptor(services.keyring, row, public_id) for row, public_id in rows])
    score = float((enrolled @ vector).max())
    threshold = services.settings.verify_threshold
    return FaceVerification(score >= threshold, score, threshold, report)


def _verify_fingers(
    services: EnrolmentServices, session: Session, uin: str, enrolments: list[Enrolment], uploads: list[FingerUpload]
) -> list[FingerVerification]:
    accepted, reports = probe_fingers(services, uploads)
    probes = {finger.position: matching_features(finger.view) for finger in accepted}
    best: dict[int, float] = {}
    for enrolment in enrolments:
        for position, score in finger_scores_against(services, session, enrolment, probes).items():
            best[position] = max(best.get(position, 0.0), score)
    absent = sorted(set(probes) - set(best))
    if absent:
        raise NotFound(f"identity {uin} has no enrolled finger at position {', '.join(map(str, absent))}")
    threshold = services.settings.finger_verify_threshold
    return [
        FingerVerification(
            f.position,
            best[f.position] >= threshold,
            best[f.position],
            threshold,
            services.fusion.finger_llr(best[f.position]),
            report,
        )
        for f, report in zip(accepted, reports)
    ]


def identify_fused(
    services: EnrolmentServices,
    actor: Actor,
    photo: PhotoUpload | None,
    fingers: list[FingerUpload],
    max_candidates: int,
) -> FusedIdentification:
    """1:N with fingers (and optionally a face): index shortlists, 1:1 re-ranking, fused LLR threshold."""
    if not 1 <= max_candidates <= 50:
        raise InvalidInput("max_candidates must be between 1 and 50")
    vector, report = probe_descriptor(services, photo) if photo is not None else (None, None)
    accepted, reports = probe_fingers(services, fingers)
    thresholds = replace(services.settings.dedup, max_candidates=max_candidates)
    threshold = thresholds.llr_threshold
    with services.sessions() as session:
        services.gallery.catch_up(session)
        services.fingers.catch_up(session)
        matches = fused_candidates(
            session,
            services,
            None if vector is None else vector[None, :],
            accepted,
            thresholds,
            statuses=(EnrolmentStatus.ISSUED,),
        )
        for match in matches:
            _ = match.enrolment.identity
    with services.sessions.begin() as session:
        audit.record(
            session,
            actor,
            "biometric.identify",
            "gallery",
            "face+finger" if photo else "finger",
            candidates=len(matches),
            uins=[m.enrolment.identity.uin for m in matches if m.enrolment.identity],
        )
    return FusedIdentification(matches, threshold, report, reports)


def identify(services: EnrolmentServices, actor: Actor, photo: PhotoUpload, max_candidates: int) -> Identification:
    """Search the whole gallery; return issued identities scoring at or above the identify threshold."""
    if not 1 <= max_candidates <= 50:
        raise InvalidInput("max_candidates must be between 1 and 50")
    vector, report = probe_descriptor(services, photo)
    threshold = services.settings.identify_threshold
    with services.sessions() as session:
        services.gallery.catch_up(session)
        matches = candidates_for(
            session, services.gallery, vector[None, :], threshold, max_candidates, statuses=(EnrolmentStatus.ISSUED,)
        )
        for match in matches:
            _ = match.enrolment.identity  # load while the session is open
    with services.sessions.begin() as session:
        audit.record(
            session,
            actor,
            "biometric.identify",
            "gallery",
            "face",
            candidates=len(matches),
            uins=[m.enrolment.identity.uin for m in matches if m.enrolment.identity],
        )
    return Identification(matches, threshold, len(services.gallery), report)
