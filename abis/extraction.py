"""From a CBEFF's biometric records to civid templates, through enrollment's own extractors and quality gates.

Face images (BDB format 8, ISO/IEC 19794-5) go through the face gate (one face, eye distance, blur, pose) and
dlib's encoder; finger images (format 7, 19794-4) through the finger gate, MINDTCT and NFIQ 2; finger minutiae
(format 2, 19794-2:2005 as civid reads it) are imported as they are, except a record civid refuses as unfit for
matching (``enrollment.finger_fitness``), which is left out like a failed sample. Iris and other modalities are skipped:
civid has no iris matcher. A reference whose every usable sample fails its gate is refused with MOSIP's reason
18 (quality check failed); one with no face or finger sample at all with reason 11 (CBEFF has no data).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from abis import cbeff, iso_images
from abis.messages import AbisFailure, FailureReason
from abis.references import ReferenceTemplates
from civid.errors import CividError, UnfitFingerprintRecord
from civid.settings import Settings
from enrollment.capture import CapturedImage
from enrollment.face import FaceEngine
from enrollment.fingerprint import PPI, FingerUpload, assess_finger, import_records
from enrollment.quality import assess


@dataclass
class Extraction:
    """The templates taken from one CBEFF, and why any sample was left out (for the audit trail)."""

    templates: ReferenceTemplates = field(default_factory=ReferenceTemplates)
    rejected: list[str] = field(default_factory=list)


def extract(records: list[cbeff.BiometricRecord], engine: FaceEngine, settings: Settings) -> Extraction:
    """The reference's templates and what was left out; AbisFailure 11, 16 or 18 when it has none civid can use."""
    extraction = Extraction()
    usable = 0
    for record in records:
        if record.modality.lower() == "face" and record.format_type == cbeff.FORMAT_FACE_IMAGE:
            usable += 1
            _face(record, engine, settings, extraction)
        elif record.modality.lower() == "finger" and record.format_type == cbeff.FORMAT_FINGER_IMAGE:
            usable += 1
            _finger_image(record, settings, extraction)
        elif record.modality.lower() == "finger" and record.format_type == cbeff.FORMAT_FINGER_MINUTIAE:
            usable += 1
            _finger_minutiae(record, settings, extraction)
    if usable == 0:
        raise AbisFailure(FailureReason.CBEFF_HAS_NO_DATA, "the CBEFF holds no face or finger sample civid can read")
    if extraction.templates.empty:
        raise AbisFailure(
            FailureReason.QUALITY_CHECK_FAILED, "no sample passed its quality gate: " + "; ".join(extraction.rejected)
        )
    return extraction


def _face(record: cbeff.BiometricRecord, engine: FaceEngine, settings: Settings, extraction: Extraction) -> None:
    rgb = iso_images.decode_face(record.data, settings.max_image_pixels)
    image = CapturedImage(rgb=rgb, format="ISO/IEC 19794-5", filename="face")
    result = assess(engine, image, settings.face_gate)
    if result.face is None:
        extraction.rejected.append("face: " + ", ".join(issue.code for issue in result.report.issues))
        return
    extraction.templates.faces.append(engine.encode(rgb, result.face.landmarks))


def _finger_image(record: cbeff.BiometricRecord, settings: Settings, extraction: Extraction) -> None:
    image = iso_images.decode_finger(record.data, settings.finger_max_pixels)
    position = record.finger_position or image.position
    if not 1 <= position <= 10 or position in extraction.templates.fingers:
        extraction.rejected.append(f"finger {record.subtype!r}: no finger position, or a second image of one")
        return
    gray = image.gray
    if image.ppi and abs(image.ppi - PPI) > settings.finger_ppi_tolerance:
        # MINDTCT and the MCC parameters assume 500 ppi: bring a 1000 ppi scan (or any other) to it.
        scale = PPI / image.ppi
        gray = np.asarray(cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8)
    ok, png = cv2.imencode(".png", np.ascontiguousarray(gray))
    if not ok:
        raise AbisFailure(FailureReason.INVALID_CBEFF, f"finger {position}: the image cannot be re-encoded")
    upload = FingerUpload(position, png.tobytes(), f"finger-{position}", "image/png")
    try:
        accepted, report = assess_finger(upload, settings.finger_quality)
    except CividError as exc:  # not a fingerprint at all, or an image the gate cannot read
        extraction.rejected.append(f"finger {position}: {exc}")
        return
    if accepted is None:
        extraction.rejected.append(f"finger {position}: " + ", ".join(i["code"] for i in report.issues))
        return
    extraction.templates.fingers[position] = accepted


def _finger_minutiae(record: cbeff.BiometricRecord, settings: Settings, extraction: Extraction) -> None:
    try:
        accepted, reports = import_records(record.data, settings.finger_quality)
    except UnfitFingerprintRecord as exc:
        # Well formed, but its coordinates do not fit a 500 ppi fingertip (enrollment.finger_fitness): at a desk the
        # officer rescans; MOSIP's packet has no one to, so the record is one sample left out, as a failed image is.
        for finger in exc.extra.get("fingers", []):
            codes = ", ".join(reason["code"] for reason in finger["reasons"])
            extraction.rejected.append(f"finger {finger['position']}: {codes}")
        return
    except CividError as exc:
        raise AbisFailure(FailureReason.INVALID_CBEFF, f"finger minutiae record: {exc}") from exc
    for report in reports:
        if report.issues:
            extraction.rejected.append(f"finger {report.position}: " + ", ".join(i["code"] for i in report.issues))
    for finger in accepted:
        extraction.templates.fingers.setdefault(record.finger_position or finger.position, finger)
