"""The officer and adjudicator HTTP API: thin — parse, check the role, call the workflow, present."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Header, Query, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from civid import audit
from civid.audit import Actor
from civid.auth import require
from civid.deps import get_services, get_session
from civid.errors import NotFound
from civid.services import Services
from enrollment import adjudication, verification, workflow
from enrollment.present import case_out, case_summary, enrolment_out, identity_out
from enrollment.schemas import (
    CaseOut, CaseSummaryOut, DecisionIn, Demographics, EnrolmentOut, IdentifyCandidateOut, IdentifyOut, IdentityOut,
    QualityOut, VerifyOut,
)
from enrollment.uin import normalise_uin
from models import CaseCandidate, CaseStatus, DedupCase, Enrolment, Identity

router = APIRouter(prefix="/v1")
Officer = Annotated[Actor, Depends(require("officer"))]
Adjudicator = Annotated[Actor, Depends(require("adjudicator"))]
Reader = Annotated[Actor, Depends(require("officer", "adjudicator"))]
ServicesDep = Annotated[Services, Depends(get_services)]
SessionDep = Annotated[Session, Depends(get_session)]

DEMOGRAPHICS_HELP = (
    'JSON object: {"given_name", "middle_names"?, "family_name", "date_of_birth" (YYYY-MM-DD), "sex" (F|M|X), '
    '"place_of_birth", "nationality" (ISO alpha-3), "address": {"line1", "line2"?, "locality", "district"?, '
    '"postal_code"?, "country"}, "phone"? (E.164), "email"?}'
)


def read_upload(upload: UploadFile, max_bytes: int) -> workflow.PhotoUpload:
    """Read at most max_bytes+1 so an oversized file is detected without holding all of it."""
    data = upload.file.read(max_bytes + 1)
    return workflow.PhotoUpload(data=data, filename=upload.filename or "photo", content_type=upload.content_type)


def record_access(session: Session, actor: Actor, action: str, subject_type: str, subject_id: str) -> None:
    """Reading personal data is attributed in the audit trail like changing it."""
    audit.record(session, actor, action, subject_type, subject_id)
    session.commit()


def parse_demographics(raw: str) -> Demographics:
    try:
        return Demographics.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", "demographics", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from exc


@router.post("/enrolments", status_code=201, response_model=EnrolmentOut, tags=["enrolment"],
             summary="Enrol a person: quality gate, 1:N deduplication, then a UIN or a case")
def create_enrolment(
    response: Response, services: ServicesDep, session: SessionDep, actor: Officer,
    demographics: Annotated[str, Form(description=DEMOGRAPHICS_HELP)],
    photos: Annotated[list[UploadFile], File(description="1..n JPEG or PNG face photos")],
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> EnrolmentOut:
    person = parse_demographics(demographics)
    uploads = [read_upload(p, services.settings.max_upload_bytes) for p in photos]
    enrolment = workflow.enrol(services, actor, person, uploads, idempotency_key)
    response.headers["Location"] = f"/v1/enrolments/{enrolment.public_id}"
    return enrolment_out(session, session.scalars(select(Enrolment).where(Enrolment.public_id == enrolment.public_id)).one())


@router.get("/enrolments/{enrolment_id}", response_model=EnrolmentOut, tags=["enrolment"])
def get_enrolment(enrolment_id: str, session: SessionDep, actor: Reader) -> EnrolmentOut:
    enrolment = session.scalars(select(Enrolment).where(Enrolment.public_id == enrolment_id)).first()
    if enrolment is None:
        raise NotFound(f"no enrolment {enrolment_id}")
    result = enrolment_out(session, enrolment)
    record_access(session, actor, "enrolment.viewed", "enrolment", enrolment_id)
    return result


@router.get("/identities/{uin}", response_model=IdentityOut, tags=["enrolment"])
def get_identity(uin: str, session: SessionDep, actor: Reader) -> IdentityOut:
    number = normalise_uin(uin)
    identity = session.scalars(select(Identity).where(Identity.uin == number)
                               .options(selectinload(Identity.enrolments))).first()
    if identity is None:
        raise NotFound(f"no identity with UIN {number}")
    result = identity_out(identity)
    record_access(session, actor, "identity.viewed", "identity", number)
    return result


@router.get("/cases", response_model=list[CaseSummaryOut], tags=["adjudication"],
            summary="Deduplication cases, oldest first")
def list_cases(session: SessionDep, actor: Adjudicator,
               status: Annotated[str, Query(pattern="^(open|decided)$")] = CaseStatus.OPEN,
               limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[CaseSummaryOut]:
    cases = session.scalars(
        select(DedupCase).where(DedupCase.status == status).order_by(DedupCase.created_at, DedupCase.id).limit(limit)
        .options(selectinload(DedupCase.candidates), selectinload(DedupCase.enrolment))
    ).all()
    result = [case_summary(c) for c in cases]
    record_access(session, actor, "case.listed", "case", status)
    return result


@router.get("/cases/{case_id}", response_model=CaseOut, tags=["adjudication"])
def get_case(case_id: str, session: SessionDep, actor: Adjudicator) -> CaseOut:
    result = case_out(session, adjudication.load_case(session, case_id))
    record_access(session, actor, "case.viewed", "case", case_id)
    return result


@router.post("/cases/{case_id}/decision", response_model=CaseOut, tags=["adjudication"],
             summary="Decide a case: duplicate (link, no UIN) or not_duplicate (issue the UIN)")
def decide_case(case_id: str, body: DecisionIn, services: ServicesDep, session: SessionDep,
                actor: Adjudicator) -> CaseOut:
    adjudication.decide(services, actor, case_id, body)
    return case_out(session, adjudication.load_case(session, case_id))


@router.post("/verify", response_model=VerifyOut, tags=["biometrics"], summary="1:1: is this the holder of the UIN?")
def verify(services: ServicesDep, actor: Reader, uin: Annotated[str, Form()],
           photo: Annotated[UploadFile, File()]) -> VerifyOut:
    result = verification.verify(services, actor, uin, read_upload(photo, services.settings.max_upload_bytes))
    return VerifyOut(uin=result.uin, match=result.match, score=round(result.score, 4), threshold=result.threshold,
                     quality=QualityOut.model_validate(result.quality.to_dict()))


@router.post("/identify", response_model=IdentifyOut, tags=["biometrics"], summary="1:N: who is this?")
def identify(services: ServicesDep, actor: Adjudicator, photo: Annotated[UploadFile, File()],
             max_candidates: Annotated[int, Form(ge=1, le=50)] = 10) -> IdentifyOut:
    result = verification.identify(services, actor, read_upload(photo, services.settings.max_upload_bytes),
                                   max_candidates)
    candidates = [
        IdentifyCandidateOut(rank=rank, uin=m.enrolment.identity.uin, score=round(m.score, 4),
                             given_name=m.enrolment.given_name, family_name=m.enrolment.family_name,
                             date_of_birth=m.enrolment.date_of_birth)
        for rank, m in enumerate(result.candidates, start=1) if m.enrolment.identity
    ]
    return IdentifyOut(candidates=candidates, threshold=result.threshold, gallery_size=result.gallery_size,
                       quality=QualityOut.model_validate(result.quality.to_dict()))
