"""What the system says about a registration drive, in the officer's language: why an archive was refused or an
action cannot be done now, and why a record has no UIN.

A record's stored reasons stay what they are (a stable code, the English sentence, sometimes the values of the
sentence): they are the record, and the CSV gives their codes as stored. The page and the CSV say each in the
officer's language through ``reasons_by_record`` (one source of text, so both give the same reason), rebuilt
from its code:
package issues (``enrollment.batch.archive``) from ``console.batch.issue.<code>``, a ``person.json`` that fails
validation field by field as the enrolment form says it (``console.enrol.form.message_for``), a file the
workflow could not use as the enrolment form says it (``console.enrol.quality_feedback``), and a capture the quality
checks refused from the enrolment's own reports (``quality_feedback.explain_enrolment``). A code the catalogue
does not know is shown as its stored English sentence.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid.errors import CividError
from civid.settings import Settings
from civid.web import i18n
from civid.web.i18n import size_text
from console.common.error_text import coded_text
from console.enrol import quality_feedback
from console.enrol.form import message_for
from enrollment.schemas import MAX_DOCUMENTS
from models import BatchJob, BatchRecord, Enrolment, RecordStatus

PROBLEMS = "console.batch.problem"  # archive refusals, pause and resume refused
ISSUES = "console.batch.issue"  # per-record reasons
# person.json errors the enrolment form never meets (it has no free JSON); by pydantic error type.
_JSON_ERRORS = {
    "json_invalid": "console.batch.issue.json_invalid",
    "extra_forbidden": "console.batch.issue.unknown_field",
}
# check_document_list's sentences (raised as plain ValueError), by their start.
_SIZES = ("member_too_large", "too_large_uncompressed")  # archive refusals whose size and limit are bytes
_DOCUMENT_ERRORS = {
    "at most": "console.batch.issue.too_many_documents",
    "the same document": "console.batch.issue.same_document",
}


def problem_text(exc: CividError, lang: str) -> str:
    """Why the archive was refused or the batch cannot be paused or resumed now, in ``lang`` (sizes in MiB, not
    raw bytes)."""
    params = {
        **exc.params,
        **{
            name: size_text(exc.params[name], lang)
            for name in ("size", "limit")
            if exc.code in _SIZES and isinstance(exc.params.get(name), int)
        },
    }
    return coded_text(PROBLEMS, exc.code, params, lang, exc.detail)


def reasons_by_record(
    db: Session, job: BatchJob, records: list[BatchRecord], settings: Settings, lang: str
) -> dict[int, list[str]]:
    """Every record's reasons in ``lang``, by record id: the one text the results page and the CSV both give."""
    rejected = {r.enrolment_public_id for r in records if r.status == RecordStatus.REJECTED} - {None}
    enrolments = (
        {
            e.public_id: e
            for e in db.scalars(
                select(Enrolment).where(Enrolment.public_id.in_(rejected), Enrolment.officer_id == job.officer_id)
            )
        }
        if rejected
        else {}
    )
    return {r.id: record_reasons(r, enrolments.get(r.enrolment_public_id or ""), settings, lang) for r in records}


def no_archive_text(lang: str) -> str:
    """The upload form was sent without a file."""
    return i18n.translate(f"{PROBLEMS}.no_file", lang)


def record_reasons(record: BatchRecord, enrolment: Enrolment | None, settings: Settings, lang: str) -> list[str]:
    """The reasons of one record in ``lang``: a rejected capture's from its enrolment's quality reports."""
    if record.status == RecordStatus.REJECTED and enrolment is not None:
        explained = quality_feedback.explain_enrolment(
            enrolment.rejection_reasons or [], enrolment.quality or [], enrolment.fingerprints or [], settings, lang
        )
        if explained:
            return explained
    return [reason_text(reason, lang) for reason in record.reasons or []]


def reason_text(reason: dict[str, Any], lang: str) -> str:
    """One stored reason in ``lang``; its English sentence when its code (or the values it needs) is unknown."""
    code = str(reason.get("code") or "")
    params = reason.get("params") or {}
    stored = str(reason.get("message") or code)
    if code == "invalid_person_json" and params.get("errors"):
        return i18n.translate(
            f"{ISSUES}.invalid_person_json",
            lang,
            errors="; ".join(_field_error(error, lang) for error in params["errors"]),
        )
    if code == "finger_position" and params.get("twice"):
        code = "finger_position_twice"
    # A file error stored before reasons kept their values names its file only in the English sentence: keep it.
    file_error = quality_feedback.file_error_text(code, params.get("error_code"), params, lang) if params else None
    if file_error is not None:
        label = quality_feedback.file_label(params, params.get("photo"), lang)
        return f"{label}: {file_error}" if label else file_error
    return coded_text(ISSUES, params.get("error_code") or code, params, lang, stored)


def _field_error(error: dict[str, Any], lang: str) -> str:
    """``field: what is wrong`` for one validation error of a person.json."""
    where = ".".join(str(part) for part in error.get("loc") or []) or i18n.translate(f"{ISSUES}.whole_file", lang)
    text = str(error.get("msg", "")).removeprefix("Value error, ")
    key = _JSON_ERRORS.get(str(error.get("type")))
    if key is None and error.get("loc") == ["documents"]:
        key = next((k for start, k in _DOCUMENT_ERRORS.items() if text.startswith(start)), None)
    said = i18n.translate(key, lang, limit=MAX_DOCUMENTS) if key else message_for(error, lang)
    return f"{where}: {said.rstrip('.')}"  # the errors are joined with "; "
