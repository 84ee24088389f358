"""MOSIP's ABIS messages (ABIS API specification 0.9, docs.mosip.io "ABIS APIs"), field for field.

Every request carries ``id`` (``mosip.abis.<operation>``), ``version`` ("1.1"), ``requestId`` and ``requesttime``;
every response echoes ``id`` and ``requestId``, adds ``responsetime`` and ``returnValue`` ("1" success, "2" failed)
and, on failure, ``failureReason``: one of the codes below. Counts and flags travel as strings, as MOSIP's own
examples show them. A message that cannot be read is answered with a failure message, never an HTTP error: on
MOSIP's queue only a response with the request's ``requestId`` tells the registration processor what happened.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

VERSION = "1.1"
INSERT = "mosip.abis.insert"
IDENTIFY = "mosip.abis.identify"
DELETE = "mosip.abis.delete"
PING = "mosip.abis.ping"
PENDING_JOBS = "mosip.abis.pendingJobs"
REFERENCE_COUNT = "mosip.abis.referenceCount"
OPERATIONS = (INSERT, IDENTIFY, DELETE, PING, PENDING_JOBS, REFERENCE_COUNT)
SUCCESS = "1"
FAILED = "2"
# MOSIP writes times as yyyy-MM-dd'T'HH:mm:ss.SSS'Z' (UTC); fewer or more fraction digits are read too.
_REQUEST_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")


class FailureReason(IntEnum):
    """ABIS API 0.9, "Failure Reasons"."""

    INTERNAL_ERROR = 1
    ABORTED = 2
    UNEXPECTED_ERROR = 3
    INVALID_REQUEST_STRUCTURE = 4
    MISSING_REFERENCE_ID = 5
    MISSING_REQUEST_ID = 6
    UNABLE_TO_FETCH_BIOMETRICS = 7
    MISSING_REFERENCE_URL = 8
    MISSING_REQUEST_TIME = 9
    REFERENCE_ID_EXISTS = 10
    CBEFF_HAS_NO_DATA = 11
    REFERENCE_ID_NOT_FOUND = 12
    INVALID_VERSION = 13
    INVALID_ID = 14
    INVALID_REQUEST_TIME = 15
    INVALID_CBEFF = 16
    DATA_SHARE_EXPIRED = 17
    QUALITY_CHECK_FAILED = 18


class AbisFailure(Exception):
    """An operation's answer is failure ``reason``; ``detail`` says why, for the audit trail and the log."""

    def __init__(self, reason: FailureReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# --- requests ---------------------------------------------------------------------------------------------------


class AbisRequest(BaseModel):
    """The fields every ABIS request has (ping, pendingJobs and referenceCount have nothing else)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    version: str
    requestId: str = Field(max_length=64)
    requesttime: str


class InsertRequest(AbisRequest):
    referenceId: str = Field(max_length=64)
    referenceURL: str = Field(max_length=2048)


class DeleteRequest(AbisRequest):
    referenceId: str = Field(max_length=64)


class GalleryReference(BaseModel):
    referenceId: str = Field(max_length=64)


class Gallery(BaseModel):
    referenceIds: list[GalleryReference] = Field(default_factory=list)


class IdentifyFlags(BaseModel):
    """MOSIP's two example flags; others (``flag1``...) are agreed per deployment and ignored here."""

    model_config = ConfigDict(extra="allow")

    maxResults: int | None = Field(None, ge=1)
    targetFPIR: int | None = Field(None, ge=0)


class IdentifyRequest(AbisRequest):
    referenceId: str = Field(max_length=64)
    # "will be an empty string, if not used": civid identifies by referenceId only.
    referenceURL: str | None = None
    flags: IdentifyFlags | None = None
    gallery: Gallery | None = None


_MODELS: dict[str, type[AbisRequest]] = {
    INSERT: InsertRequest,
    IDENTIFY: IdentifyRequest,
    DELETE: DeleteRequest,
    PING: AbisRequest,
    PENDING_JOBS: AbisRequest,
    REFERENCE_COUNT: AbisRequest,
}


def parse_request(body: Any) -> AbisRequest:
    """The typed request in ``body`` (decoded JSON); AbisFailure with MOSIP's reason for the first thing wrong."""
    if not isinstance(body, dict):
        raise AbisFailure(FailureReason.INVALID_REQUEST_STRUCTURE, "the message is not a JSON object")
    operation = body.get("id")
    if operation not in _MODELS:
        raise AbisFailure(FailureReason.INVALID_ID, f"id {operation!r} is not one of {', '.join(OPERATIONS)}")
    if body.get("version") != VERSION:
        raise AbisFailure(FailureReason.INVALID_VERSION, f"version {body.get('version')!r} is not {VERSION!r}")
    if not body.get("requestId"):
        raise AbisFailure(FailureReason.MISSING_REQUEST_ID, "requestId is missing")
    if not body.get("requesttime"):
        raise AbisFailure(FailureReason.MISSING_REQUEST_TIME, "requesttime is missing")
    if not isinstance(body["requesttime"], str) or not _REQUEST_TIME.match(body["requesttime"]):
        raise AbisFailure(
            FailureReason.INVALID_REQUEST_TIME, "requesttime is not yyyy-MM-ddTHH:mm:ss.SSSZ (UTC, ISO 8601)"
        )
    if operation in (INSERT, IDENTIFY, DELETE) and not body.get("referenceId"):
        raise AbisFailure(FailureReason.MISSING_REFERENCE_ID, "referenceId is missing")
    if operation == INSERT and not body.get("referenceURL"):
        raise AbisFailure(FailureReason.MISSING_REFERENCE_URL, "referenceURL is missing")
    try:
        return _MODELS[operation].model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise AbisFailure(FailureReason.INVALID_REQUEST_STRUCTURE, f"{where}: {first['msg']}") from exc


def request_identity(body: Any) -> tuple[str | None, str | None]:
    """The ``id`` and ``requestId`` to echo in a failure answer, as far as the message can be read."""
    if not isinstance(body, dict):
        return None, None
    operation, request_id = body.get("id"), body.get("requestId")
    return (
        operation if isinstance(operation, str) else None,
        request_id if isinstance(request_id, str) else None,
    )


# --- responses --------------------------------------------------------------------------------------------------


class AbisResponse(BaseModel):
    id: str | None
    requestId: str | None
    responsetime: str
    returnValue: str
    failureReason: str | None = None


class ModalityResult(BaseModel):
    """One modality's part in a candidate's match: ``biometricType`` FID (face), FIR (finger) or IIR (iris)."""

    biometricType: str
    analytics: dict[str, str]


class Candidate(BaseModel):
    referenceId: str
    analytics: dict[str, str]
    modalities: list[ModalityResult]


class CandidateList(BaseModel):
    count: str
    candidates: list[Candidate]
    analytics: dict[str, str] = Field(default_factory=dict)


class IdentifyResponse(AbisResponse):
    candidateList: CandidateList | None = None


class PendingJobsResponse(AbisResponse):
    jobscount: str | None = None


class ReferenceCountResponse(AbisResponse):
    count: str | None = None


def response_time(moment: datetime | None = None) -> str:
    """A time as MOSIP writes it: UTC, milliseconds, ``Z``."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def failure(operation: str | None, request_id: str | None, reason: FailureReason) -> AbisResponse:
    """The answer to a request that failed for ``reason``."""
    return AbisResponse(
        id=operation,
        requestId=request_id,
        responsetime=response_time(),
        returnValue=FAILED,
        failureReason=str(int(reason)),
    )


def wire(response: AbisResponse) -> dict[str, Any]:
    """The response as MOSIP reads it: absent fields left out, not sent as null."""
    return response.model_dump(exclude_none=True)
