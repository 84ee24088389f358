"""Pydantic models of the enrolment and adjudication API (the HTTP edge; dataclasses live inside)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

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
    date_of_birth: date = Field(examples=["1990-04-21"])
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


class CandidateOut(BaseModel):
    rank: int
    enrolment_id: str
    uin: str | None = Field(description="None while the candidate is itself awaiting adjudication")
    status: str
    face_score: float = Field(description="Cosine similarity of the best pair of face templates")
    given_name: str
    family_name: str
    date_of_birth: date


class EnrolmentOut(BaseModel):
    id: str
    status: Literal["issued", "pending_adjudication", "rejected", "duplicate"]
    uin: str | None = Field(description="Issued UIN, or for a duplicate the existing identity's UIN")
    case_id: str | None
    candidates: list[CandidateOut]
    rejection_reasons: list[QualityIssueOut]
    quality: list[QualityOut]
    demographics: Demographics
    officer: str
    created_at: datetime
    decided_at: datetime | None


class CaseOut(BaseModel):
    id: str
    status: Literal["open", "decided"]
    enrolment: EnrolmentOut
    candidates: list[CandidateOut]
    decision: Literal["duplicate", "not_duplicate"] | None
    duplicate_of_uin: str | None
    comment: str | None
    decided_by: str | None
    created_at: datetime
    decided_at: datetime | None


class CaseSummaryOut(BaseModel):
    id: str
    status: str
    enrolment_id: str
    best_score: float
    candidate_count: int
    created_at: datetime


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["duplicate", "not_duplicate"]
    comment: str = Field(min_length=3, max_length=2000, description="Why; mandatory for the audit trail")
    duplicate_of: str | None = Field(
        None, description="UIN of the candidate this applicant already is; required with several issued candidates"
    )


class IdentityOut(BaseModel):
    uin: str
    status: str
    created_at: datetime
    enrolments: list[str]
    given_name: str
    family_name: str
    date_of_birth: date


class VerifyOut(BaseModel):
    uin: str
    match: bool
    score: float = Field(description="Best cosine similarity between the photo and the identity's templates")
    threshold: float
    quality: QualityOut


class IdentifyCandidateOut(BaseModel):
    rank: int
    uin: str
    score: float
    given_name: str
    family_name: str
    date_of_birth: date


class IdentifyOut(BaseModel):
    candidates: list[IdentifyCandidateOut]
    threshold: float
    gallery_size: int
    quality: QualityOut
