"""Quality feedback for the officer, at the desk and in their language: the same gates the enrolment runs
(``enrollment.quality.assess`` for a face, ``enrollment.fingerprint.assess_finger`` for a finger), run on one
capture before the form is sent, so a bad photo is retaken while the person is still in the chair.

Each reason is rebuilt from its stable code and the measurements, so it reads the same in English and
Spanish; the stored reports of an enrolment are explained the same way on its outcome page.
"""

from __future__ import annotations

from typing import Any

from civid.errors import (
    CividError,
    InvalidImage,
    NotAFingerprint,
    PayloadTooLarge,
    UnfitFingerprintRecord,
    UnsupportedMediaType,
)
from civid.settings import Settings
from civid.web import i18n
from console.common.error_text import coded_text
from enrollment.capture import decode_image
from enrollment.fingerprint import FingerUpload, assess_finger
from enrollment.quality import assess
from enrollment.runtime import EnrolmentServices


def _number(value: object) -> str:
    return f"{abs(float(value)):.0f}" if isinstance(value, (int, float)) else "?"


def face_issue_text(code: str, report: dict[str, Any], settings: Settings, lang: str) -> str:
    """One face quality reason in ``lang``, with the measured value and the limit."""
    pose = report.get("pose") or {}
    values: dict[str, object] | None = {
        "no_face": {},
        "multiple_faces": {"count": report.get("faces_found", "?")},
        "face_too_small": {"value": _number(report.get("inter_eye_px")), "limit": _number(settings.min_inter_eye_px)},
        "blurred": {"value": _number(report.get("sharpness")), "limit": _number(settings.min_sharpness)},
        "pose_yaw": {"value": _number(pose.get("yaw")), "limit": _number(settings.max_yaw_deg)},
        "pose_pitch": {"value": _number(pose.get("pitch")), "limit": _number(settings.max_pitch_deg)},
        "pose_roll": {"value": _number(pose.get("roll")), "limit": _number(settings.max_roll_deg)},
        "photos_not_same_person": {},
    }.get(code)
    if values is None:
        return code
    return i18n.translate(f"console.quality.{code}", lang, **values)


def finger_issue_text(code: str, report: dict[str, Any], settings: Settings, lang: str) -> str:
    """One finger quality reason in ``lang`` (NFIQ 2 score or minutiae count against the limit)."""
    values = {
        "finger_low_quality": {"value": report.get("nfiq2", "?"), "limit": settings.finger_min_nfiq2},
        "finger_too_few_minutiae": {"value": report.get("minutiae", "?"), "limit": settings.finger_min_minutiae},
        "nfiq2_unavailable": {},
        "finger_position_unknown": {},
    }.get(code)
    if values is None:
        return code
    return i18n.translate(f"console.quality.{code}", lang, **values)


def finger_name(position: int, lang: str) -> str:
    return i18n.translate(f"console.finger.{position}", lang)


# A file that could not be assessed, by its problem type (``CividError.type_slug``): what to tell the officer.
FILE_ERRORS = {
    PayloadTooLarge.type_slug: "console.quality.too_large",
    UnsupportedMediaType.type_slug: "console.quality.unsupported",
    InvalidImage.type_slug: "console.quality.unreadable",
    NotAFingerprint.type_slug: "console.quality.not_a_fingerprint",
    UnfitFingerprintRecord.type_slug: "console.quality.unfit_record",
}


def file_error_text(type_slug: str, code: str | None, params: dict[str, Any], lang: str) -> str | None:
    """A file error in ``lang``: by its finer code when the catalogue knows it (``console.quality.file.<code>``),
    else by its problem type; None when it is not an error about a file."""
    generic = FILE_ERRORS.get(type_slug)
    if generic is None:
        return None
    return coded_text("console.quality.file", code, params, lang, i18n.translate(generic, lang))


def error_text(exc: CividError, lang: str) -> str:
    """What to tell the officer about a file that could not be assessed at all."""
    return file_error_text(exc.type_slug, exc.code, exc.params, lang) or exc.detail


def file_label(params: dict[str, Any], photo: str | None, lang: str) -> str | None:
    """The file an error is about, as the officer knows it: the finger (in ``lang``) and its file name, or the
    photo's file name."""
    finger = params.get("finger")
    if isinstance(finger, int) and 1 <= finger <= 10:
        return f"{finger_name(finger, lang)} ({params.get('file') or '?'})"
    return photo


def named_error_text(exc: CividError, lang: str) -> str:
    """``error_text`` after the name of the file it is about (the English sentence, which names it, if unknown)."""
    text = file_error_text(exc.type_slug, exc.code, exc.params, lang)
    if text is None:
        return exc.detail
    label = file_label(exc.params, exc.extra.get("photo"), lang)
    return f"{label}: {text}" if label else text


def face(
    services: EnrolmentServices, data: bytes, filename: str, content_type: str | None, lang: str
) -> dict[str, Any]:
    """Decode and gate one face photo; the measurements and the reasons (raises CividError on a bad file)."""
    settings = services.settings
    image = decode_image(
        data,
        filename=filename,
        content_type=content_type,
        max_bytes=settings.max_upload_bytes,
        max_pixels=settings.max_image_pixels,
        min_side=settings.min_image_side,
    )
    report = assess(services.faces, image, settings.face_gate).report.to_dict()
    issues = [
        {"code": issue["code"], "message": face_issue_text(issue["code"], report, settings, lang)}
        for issue in report["issues"]
    ]
    summary_key = "console.quality.face_ok" if report["passed"] else "console.quality.face_refused"
    summary = i18n.translate(summary_key, lang)
    return {
        **report,
        "issues": issues,
        "summary": summary,
        "limits": {
            "min_inter_eye_px": settings.min_inter_eye_px,
            "min_sharpness": settings.min_sharpness,
            "max_yaw_deg": settings.max_yaw_deg,
            "max_pitch_deg": settings.max_pitch_deg,
            "max_roll_deg": settings.max_roll_deg,
        },
    }


def finger(
    services: EnrolmentServices, position: int, data: bytes, filename: str, content_type: str | None, lang: str
) -> dict[str, Any]:
    """Decode, extract and gate one finger image: its NFIQ 2 score, minutiae and reasons."""
    settings = services.settings
    limits = {"min_nfiq2": settings.finger_min_nfiq2, "min_minutiae": settings.finger_min_minutiae}
    try:
        accepted, report = assess_finger(FingerUpload(position, data, filename, content_type), settings.finger_quality)
    except NotAFingerprint as exc:
        # A readable image that is no fingerprint: an answer the officer acts on (scan the finger), not a bad file.
        return {
            "position": position,
            "finger": finger_name(position, lang),
            "passed": False,
            "nfiq2": None,
            "minutiae": None,
            "issues": [{"code": exc.code, "message": error_text(exc, lang)}],
            "summary": i18n.translate("console.quality.finger_refused", lang, finger=finger_name(position, lang)),
            "limits": limits,
        }
    details = report.to_dict()
    issues = [
        {"code": issue["code"], "message": finger_issue_text(issue["code"], details, settings, lang)}
        for issue in report.issues
    ]
    summary_key = "console.quality.finger_ok" if accepted else "console.quality.finger_refused"
    summary = i18n.translate(summary_key, lang, finger=finger_name(position, lang))
    return {
        "position": position,
        "finger": finger_name(position, lang),
        "passed": accepted is not None,
        "nfiq2": report.nfiq2,
        "minutiae": report.minutiae,
        "issues": issues,
        "summary": summary,
        "limits": limits,
    }


def explain_enrolment(
    rejection_reasons: list[dict[str, Any]],
    quality: list[dict[str, Any]],
    fingerprints: list[dict[str, Any]],
    settings: Settings,
    lang: str,
) -> list[str]:
    """The reasons a stored enrolment was refused, in ``lang``, rebuilt from its per-photo and per-finger reports
    (and, for the reason that concerns the photos together, from the enrolment's own list)."""
    reasons = [
        face_issue_text(r["code"], {}, settings, lang)
        for r in rejection_reasons
        if r.get("code") == "photos_not_same_person"
    ]
    for index, report in enumerate(quality, start=1):
        for issue in report.get("issues", []):
            reasons.append(
                i18n.translate("console.quality.photo_n", lang, n=index)
                + ": "
                + face_issue_text(issue["code"], report, settings, lang)
            )
    for report in fingerprints:
        for issue in report.get("issues", []):
            reasons.append(
                finger_name(int(report["position"]), lang)
                + ": "
                + finger_issue_text(issue["code"], report, settings, lang)
            )
    return reasons
