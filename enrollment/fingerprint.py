"""Fingerprints at enrolment: decode a 500 ppi grey image, the finger gate (is it a fingerprint at all?),
extract minutiae (``matcher.extraction``, by ``settings.finger_extractor``), NFIQ 2 gate, ISO
records.

A finger arrives either as an image the officer scanned (PNG, TIFF or BMP, 8-bit grey, 500 ppi) or as
an ISO/IEC 19794-2:2005 record made by another system (a legacy AFIS, another vendor's extractor).
Either way what is stored is the finger's ISO record — the interoperable template — sealed with the
template key, plus its MCC indexing cylinders (derived, sealed too) so the index rebuilds quickly.
A finger that cannot be given is recorded with the officer's reason, never silently skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from civid.errors import CividError, InvalidImage, InvalidInput, NotAFingerprint
from civid.keyring import KeyRing, Sealed
from civid.settings_groups import FingerQualityParams
from enrollment.capture import open_checked
from enrollment.finger_fitness import check_record
from enrollment.matcher_problems import matcher_problems
from matcher import extraction, finger_gate, iso19794, mcc
from matcher.iso19794 import FingerprintRecord, FingerView

ACCEPTED_CONTENT_TYPES = {
    "image/png": "PNG",
    "image/tiff": "TIFF",
    "image/tif": "TIFF",
    "image/bmp": "BMP",
    "image/x-ms-bmp": "BMP",
}
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"BM", "BMP"))
PPI = 500
PIXELS_PER_CM = 197  # 500 ppi, as ISO/IEC 19794-2 records it
# Why an officer could not take a finger (an enrolment case every national programme meets).
EXCEPTION_REASONS = ("amputated", "bandaged", "scarred", "missing_at_birth", "unable_to_capture")
RECORD_FORMAT = b"civid/finger-record/iso19794-2-2005"
FEATURES_FORMAT = b"civid/finger-mcc-index/v1"


@dataclass(frozen=True)
class FingerUpload:
    """One scanned finger image as received, labelled by its ISO finger position (1-10)."""

    position: int
    data: bytes
    filename: str
    content_type: str | None


@dataclass(frozen=True)
class FingerException:
    """A finger the officer could not capture, and why."""

    position: int
    reason: str
    note: str | None = None


@dataclass(frozen=True)
class AcceptedFinger:
    """A finger that passed the gate: its minutiae as an ISO finger view, and the image size they refer to."""

    view: FingerView
    width: int
    height: int
    source: str  # models.FingerSource
    nfiq2: int | None

    @property
    def position(self) -> int:
        return self.view.position


@dataclass(frozen=True)
class FingerReport:
    """What the officer sees per finger: accepted or not, and why."""

    position: int
    status: str  # captured | imported | rejected | excepted
    filename: str | None = None
    nfiq2: int | None = None
    minutiae: int | None = None
    issues: list[dict[str, str]] = field(default_factory=list)
    reason: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {
            "position": self.position,
            "finger": iso19794.FINGER_POSITIONS.get(self.position, "unknown"),
            "status": self.status,
            "filename": self.filename,
            "nfiq2": self.nfiq2,
            "minutiae": self.minutiae,
            "issues": self.issues,
            "reason": self.reason,
            "note": self.note,
        }
        return {k: v for k, v in data.items() if v is not None}


def check_positions(uploads: list[FingerUpload], exceptions: list[FingerException], imported: list[int]) -> None:
    """Each finger position (1-10) at most once across images, imported records and exceptions."""
    seen: dict[int, str] = {}
    entries = (
        [(u.position, "image") for u in uploads]
        + [(p, "imported record") for p in imported]
        + [(e.position, "exception") for e in exceptions]
    )
    for position, kind in entries:
        if not 1 <= position <= 10:
            raise InvalidInput(f"finger position {position} is not an ISO/IEC 19794-2 finger code 1-10")
        if position in seen:
            raise InvalidInput(
                f"finger position {position} ({iso19794.FINGER_POSITIONS[position]}) is given twice "
                f"(as {seen[position]} and as {kind})"
            )
        seen[position] = kind
    for exception in exceptions:
        if exception.reason not in EXCEPTION_REASONS:
            raise InvalidInput(
                f"finger {exception.position}: reason {exception.reason!r} is not one of {', '.join(EXCEPTION_REASONS)}"
            )


def decode_finger(upload: FingerUpload, limits: FingerQualityParams) -> NDArray[np.uint8]:
    """Check and decode one finger image to 8-bit grey; refuse one that states a resolution far from 500 ppi."""
    name = f"finger {upload.position} ({upload.filename})"
    which = {"finger": upload.position, "file": upload.filename}  # lets a page name the finger in its language
    try:
        image, fmt = open_checked(
            upload.data,
            filename=name,
            content_type=upload.content_type,
            accepted=ACCEPTED_CONTENT_TYPES,
            magic=_MAGIC,
            max_bytes=limits.max_upload_bytes,
            max_pixels=limits.max_pixels,
            min_side=limits.min_side,
        )
    except CividError as exc:
        exc.params.update(which)
        raise
    dpi = image.info.get("dpi")
    if dpi and dpi[0] and abs(float(dpi[0]) - PPI) > limits.ppi_tolerance and float(dpi[0]) > 72:
        # 72 is what many tools write when they know nothing; anything else is a real statement.
        raise InvalidImage(
            f"{name}: the file says {float(dpi[0]):.0f} ppi; finger images must be {PPI} ppi",
            photo=upload.filename,
            code="finger_ppi",
            params={"ppi": f"{float(dpi[0]):.0f}", "required": PPI, **which},
        )
    return _grey(image, name, upload.filename, which)


def _grey(image: Any, name: str, filename: str, which: dict[str, Any]) -> NDArray[np.uint8]:
    """The 8-bit grey pixels the README asks for. A colour or alpha file is taken only when it is grey in fact
    (R = G = B and opaque in every pixel, as some tools save a grey scan): converting real colour would
    silently invent the grey a scanner never measured. 16-bit grey is refused too (Pillow clips it to 8 bits)."""
    if image.mode in ("L", "1"):
        return np.ascontiguousarray(np.asarray(image.convert("L"), dtype=np.uint8))
    if image.mode not in ("P", "RGB", "RGBA", "LA", "PA"):
        raise InvalidImage(
            f"{name}: pixel mode {image.mode} is not accepted; finger images must be 8-bit grey",
            photo=filename,
            code="finger_pixel_mode",
            params={"mode": image.mode, **which},
        )
    rgba = np.asarray(image.convert("RGBA"), dtype=np.uint8)
    colour = (rgba[..., 0] != rgba[..., 1]) | (rgba[..., 1] != rgba[..., 2])
    if colour.any():
        share = f"{100.0 * float(colour.mean()):.1f}"
        raise InvalidImage(
            f"{name}: a colour image ({image.mode}, {share}% of the pixels not grey); finger images "
            "must be 8-bit grey scans",
            photo=filename,
            code="finger_colour",
            params={"mode": image.mode, "share": share, **which},
        )
    if (rgba[..., 3] != 255).any():
        raise InvalidImage(
            f"{name}: the image has transparent pixels; finger images must be 8-bit grey scans",
            photo=filename,
            code="finger_transparent",
            params={"mode": image.mode, **which},
        )
    return np.ascontiguousarray(rgba[..., 0])


def gate_finger(gray: NDArray[np.uint8], upload: FingerUpload) -> finger_gate.GateVerdict:
    """The finger gate on a decoded image: refuse (422 ``not-a-fingerprint``) what shows no friction ridges."""
    verdict = finger_gate.check(gray)
    if verdict.passed:
        return verdict
    assert verdict.reason is not None and verdict.value is not None and verdict.limit is not None
    name = f"finger {upload.position} ({upload.filename})"
    value, limit = verdict.value, verdict.limit
    shown = {
        finger_gate.FOREGROUND: (f"{value:.0f}", f"{limit:.0f}"),
        finger_gate.RIDGE_FLOW: (f"{value:.2f}", f"{limit:.2f}"),
        finger_gate.RIDGE_FREQUENCY: (f"{100 * value:.0f}", f"{100 * limit:.0f}"),
    }[verdict.reason]
    why = {
        finger_gate.FOREGROUND: "the ridge area is {} mm², at least {} mm² is needed (a blank scan, or too "
        "little of the finger)",
        finger_gate.RIDGE_FLOW: "its ridge-flow coherence is {}, at least {} is needed (no parallel ridges "
        "flowing across the image)",
        finger_gate.RIDGE_FREQUENCY: "{}% of it has a ridge spacing of 5–15 px at 500 ppi, at least {}% is needed",
    }[verdict.reason].format(*shown)
    raise NotAFingerprint(
        f"{name}: not a fingerprint image: {why}",
        photo=upload.filename,
        finger=upload.position,
        reason=verdict.reason,
        measured=value,
        limit=limit,
        code=verdict.reason,
        params={"value": shown[0], "limit": shown[1], "finger": upload.position, "file": upload.filename},
    )


def assess_finger(upload: FingerUpload, limits: FingerQualityParams) -> tuple[AcceptedFinger | None, FingerReport]:
    """Decode, gate, extract and grade one finger (limits: ``settings.finger_quality``); a finger that fails NFIQ 2
    or the minutiae count has a report with the reasons; a file that is not a grey fingerprint image raises
    (``InvalidImage``, ``NotAFingerprint``)."""
    gray = decode_finger(upload, limits)
    gate_finger(gray, upload)
    with matcher_problems():
        found = extraction.extract(gray, ppi=PPI, extractor=extraction.Extractor(limits.extractor))
    issues: list[dict[str, str]] = []
    if found.nfiq2 is None and limits.require_nfiq2:
        issues.append(
            {
                "code": "nfiq2_unavailable",
                "message": "NFIQ 2 could not score this image "
                f"({found.nfiq2_error or 'no reason given'}); rescan the finger",
            }
        )
    elif found.nfiq2 is not None and found.nfiq2 < limits.min_nfiq2:
        issues.append(
            {
                "code": "finger_low_quality",
                "message": f"NFIQ 2 score {found.nfiq2} is below the minimum {limits.min_nfiq2}",
            }
        )
    if len(found.minutiae) < limits.min_minutiae:
        issues.append(
            {
                "code": "finger_too_few_minutiae",
                "message": f"{len(found.minutiae)} minutiae found, at least {limits.min_minutiae} are needed",
            }
        )
    report = FingerReport(
        upload.position,
        "rejected" if issues else "captured",
        upload.filename,
        found.nfiq2,
        len(found.minutiae),
        issues,
    )
    if issues:
        return None, report
    view = FingerView(
        position=upload.position,
        minutiae=tuple(found.minutiae),
        quality=found.nfiq2 if found.nfiq2 is not None else 0,
    )
    return AcceptedFinger(view, found.width, found.height, "capture", found.nfiq2), report


def import_records(data: bytes, limits: FingerQualityParams) -> tuple[list[AcceptedFinger], list[FingerReport]]:
    """The finger views of an ISO/IEC 19794-2:2005 record from another system, gated on minutiae count; a record
    whose resolution or minutiae geometry the matchers cannot use is refused (``enrollment.finger_fitness``)."""
    with matcher_problems():
        record = iso19794.decode(data)
    check_record(record, limits)
    accepted, reports = [], []
    for view in record.views:
        issues = []
        if not 1 <= view.position <= 10:
            issues.append(
                {
                    "code": "finger_position_unknown",
                    "message": f"view with finger position {view.position}: a position 1-10 is required",
                }
            )
        if len(view.minutiae) < limits.min_minutiae:
            issues.append(
                {
                    "code": "finger_too_few_minutiae",
                    "message": f"{len(view.minutiae)} minutiae, at least {limits.min_minutiae} are needed",
                }
            )
        reports.append(
            FingerReport(view.position, "rejected" if issues else "imported", None, None, len(view.minutiae), issues)
        )
        if not issues:
            accepted.append(AcceptedFinger(view, record.width, record.height, "import", None))
    return accepted, reports


def record_of(fingers: list[AcceptedFinger]) -> FingerprintRecord:
    """One ISO record holding the given fingers (image size: the largest of theirs)."""
    return FingerprintRecord(
        width=max(f.width for f in fingers),
        height=max(f.height for f in fingers),
        views=tuple(f.view for f in fingers),
        x_resolution=PIXELS_PER_CM,
        y_resolution=PIXELS_PER_CM,
    )


def index_features(view: FingerView) -> mcc.Cylinders:
    """The MCC cylinders the 1:N index holds for one finger."""
    return mcc.cylinders(iso19794.minutiae_array(view), mcc.INDEXING)


def record_aad(enrolment_public_id: str, position: int) -> bytes:
    return RECORD_FORMAT + b"/" + enrolment_public_id.encode() + b"/" + str(position).encode()


def features_aad(enrolment_public_id: str, position: int) -> bytes:
    return FEATURES_FORMAT + b"/" + enrolment_public_id.encode() + b"/" + str(position).encode()


def seal_finger(keyring: KeyRing, finger: AcceptedFinger, enrolment_public_id: str) -> tuple[Sealed, Sealed]:
    """Encrypt the finger's ISO record and its indexing cylinders, each bound to this enrolment and finger."""
    with matcher_problems():
        record = iso19794.encode(record_of([finger]))
    features = mcc.to_bytes(index_features(finger.view))
    return (
        keyring.seal(record, record_aad(enrolment_public_id, finger.position)),
        keyring.seal(features, features_aad(enrolment_public_id, finger.position)),
    )


def open_finger(keyring: KeyRing, row: Any, enrolment_public_id: str) -> AcceptedFinger:
    """Decrypt a stored finger (a models.FingerTemplate) back to its view and image size."""
    data = keyring.open(Sealed(row.key_id, row.nonce, row.ciphertext), record_aad(enrolment_public_id, row.position))
    with matcher_problems():
        record = iso19794.decode(data)
    return AcceptedFinger(record.views[0], record.width, record.height, row.source, row.nfiq2)


def open_features(keyring: KeyRing, row: Any, enrolment_public_id: str) -> mcc.Cylinders:
    """Decrypt a stored finger's indexing cylinders."""
    data = keyring.open(
        Sealed(row.key_id, row.features_nonce, row.features_ciphertext), features_aad(enrolment_public_id, row.position)
    )
    return mcc.from_bytes(data)


def matching_features(view: FingerView) -> mcc.Cylinders:
    """The MCC cylinders the 1:1 matcher compares (finer than the indexing ones)."""
    return mcc.cylinders(iso19794.minutiae_array(view), mcc.MATCHING)


def compare(probe: mcc.Cylinders, reference: FingerView) -> float:
    """MCC similarity (0-1) of a probe finger's matching cylinders and an enrolled finger."""
    return float(mcc.similarity(probe, matching_features(reference)))
