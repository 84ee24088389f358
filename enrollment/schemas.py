"""Pydantic models of the enrolment and adjudication API (the HTTP edge; dataclasses live inside)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from civid.input_types import IsoDate

# Letters of any script, combining marks, spaces, apostrophes, hyphens and dots: "José María O'Neil-Ñúñez".
_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|[\s'’\-.])*$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def _clean_name(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(unicodedata.normalize("NFC", value).split())
    if not value:
        return None
    if not _NAME.match(value):
        raise ValueError("letters, spaces, apostrophes, hyphens and dots only")
    return value


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    line1: str = Field(min_length=1, max_length=200, examples=["12 Albert Street"])
    line2: str | None = Field(None, max_length=200)
    locality: str = Field(min_length=1, max_length=100, description="City, town or village", examples=["Belize City"])
    district: str | None = Field(None, max_length=100, examples=["Belize"])
    postal_code: str | None = Field(None, max_length=20)
    country: str = Field("BLZ", pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3")


class Demographics(BaseModel):
    """What the officer types. Names are NFC-normalised; accents and any script are accepted."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    given_name: str = Field(min_length=1, max_length=100, examples=["María José"])
    middle_names: str | None = Field(None, max_length=100)
    family_name: str = Field(min_length=1, max_length=100, examples=["Ñúñez"])
    date_of_birth: IsoDate = Field(examples=["1990-04-21"])
    sex: Literal["F", "M", "X"] = Field(description="As on ICAO 9303 travel documents")
    place_of_birth: str = Field(min_length=1, max_length=200, examples=["Belize City, Belize"])
    nationality: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3", examples=["BLZ"])
    address: Address
    phone: str | None = Field(None, description="E.164, e.g. +5016101234")
    email: EmailStr | None = None

    @field_validator("given_name", "family_name", "middle_names")
    @classmethod
    def _names(cls, value: str | None) -> str | None:
        return _clean_name(value)

    @field_validator("date_of_birth")
    @classmethod
    def _birth(cls, value: date) -> date:
        if value > date.today():
            raise ValueError("date of birth is in the future")
        if value.year < 1900:
            raise ValueError("date of birth is before 1900")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        compact = re.sub(r"[\s\-()]", "", value)
        if not _E164.match(compact):
            raise ValueError("phone must be in E.164 form, e.g. +5016101234")
        return compact


class QualityIssueOut(BaseModel):
    code: str
    message: str


class PoseOut(BaseModel):
    yaw: float
    pitch: float
    roll: float


class QualityOut(BaseModel):
    filename: str
    passed: bool
    score: float = Field(description="0-100, margin above the quality limits")
    faces_found: int
    width: int
    height: int
    inter_eye_px: float | None
    sharpness: float | None
    pose: PoseOut | None
    issues: list[QualityIssueOut]


class FingerReportOut(BaseModel):
    position: int = Field(description="ISO/IEC 19794-2 finger position code, 1 (right thumb) to 10 (left little)")
    finger: str
    status: Literal["captured", "imported", "rejected", "excepted"]
    filename: str | None = None
    nfiq2: int | None = Field(None, description="NFIQ 2 quality score 0-100 of a captured image")
    minutiae: int | None = None
    issues: list[QualityIssueOut] = []
    reason: str | None = Field(None, description="Why an excepted finger could not be given")
    note: str | None = None


class FingerExceptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: int = Field(ge=1, le=10)
    reason: Literal["amputated", "bandaged", "scarred", "missing_at_birth", "unable_to_capture"]
    note: str | None = Field(None, max_length=500)


class CandidateOut(BaseModel):
    rank: int
    enrolment_id: str
    uin: str | None = Field(description="None while the candidate is itself awaiting adjudication")
    status: str
    identity_status: str | None = Field(
        None,
        description="The candidate identity's status (active, suspended, deactivated, merged): a match with a "
        "deactivated identity (a deceased person's) is shown as such, never re-issued",
    )
    face_score: float = Field(description="Cosine similarity of the best pair of face templates")
    finger_scores: dict[int, float] = Field(
        default_factory=dict, description="MCC similarity (0-1) per finger position compared"
    )
    fused_llr: float | None = Field(
        None,
        description="Fused evidence: sum of log10 likelihood ratios of the face and every finger compared; "
        "3 means the scores are 1,000 times likelier if the applicant is this person",
    )
    given_name: str
    family_name: str
    date_of_birth: date


DocumentType = Literal["idcard", "passport", "driving_permit", "residence_permit", "birth_certificate"]
CheckMethod = Literal["vpip", "vpiruv", "pvp", "pvr", "vri", "vdig", "vcrypt", "data"]
_DOCUMENT_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9/\-]{3,29}$")


class DocumentIssuerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=2, max_length=200, examples=["Immigration and Nationality Department"])
    country: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3", examples=["BLZ"])


class DocumentIn(BaseModel):
    """An identity document the officer examined (the evidence of OIDC4IDA verified claims)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: DocumentType
    number: str = Field(min_length=4, max_length=40, description="As printed; spaces are removed, letters upper-cased")
    issuer: DocumentIssuerIn
    date_of_issuance: IsoDate | None = None
    date_of_expiry: IsoDate | None = None
    check_methods: list[CheckMethod] = Field(
        min_length=1,
        description="How the officer checked it (OIDC4IDA check methods): vpip physical inspection, "
        "vpiruv under UV light, pvp photo compared with the person present, pvr … remote person, vri inspection of "
        "a remote image, vdig digital record, vcrypt chip/cryptographic check, data validated against the issuer",
    )

    @field_validator("number")
    @classmethod
    def _number(cls, value: str) -> str:
        compact = re.sub(r"\s+", "", value).upper()
        if not _DOCUMENT_NUMBER.match(compact) or not any(ch.isdigit() for ch in compact):
            raise ValueError(
                "a document number is 4-30 letters and digits (with at least one digit; '-' and '/' allowed inside)"
            )
        return compact

    @field_validator("check_methods")
    @classmethod
    def _methods(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each check method once")
        return value

    @field_validator("date_of_issuance")
    @classmethod
    def _issued(cls, value: date | None) -> date | None:
        if value is not None and value > date.today():
            raise ValueError("date of issuance is in the future")
        return value

    @field_validator("date_of_expiry")
    @classmethod
    def _expiry(cls, value: date | None) -> date | None:
        if value is not None and value < date.today():
            raise ValueError("the document has expired: an expired document cannot establish identity")
        return value

    @model_validator(mode="after")
    def _dates(self) -> DocumentIn:
        if self.date_of_issuance and self.date_of_expiry and self.date_of_issuance >= self.date_of_expiry:
            raise ValueError("date of issuance must be before date of expiry")
        return self


MAX_DOCUMENTS = 5


def check_document_list(documents: list[DocumentIn]) -> list[DocumentIn]:
    """At most MAX_DOCUMENTS, no document twice."""
    if len(documents) > MAX_DOCUMENTS:
        raise ValueError(f"at most {MAX_DOCUMENTS} documents per enrolment")
    seen = {(d.type, d.issuer.country, d.number) for d in documents}
    if len(seen) != len(documents):
        raise ValueError("the same document is listed twice")
    return documents


class DocumentOut(BaseModel):
    type: str
    number: str = Field(description="Masked: only the last four characters, e.g. ••••1234")
    issuer_name: str
    issuer_country: str
    date_of_issuance: date | None
    date_of_expiry: date | None
    check_methods: list[str]
    checked_at: datetime


class DedupJobOut(BaseModel):
    """Where the enrolment's deduplication stands while it is pending_dedup (models/dedup_job.py)."""

    status: Literal["queued", "running", "done", "failed"]
    attempts: int = Field(description="Claims so far (a worker killed mid-job costs one)")
    poll: str = Field(description="GET this until the status is no longer pending_dedup")


class EnrolmentOut(BaseModel):
    id: str
    status: Literal["pending_dedup", "issued", "pending_adjudication", "rejected", "duplicate"] = Field(
        description="pending_dedup: stored and searchable, its deduplication not yet decided (poll dedup.poll)"
    )
    uin: str | None = Field(description="Issued UIN, or for a duplicate the existing identity's UIN")
    case_id: str | None
    candidates: list[CandidateOut]
    rejection_reasons: list[QualityIssueOut]
    quality: list[QualityOut]
    fingerprints: list[FingerReportOut] = Field(
        description="Per finger position: captured, imported, rejected or excepted (with the officer's reason)"
    )
    dedup_modalities: list[Literal["face", "finger"]] = Field(
        description="What the 1:N deduplication compared; ['face'] when the person gave no fingerprints"
    )
    demographics: Demographics
    documents: list[DocumentOut] = Field(
        default_factory=list, description="Identity documents the officer checked (numbers masked)"
    )
    officer: str
    guardian_uin: str | None = Field(None, description="A minor's guardian, verified at the desk")
    fingers_deferred: bool = Field(False, description="A face-only child: fingers owed at a later biometric update")
    created_at: datetime
    decided_at: datetime | None
    dedup: DedupJobOut | None = Field(None, description="The deduplication job, while the enrolment is pending_dedup")


class CaseDecisionOut(BaseModel):
    sequence: int = Field(description="1 for the first decision, then 2, 3, ... for each change")
    outcome: Literal["duplicate", "not_duplicate"]
    uin: str | None = Field(
        description="The UIN the decision left the applicant with: the existing identity's for "
        "a duplicate, the one issued for not_duplicate (even if a later change withdrew it)"
    )
    comment: str = Field(description="Why; for a change, the reason for the change")
    decided_by: str
    decided_at: datetime
    replaces: int | None = Field(description="Sequence of the decision this one replaced; null for the first")


class CaseOut(BaseModel):
    id: str
    status: Literal["open", "decided"]
    enrolment: EnrolmentOut
    candidates: list[CandidateOut]
    decision: Literal["duplicate", "not_duplicate"] | None = Field(description="The decision in force")
    duplicate_of_uin: str | None
    comment: str | None
    decided_by: str | None
    created_at: datetime
    decided_at: datetime | None
    decisions: list[CaseDecisionOut] = Field(
        default_factory=list, description="Every decision on the case, oldest first; the last is the one in force"
    )


class CaseSummaryOut(BaseModel):
    id: str
    status: str
    enrolment_id: str
    best_score: float = Field(description="Best face score among the candidates")
    best_fused_llr: float | None = Field(description="Strongest fused evidence among the candidates")
    candidate_count: int
    created_at: datetime


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["duplicate", "not_duplicate"]
    comment: str = Field(min_length=3, max_length=2000, description="Why; mandatory for the audit trail")
    duplicate_of: str | None = Field(
        None, description="UIN of the candidate this applicant already is; required with several issued candidates"
    )


class GuardianOut(BaseModel):
    uin: str = Field(description="The guardian's UIN")
    relationship: str = Field(description="parent | legal_guardian")
    since: datetime


class IdentityOut(BaseModel):
    uin: str
    status: str
    created_at: datetime
    enrolments: list[str]
    record: str | None = Field(
        description="The enrolment that issued the UIN: the record portals and banks are told about (names, evidence)"
    )
    duplicate_attempts: list[str] = Field(
        description="Later applications decided duplicates of this identity, "
        "oldest first; none of them changed the record"
    )
    # None only for a UIN withdrawn by a changed decision: its enrolment now belongs to the identity it duplicated.
    given_name: str | None
    family_name: str | None
    date_of_birth: date | None
    fingers_deferred: bool = Field(
        False,
        description="Enrolled as a small child with the face only (under child_face_only_below_age): the fingers "
        "are owed at a later biometric update",
    )
    fingers_due_on: date | None = Field(
        None, description="With fingers_deferred: the birthday from which the fingers can be taken"
    )
    guardians: list[GuardianOut] = Field(
        default_factory=list,
        description="Who may act for this person while a minor (verified at the desk when the child was enrolled)",
    )


class FingerVerifyOut(BaseModel):
    position: int
    finger: str
    match: bool
    score: float = Field(description="MCC similarity 0-1 against the enrolled finger at this position")
    threshold: float
    llr: float = Field(description="log10 likelihood ratio of the score (FVC2000 + FVC2002 calibration, capped)")
    nfiq2: int | None
    minutiae: int | None


class VerifyOut(BaseModel):
    uin: str = Field(description="The number presented: the UIN, or the Virtual ID (never the UIN behind a VID)")
    match: bool = Field(description="True when every modality presented matched")
    modalities: list[Literal["face", "finger"]]
    score: float | None = Field(None, description="Face: best cosine similarity with the identity's templates")
    threshold: float | None = Field(None, description="Face: the verify threshold (FMR 1e-4 on LFW)")
    quality: QualityOut | None = None
    fingers: list[FingerVerifyOut] = []
    fused_llr: float = Field(description="Sum of the log10 likelihood ratios of everything compared")


class IdentifyCandidateOut(BaseModel):
    rank: int
    uin: str
    score: float | None = Field(description="Face score (cosine), when a photo was searched")
    finger_scores: dict[int, float] = {}
    fused_llr: float | None = None
    given_name: str
    family_name: str
    date_of_birth: date


class IdentifyOut(BaseModel):
    candidates: list[IdentifyCandidateOut]
    threshold: float = Field(description="Face cosine threshold, or with fingers the fused LLR threshold")
    gallery_size: int
    quality: QualityOut | None
    fingers: list[FingerReportOut] = []
