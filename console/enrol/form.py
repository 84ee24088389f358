"""The officer's enrolment form: from posted fields to the workflow's inputs, or to errors per field.

The server is authoritative: demographics go through ``enrollment.schemas.Demographics`` and the document
through ``DocumentIn``, exactly as the API validates them, and every error is put back next to its field in
the officer's language. Field names are the schema's location joined by ``_`` (``address_line1``,
``document_issuer_country``), so an error's location names the input it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from civid.settings import Settings
from civid.web import i18n
from enrollment.documents import CHECK_METHODS, DOCUMENT_TYPES, DocumentEvidence
from enrollment.fingerprint import EXCEPTION_REASONS, FingerException, FingerUpload
from enrollment.guardianship import age_on
from enrollment.routes import read_upload
from enrollment.schemas import Demographics, DocumentIn
from enrollment.workflow import PhotoUpload
from models import GuardianRelationship

PERSON_FIELDS = (
    "given_name",
    "middle_names",
    "family_name",
    "date_of_birth",
    "sex",
    "place_of_birth",
    "nationality",
    "phone",
    "email",
)
ADDRESS_FIELDS = ("line1", "line2", "locality", "district", "postal_code", "country")
DOCUMENT_FIELDS = ("type", "number", "issuer_name", "issuer_country", "date_of_issuance", "date_of_expiry")
UPPER_CASE = {"nationality", "address_country", "document_issuer_country"}  # ISO 3166 codes, typed in any case
FINGER_POSITIONS = tuple(range(1, 11))
SEXES = ("F", "M", "X")
# The form's idempotency key: made when the form is shown, so a double click or a resubmission enrols once.
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

# pydantic error type → message key; value errors are matched on the validator's sentence below.
_ERROR_TYPES = {
    "missing": "console.error.required",
    "string_too_short": "console.error.required",
    "string_too_long": "console.error.too_long",
    "date_parsing": "console.error.date",
    "date_from_datetime_parsing": "console.error.date",
    "date_type": "console.error.date",
    "literal_error": "console.error.choice",
    "too_short": "console.error.check_method_required",
}
_VALUE_ERRORS = {
    "letters, spaces, apostrophes": "console.error.name_chars",
    "date of birth is in the future": "console.error.birth_future",
    "date of birth is before 1900": "console.error.birth_1900",
    "phone must be in E.164": "console.error.phone",
    "not a valid email address": "console.error.email",
    "a document number is": "console.error.document_number",
    "the document has expired": "console.error.document_expired",
    "date of issuance is in the future": "console.error.issuance_future",
    "date of issuance must be before": "console.error.issuance_before_expiry",
    "each check method once": "console.error.check_methods_once",
}


@dataclass
class EnrolForm:
    """What the officer posted: the values to show again, the errors by field, and the parsed inputs."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    idempotency_key: str = ""
    demographics: Demographics | None = None
    documents: list[DocumentEvidence] = field(default_factory=list)
    photos: list[PhotoUpload] = field(default_factory=list)
    fingers: list[FingerUpload] = field(default_factory=list)
    finger_exceptions: list[FingerException] = field(default_factory=list)
    had_files: bool = False
    # A minor's guardian, verified at the desk before the child is enrolled (console.enrol.pages).
    guardian_uin: str = ""
    guardian_relationship: str = "parent"
    guardian_photo: PhotoUpload | None = None

    @property
    def valid(self) -> bool:
        return not self.errors


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    return text.upper() if name in UPPER_CASE else text


def _upload(form: FormData, name: str) -> UploadFile | None:
    value = form.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


def message_for(error: Mapping[str, Any], lang: str) -> str:
    """One pydantic error in the officer's language (the validator's English sentence if it is not known)."""
    kind = error.get("type", "")
    if kind == "string_pattern_mismatch":
        key = "console.error.country_code" if error["loc"][-1] in ("nationality", "country") else "console.error.format"
        return i18n.translate(key, lang)
    if kind in _ERROR_TYPES:
        return i18n.translate(
            _ERROR_TYPES[kind], lang, **{k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, (int, str))}
        )
    text = str(error.get("msg", "")).removeprefix("Value error, ")
    for start, key in _VALUE_ERRORS.items():
        if start in text:
            return i18n.translate(key, lang)
    return text


def _errors(exc: ValidationError, prefix: str, lang: str, whole: str) -> dict[str, str]:
    """Errors keyed by form field; an error about the model as a whole goes to the ``whole`` field."""
    found: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        name = prefix + "_".join(str(part) for part in error["loc"]) if error["loc"] else whole
        found.setdefault(name, message_for(error, lang))
    return found


def parse(form: FormData, settings: Settings, lang: str) -> EnrolForm:
    """Validate everything posted; read the files (at most ``max_upload_bytes`` + 1 each)."""
    result = EnrolForm()
    values = result.values
    for name in PERSON_FIELDS:
        values[name] = _text(form, name)
    for name in ADDRESS_FIELDS:
        values[f"address_{name}"] = _text(form, f"address_{name}")
    for name in DOCUMENT_FIELDS:
        values[f"document_{name}"] = _text(form, f"document_{name}")
    values["document_check_methods"] = [m for m in form.getlist("document_check_methods") if m in CHECK_METHODS]
    key = _text(form, "idempotency_key")
    result.idempotency_key = key if _KEY.match(key) else ""
    if not result.idempotency_key:
        result.errors["form"] = i18n.translate("console.error.form_expired", lang)

    person: dict[str, Any] = {name: values[name] for name in PERSON_FIELDS if values[name]}
    address = {name: values[f"address_{name}"] for name in ADDRESS_FIELDS if values[f"address_{name}"]}
    person["address"] = address
    try:
        result.demographics = Demographics.model_validate(person)
    except ValidationError as exc:
        result.errors.update(_errors(exc, "", lang, "given_name"))
    _parse_document(result, lang)
    _parse_biometrics(form, result, settings, lang)
    _parse_guardian(form, result, settings, lang)
    return result


def _parse_guardian(form: FormData, result: EnrolForm, settings: Settings, lang: str) -> None:
    """A minor's guardian (UIN, relationship, their photo taken at the desk); and a child under the face-only
    age gives no fingers, so their rows need neither a file nor a reason (enrollment.guardianship)."""
    values = result.values
    values["guardian_uin"] = result.guardian_uin = _text(form, "guardian_uin")
    relationship = _text(form, "guardian_relationship") or GuardianRelationship.PARENT
    values["guardian_relationship"] = result.guardian_relationship = relationship
    photo = _upload(form, "guardian_photo")
    if photo is not None:
        result.guardian_photo = read_upload(photo, settings.max_upload_bytes)
        result.had_files = True
    if result.guardian_uin and result.guardian_photo is None:
        result.errors["guardian_photo"] = i18n.translate("console.error.guardian_photo", lang)
    born = result.demographics.date_of_birth if result.demographics else None
    if born is None or age_on(born, date.today()) >= settings.ages.face_only_below:
        return
    if result.fingers:
        result.errors["finger_1"] = i18n.translate(
            "console.error.face_only_child", lang, age=settings.ages.face_only_below
        )
    for position in FINGER_POSITIONS:  # no finger is owed now: drop the "choose a reason" errors and reasons
        if result.errors.get(f"finger_{position}") == i18n.translate("console.error.finger_choose", lang):
            del result.errors[f"finger_{position}"]
    result.finger_exceptions = []


def _parse_document(result: EnrolForm, lang: str) -> None:
    """The identity document checked, if the officer filled its section (type, number or issuer's name given;
    the country and the check methods are filled in advance)."""
    values = result.values
    if not any(values[f"document_{name}"] for name in ("type", "number", "issuer_name")):
        return
    document: dict[str, Any] = {
        "type": values["document_type"],
        "number": values["document_number"],
        "issuer": {"name": values["document_issuer_name"], "country": values["document_issuer_country"]},
        "check_methods": values["document_check_methods"],
    }
    for name in ("date_of_issuance", "date_of_expiry"):
        if values[f"document_{name}"]:
            document[name] = values[f"document_{name}"]
    if document["type"] not in DOCUMENT_TYPES:
        document.pop("type")
    try:
        result.documents = [DocumentEvidence.from_input(DocumentIn.model_validate(document))]
    except ValidationError as exc:
        result.errors.update(_errors(exc, "document_", lang, "document_date_of_expiry"))


def _parse_biometrics(form: FormData, result: EnrolForm, settings: Settings, lang: str) -> None:
    """The face photo (required) and, per finger position, a scanned image or the reason it is missing: a row
    without a file is an explicit choice (its own reason, or the one chosen for every remaining row), never
    silently skipped."""
    limit = settings.max_upload_bytes
    rest = _text(form, "fingers_rest_missing")
    result.values["fingers_rest_missing"] = rest
    if rest and rest not in EXCEPTION_REASONS:
        result.errors["fingers_rest_missing"] = i18n.translate("console.error.choice", lang)
        rest = ""
    photo = _upload(form, "photo")
    if photo is None:
        result.errors["photo"] = i18n.translate("console.error.photo_required", lang)
    else:
        result.photos = [read_upload(photo, limit)]
        result.had_files = True
    for position in FINGER_POSITIONS:
        image = _upload(form, f"finger_{position}")
        reason = _text(form, f"finger_{position}_missing")
        note = _text(form, f"finger_{position}_note")[:500] or None
        result.values[f"finger_{position}_missing"] = reason
        result.values[f"finger_{position}_note"] = note or ""
        if reason and reason not in EXCEPTION_REASONS:
            result.errors[f"finger_{position}"] = i18n.translate("console.error.choice", lang)
        elif reason and image is not None:
            result.errors[f"finger_{position}"] = i18n.translate("console.error.finger_both", lang)
        elif reason:
            result.finger_exceptions.append(FingerException(position, reason, note))
        elif image is not None:
            result.fingers.append(
                FingerUpload(
                    position, read_upload(image, limit).data, image.filename or f"finger-{position}", image.content_type
                )
            )
            result.had_files = True
        elif rest:
            result.finger_exceptions.append(FingerException(position, rest, note))
        else:
            result.errors[f"finger_{position}"] = i18n.translate("console.error.finger_choose", lang)


def blank_values() -> dict[str, Any]:
    """An empty form: every field, the usual document checks ticked (inspected, photo compared)."""
    values: dict[str, Any] = {name: "" for name in PERSON_FIELDS}
    values.update({f"address_{name}": "" for name in ADDRESS_FIELDS})
    values.update({f"document_{name}": "" for name in DOCUMENT_FIELDS})
    values.update(
        {
            "nationality": "BLZ",
            "address_country": "BLZ",
            "document_issuer_country": "BLZ",
            "document_check_methods": ["vpip", "pvp"],
        }
    )
    for position in FINGER_POSITIONS:
        values[f"finger_{position}_missing"] = ""
        values[f"finger_{position}_note"] = ""
    values["fingers_rest_missing"] = ""
    values["guardian_uin"] = ""
    values["guardian_relationship"] = "parent"
    return values


def values_from(demographics: Demographics, fingerprints: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The form filled from an earlier attempt (trying again after a refusal): its demographics and the fingers
    recorded as missing, with their reasons and notes (the images themselves must be scanned again)."""
    values = blank_values()
    for report in fingerprints or []:
        if report.get("status") == "excepted" and report.get("position") in FINGER_POSITIONS:
            values[f"finger_{report['position']}_missing"] = report.get("reason") or ""
            values[f"finger_{report['position']}_note"] = report.get("note") or ""
    data = demographics.model_dump(mode="json")
    for name in PERSON_FIELDS:
        values[name] = data.get(name) or ""
    for name in ADDRESS_FIELDS:
        values[f"address_{name}"] = (data.get("address") or {}).get(name) or ""
    return values
