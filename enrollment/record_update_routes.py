"""The record update API: propose a change with its evidence, approve or reject a pending one, list the
versions. Thin: parse, authenticate, call ``enrollment.record_update`` (which checks roles and four eyes)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from civid.auth import require
from civid.deps import get_services, get_session
from civid.input_types import IsoDate, UinPath
from enrollment.documents import DocumentEvidence
from enrollment.record_update import approve, propose, reject, versions
from enrollment.runtime import EnrolmentServices
from enrollment.schemas import Address, DocumentIn, DocumentType
from models import ROLES

router = APIRouter(prefix="/v1", tags=["lifecycle"])
# Any staff key is admitted; ``record_update`` refuses a role not allowed the step (403), in one place.
Staff = Annotated[Actor, Depends(require(*ROLES))]
Reader = Annotated[Actor, Depends(require("officer", "adjudicator", "auditor"))]
ServicesDep = Annotated[EnrolmentServices, Depends(get_services)]
SessionDep = Annotated[Session, Depends(get_session)]
VersionPath = Annotated[int, Path(ge=1, le=1_000_000, description="The version number (1 is the record as enrolled)")]

EvidenceType = Literal[
    DocumentType,
    "marriage_certificate",
    "divorce_decree",
    "court_order",
    "deed_poll",
    "utility_bill",
    "tenancy_agreement",
    "bank_statement",
]


class RecordChangesIn(BaseModel):
    """Only the fields to change; ``null`` clears an optional one. The changed record must pass the enrolment's
    own rules (names, date of birth, E.164 phone...), checked against the whole record."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    given_name: str | None = Field(None, max_length=100)
    middle_names: str | None = Field(None, max_length=100)
    family_name: str | None = Field(None, max_length=100)
    date_of_birth: IsoDate | None = None
    sex: Literal["F", "M", "X"] | None = None
    address: Address | None = None
    phone: str | None = Field(None, description="E.164, e.g. +5016101234")
    email: EmailStr | None = None


class EvidenceIn(DocumentIn):
    """The document that proves the change (a marriage certificate, a court order, a utility bill...)."""

    type: EvidenceType  # type: ignore[assignment]  # a wider set than the enrolment's identity documents


class RecordUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    changes: RecordChangesIn
    evidence: EvidenceIn
    reason: str | None = Field(None, max_length=500, description="Why, in the officer's words (no personal data)")


class RecordDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str | None = Field(None, max_length=500)


class RecordVersionOut(BaseModel):
    uin: str
    version: int
    status: Literal["applied", "pending", "rejected"]
    fields: list[str] = Field(description="The fields this version changed (none for version 1, as enrolled)")
    record: dict[str, Any] = Field(description="The record after this version")
    evidence: dict[str, Any] | None = Field(description="The document that proves it, its number masked")
    reason: str | None
    created_by: str
    created_at: str
    decided_by: str | None = Field(description="Who approved or rejected it; null when applied at once")
    decided_at: str | None
    decision_note: str | None


class RecordVersionsOut(BaseModel):
    uin: str
    versions: list[RecordVersionOut]


def _changes(body: RecordChangesIn) -> dict[str, Any]:
    """What the officer sent, ``null`` included (it clears), absent fields left out."""
    return body.model_dump(mode="json", include=body.model_fields_set)


@router.post(
    "/identities/{uin}/record-updates",
    response_model=RecordVersionOut,
    status_code=201,
    summary="Correct or change an identity's record with the document that proves it",
)
def post_record_update(uin: UinPath, body: RecordUpdateIn, services: ServicesDep, actor: Staff) -> RecordVersionOut:
    with services.sessions.begin() as session:
        version = propose(
            session,
            services.keyring,
            services.events,
            actor,
            uin,
            _changes(body.changes),
            DocumentEvidence.from_input(body.evidence),
            body.reason,
        )
    return RecordVersionOut(**dataclasses.asdict(version))


@router.post(
    "/identities/{uin}/record-updates/{version}/approve",
    response_model=RecordVersionOut,
    summary="Approve a pending change of names, date of birth or sex (a second adjudicator)",
)
def post_record_approve(uin: UinPath, version: VersionPath, services: ServicesDep, actor: Staff) -> RecordVersionOut:
    with services.sessions.begin() as session:
        done = approve(session, services.events, actor, uin, version)
    return RecordVersionOut(**dataclasses.asdict(done))


@router.post(
    "/identities/{uin}/record-updates/{version}/reject",
    response_model=RecordVersionOut,
    summary="Reject a pending change; the record stays as it is",
)
def post_record_reject(
    uin: UinPath, version: VersionPath, services: ServicesDep, actor: Staff, body: RecordDecisionIn | None = None
) -> RecordVersionOut:
    with services.sessions.begin() as session:
        done = reject(session, actor, uin, version, body.note if body else None)
    return RecordVersionOut(**dataclasses.asdict(done))


@router.get(
    "/identities/{uin}/record-versions",
    response_model=RecordVersionsOut,
    summary="Every version of an identity's record: who proposed, who approved, when, with what evidence",
)
def get_record_versions(uin: UinPath, session: SessionDep, actor: Reader) -> RecordVersionsOut:
    number, found = versions(session, uin)
    audit.record(session, actor, "identity.record_versions_viewed", "identity", number)
    session.commit()  # reading personal data is attributed like changing it
    return RecordVersionsOut(uin=number, versions=[RecordVersionOut(**dataclasses.asdict(v)) for v in found])
