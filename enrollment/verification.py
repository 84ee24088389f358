"""1:1 verification (is this the person holding UIN x?) and 1:N identification (who is this?)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from civid import audit
from civid.audit import Actor
from civid.errors import InvalidInput, NotFound
from civid.services import Services
from enrollment.capture import decode_image
from enrollment.dedup import Match, candidates_for
from enrollment.quality import QualityReport, assess
from enrollment.templates import open_descriptor
from enrollment.uin import normalise_uin
from enrollment.workflow import PhotoUpload
from models import Enrolment, EnrolmentStatus, FaceTemplate, Identity


@dataclass(frozen=True)
class Verification:
    uin: str
    match: bool
    score: float
    threshold: float
    quality: QualityReport


@dataclass(frozen=True)
class Identification:
    candidates: list[Match]
    threshold: float
    gallery_size: int
    quality: QualityReport


def probe_descriptor(services: Services, photo: PhotoUpload) -> tuple[NDArray[np.float32], QualityReport]:
    """Decode, quality-check and encode a probe photo; a photo that fails the gate is a 422."""
    s = services.settings
    image = decode_image(photo.data, filename=photo.filename, content_type=photo.content_type,
                         max_bytes=s.max_upload_bytes, max_pixels=s.max_image_pixels, min_side=s.min_image_side)
    result = assess(services.faces, image, s)
    if result.face is None:
        raise InvalidInput("the photo failed the quality check: " + "; ".join(i.message for i in result.report.issues),
                           quality=result.report.to_dict())
    return services.faces.encode(image.rgb, result.face.landmarks), result.report


def verify(services: Services, actor: Actor, uin_text: str, photo: PhotoUpload) -> Verification:
    """Compare a photo with every template of one identity; match when the best score passes."""
    uin = normalise_uin(uin_text)
    with services.sessions() as session:
        identity = session.scalars(select(Identity).where(Identity.uin == uin)).first()
        if identity is None:
            raise NotFound(f"no identity with UIN {uin}")
        vector, report = probe_descriptor(services, photo)
        rows = session.execute(
            select(FaceTemplate, Enrolment.public_id).join(Enrolment)
            .where(Enrolment.identity_id == identity.id,
                   Enrolment.status.in_((EnrolmentStatus.ISSUED, EnrolmentStatus.DUPLICATE)))
        ).all()
        if not rows:
            raise NotFound(f"identity {uin} has no face template")
        enrolled = np.stack([open_descriptor(services.keyring, row, public_id) for row, public_id in rows])
        score = float((enrolled @ vector).max())
        threshold = services.settings.verify_threshold
        result = Verification(uin, score >= threshold, score, threshold, report)
    with services.sessions.begin() as session:
        audit.record(session, actor, "biometric.verify", "identity", uin, match=result.match, score=round(score, 4))
    return result


def identify(services: Services, actor: Actor, photo: PhotoUpload, max_candidates: int) -> Identification:
    """Search the whole gallery; return issued identities scoring at or above the identify threshold."""
    if not 1 <= max_candidates <= 50:
        raise InvalidInput("max_candidates must be between 1 and 50")
    vector, report = probe_descriptor(services, photo)
    threshold = services.settings.identify_threshold
    with services.sessions() as session:
        services.gallery.catch_up(session)
        matches = candidates_for(session, services.gallery.gallery, vector[None, :], threshold, max_candidates,
                                 statuses=(EnrolmentStatus.ISSUED,))
        for match in matches:
            _ = match.enrolment.identity  # load while the session is open
    with services.sessions.begin() as session:
        audit.record(session, actor, "biometric.identify", "gallery", "face", candidates=len(matches),
                     uins=[m.enrolment.identity.uin for m in matches if m.enrolment.identity])
    return Identification(matches, threshold, len(services.gallery.gallery), report)
