"""The officer and adjudicator HTTP API: thin — parse, check the role, call the workflow, present."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, File, Form, Header, Query, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from starlette import datastructures

from civid import audit
from civid.audit import Actor
from civid.auth import require
from civid.deps import get_services, get_session
from civid.errors import InvalidInput, NotFound, PayloadTooLarge
from civid.input_types import UinPath
from civid.uin import normalise_uin
from enrollment import adjudication, fingerprint_export, verification, workflow
from enrollment.documents import DocumentEvidence
from enrollment.fingerprint import FingerException, FingerUpload
from enrollment.guardian_proof import verify_guardian
from enrollment.present import case_out, case_summary, enrolment_out, identity_out
from enrollment.runtime import EnrolmentServices
from enrollment.schemas import (
    CaseOut,
    CaseSummaryOut,
    DecisionIn,
    Demographics,
    DocumentIn,
    EnrolmentOut,
    FingerExceptionIn,
    FingerReportOut,
    FingerVerifyOut,
    IdentifyCandidateOut,
    IdentifyOut,
    IdentityOut,
    QualityOut,
    VerifyOut,
    check_document_list,
)
from matcher.iso19794 import FINGER_POSITIONS
from models import CaseStatus, DedupCase, Enrolment, EnrolmentStatus, Identity

router = APIRouter(prefix="/v1")
ISO_MEDIA_TYPE = "application/octet-stream"
Officer = Annotated[Actor, Depends(require("officer"))]
Adjudicator = Annotated[Actor, Depends(require("adjudicator"))]
Reader = Annotated[Actor, Depends(require("officer", "adjudicator"))]
ServicesDep = Annotated[EnrolmentServices, Depends(get_services)]
SessionDep = Annotated[Session, Depends(get_session)]

DEMOGRAPHICS_HELP = (
    'JSON object: {"given_name", "middle_names"?, "family_name", "date_of_birth" (YYYY-MM-DD), "sex" (F|M|X), '
    '"place_of_birth", "nationality" (ISO alpha-3), "address": {"line1", "line2"?, "locality", "district"?, '
    '"postal_code"?, "country"}, "phone"? (E.164), "email"?}'
)


def read_upload(upload: datastructures.UploadFile, max_bytes: int) -> workflow.PhotoUpload:
    """Read at most max_bytes+1 so an oversized file is detected without holding all of it.

    Any Starlette upload: a route's ``File`` parameter (FastAPI's subclass) or a file of a form read by hand."""
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


_T = TypeVar("_T")

FINGER_HELP = (
    "Finger images, 8-bit grey PNG, TIFF or BMP at 500 ppi; their positions (ISO/IEC 19794-2 codes "
    "1 right thumb ... 10 left little) in finger_positions, in the same order"
)


def read_fingers(uploads: list[UploadFile], positions: str | None, max_bytes: int) -> list[FingerUpload]:
    """Pair finger files with their positions (a JSON list or comma-separated codes, in upload order)."""
    codes = parse_json_field("finger_positions", positions, list[int]) if positions else []
    if len(codes) != len(uploads):
        raise InvalidInput(
            f"{len(uploads)} finger images but {len(codes)} finger_positions; give one position per image"
        )
    return [
        FingerUpload(code, read_upload(u, max_bytes).data, u.filename or f"finger-{code}", u.content_type)
        for code, u in zip(codes, uploads)
    ]


DOCUMENTS_HELP = (
    'JSON list of the identity documents the officer examined: [{"type": "idcard"|"passport"|"driving_permit"|'
    '"residence_permit"|"birth_certificate", "number", "issuer": {"name", "country" (ISO alpha-3)}, '
    '"date_of_issuance"?, "date_of_expiry"?, "check_methods": ["vpip"|"vpiruv"|"pvp"|"pvr"|"vri"|"vdig"|"vcrypt"|'
    '"data", ...]}]. An expired document is refused.'
)


def parse_documents(raw: str | None) -> list[DocumentEvidence]:
    """The ``documents`` form field: validated (422 naming the member at fault) and turned into evidence."""
    if not raw:
        return []
    documents = parse_json_field("documents", raw, list[DocumentIn])
    assert isinstance(documents, list)
    try:
        check_document_list(documents)
    except ValueError as exc:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("body", "documents"), "msg": str(exc), "input": None}]
        ) from exc
    return [DocumentEvidence.from_input(d) for d in documents]


def parse_json_field(name: str, raw: str, model: type[_T]) -> _T:
    """A form field that carries JSON (or, for a list of ints, comma-separated numbers)."""
    text = raw.strip()
    if model == list[int] and not text.startswith("["):
        text = "[" + text + "]"
    try:
        return TypeAdapter(model).validate_json(text)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", name, *e["loc"])} for e in exc.errors(include_url=False)]
        ) from exc


@router.post(
    "/enrolments",
    status_code=201,
    response_model=EnrolmentOut,
    tags=["enrolment"],
    summary="Enrol a person: quality gates, 1:N face+finger deduplication, then a UIN or a case",
    responses={
        202: {
            "model": EnrolmentOut,
            "description": "Stored as pending_dedup: its deduplication did not finish within dedup_wait_s; "
            "poll the Location",
        }
    },
)
def create_enrolment(
    response: Response,
    services: ServicesDep,
    session: SessionDep,
    actor: Officer,
    demographics: Annotated[str, Form(description=DEMOGRAPHICS_HELP)],
    photos: Annotated[list[UploadFile], File(description="1..n JPEG or PNG face photos")],
    fingers: Annotated[list[UploadFile] | None, File(description=FINGER_HELP)] = None,
    finger_positions: Annotated[str | None, Form(description="e.g. [2, 7] or 2,7")] = None,
    finger_exceptions: Annotated[
        str | None,
        Form(
            description='Fingers that cannot be given: [{"position": 7, "reason": "amputated"|"bandaged"|"scarred"|'
            '"missing_at_birth"|"unable_to_capture", "note"?}]'
        ),
    ] = None,
    finger_record: Annotated[
        UploadFile | None,
        File(description="An ISO/IEC 19794-2:2005 finger minutiae record from another system (imported as is)"),
    ] = None,
    documents: Annotated[str | None, Form(description=DOCUMENTS_HELP)] = None,
    guardian_uin: Annotated[
        str | None,
        Form(description="A minor's guardian (under age_of_majority: required), verified 1:1 at the desk"),
    ] = None,
    guardian_relationship: Annotated[str, Form(description="parent | legal_guardian")] = "parent",
    guardian_photo: Annotated[
        UploadFile | None, File(description="The guardian's face, taken at the desk (JPEG or PNG)")
    ] = None,
    guardian_fingers: Annotated[list[UploadFile] | None, File(description="The guardian's fingers")] = None,
    guardian_finger_positions: Annotated[str | None, Form(description="e.g. [2] or 2")] = None,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> EnrolmentOut:
    person = parse_demographics(demographics)
    evidence = parse_documents(documents)
    limit = services.settings.max_upload_bytes
    uploads = [read_upload(p, limit) for p in photos]
    finger_uploads = read_fingers(fingers or [], finger_positions, limit)
    exceptions = (
        [
            FingerException(e.position, e.reason, e.note)
            for e in parse_json_field("finger_exceptions", finger_exceptions, list[FingerExceptionIn])
        ]
        if finger_exceptions
        else []
    )
    record = read_upload(finger_record, limit).data if finger_record is not None else None
    if record is not None and len(record) > limit:
        raise PayloadTooLarge(f"finger_record: over the limit of {limit} bytes")
    guardian = (
        verify_guardian(
            services,
            actor,
            person.date_of_birth,
            guardian_uin,
            guardian_relationship,
            read_upload(guardian_photo, limit) if guardian_photo is not None else None,
            read_fingers(guardian_fingers or [], guardian_finger_positions, limit),
        )
        if guardian_uin
        else None
    )
    enrolment = workflow.enrol(
        services,
        actor,
        person,
        uploads,
        idempotency_key,
        fingers=finger_uploads,
        finger_exceptions=exceptions,
        finger_record=record,
        documents=evidence,
        guardian=guardian,
    )
    response.headers["Location"] = f"/v1/enrolments/{enrolment.public_id}"
    if enrolment.status == EnrolmentStatus.PENDING_DEDUP:
        # Stored and searchable; its deduplication is queued or running (dedup_wait_s passed): poll Location.
        response.status_code = 202
        response.headers["Retry-After"] = "1"
    return enrolment_out(
        session, session.scalars(select(Enrolment).where(Enrolment.public_id == enrolment.public_id)).one()
    )


@router.get("/enrolments/{enrolment_id}", response_model=EnrolmentOut, tags=["enrolment"])
def get_enrolment(enrolment_id: str, session: SessionDep, actor: Reader) -> EnrolmentOut:
    enrolment = session.scalars(select(Enrolment).where(Enrolment.public_id == enrolment_id)).first()
    if enrolment is None:
        raise NotFound(f"no enrolment {enrolment_id}")
    result = enrolment_out(session, enrolment)
    record_access(session, actor, "enrolment.viewed", "enrolment", enrolment_id)
    return result


@router.get("/identities/{uin}", response_model=IdentityOut, tags=["enrolment"])
def get_identity(uin: UinPath, services: ServicesDep, session: SessionDep, actor: Reader) -> IdentityOut:
    number = normalise_uin(uin)
    identity = session.scalars(
        select(Identity).where(Identity.uin == number).options(selectinload(Identity.enrolments))
    ).first()
    if identity is None:
        raise NotFound(f"no identity with UIN {number}")
    result = identity_out(session, identity, services.settings.ages)
    record_access(session, actor, "identity.viewed", "identity", number)
    return result


@router.get(
    "/cases", response_model=list[CaseSummaryOut], tags=["adjudication"], summary="Deduplication cases, oldest first"
)
def list_cases(
    session: SessionDep,
    actor: Adjudicator,
    status: Annotated[str, Query(pattern="^(open|decided)$")] = CaseStatus.OPEN,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CaseSummaryOut]:
    cases = session.scalars(
        select(DedupCase)
        .where(DedupCase.status == status)
        .order_by(DedupCase.created_at, DedupCase.id)
        .limit(limit)
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


@router.post(
    "/cases/{case_id}/decision",
    response_model=CaseOut,
    tags=["adjudication"],
    summary="Decide a case: duplicate (link, no UIN) or not_duplicate (issue the UIN)",
)
def decide_case(
    case_id: str, body: DecisionIn, services: ServicesDep, session: SessionDep, actor: Adjudicator
) -> CaseOut:
    adjudication.decide(services, actor, case_id, body)
    return case_out(session, adjudication.load_case(session, case_id))


@router.post(
    "/cases/{case_id}/decision/change",
    response_model=CaseOut,
    tags=["adjudication"],
    summary="Change a decided case's decision: a new, audited decision that keeps the old one in the trail",
)
def change_case_decision(
    case_id: str, body: DecisionIn, services: ServicesDep, session: SessionDep, actor: Adjudicator
) -> CaseOut:
    from enrollment import decision_change

    decision_change.change(services, actor, case_id, body)
    return case_out(session, adjudication.load_case(session, case_id))


@router.post(
    "/verify",
    response_model=VerifyOut,
    tags=["biometrics"],
    summary="1:1: is this the holder of the UIN? (face, fingers, or both)",
)
def verify(
    services: ServicesDep,
    actor: Reader,
    uin: Annotated[str, Form()],
    photo: Annotated[UploadFile | None, File(description="A face photo (JPEG or PNG)")] = None,
    fingers: Annotated[list[UploadFile] | None, File(description=FINGER_HELP)] = None,
    finger_positions: Annotated[str | None, Form(description="e.g. [2] or 2")] = None,
) -> VerifyOut:
    limit = services.settings.max_upload_bytes
    result = verification.verify(
        services,
        actor,
        uin,
        read_upload(photo, limit) if photo is not None else None,
        read_fingers(fingers or [], finger_positions, limit),
    )
    face = result.face
    return VerifyOut(
        uin=result.uin,
        match=result.match,
        modalities=(["face"] if face else []) + (["finger"] if result.fingers else []),
        score=round(face.score, 4) if face else None,
        threshold=face.threshold if face else None,
        quality=QualityOut.model_validate(face.quality.to_dict()) if face else None,
        fingers=[
            FingerVerifyOut(
                position=f.position,
                finger=FINGER_POSITIONS[f.position],
                match=f.match,
                score=round(f.score, 4),
                threshold=f.threshold,
                llr=round(f.llr, 3),
                nfiq2=f.report.nfiq2,
                minutiae=f.report.minutiae,
            )
            for f in result.fingers
        ],
        fused_llr=round(result.fused_llr, 3),
    )


@router.post(
    "/identify",
    response_model=IdentifyOut,
    tags=["biometrics"],
    summary="1:N: who is this? (a face photo, fingers, or both)",
)
def identify(
    services: ServicesDep,
    actor: Adjudicator,
    photo: Annotated[UploadFile | None, File(description="A face photo (JPEG or PNG)")] = None,
    fingers: Annotated[list[UploadFile] | None, File(description=FINGER_HELP)] = None,
    finger_positions: Annotated[str | None, Form(description="e.g. [2, 7]")] = None,
    max_candidates: Annotated[int, Form(ge=1, le=50)] = 10,
) -> IdentifyOut:
    limit = services.settings.max_upload_bytes
    probe = read_upload(photo, limit) if photo is not None else None
    finger_uploads = read_fingers(fingers or [], finger_positions, limit)
    if finger_uploads:
        fused = verification.identify_fused(services, actor, probe, finger_uploads, max_candidates)
        return IdentifyOut(
            candidates=[
                IdentifyCandidateOut(
                    rank=rank,
                    uin=m.enrolment.identity.uin,
                    score=None if m.face_score is None else round(m.face_score, 4),
                    finger_scores={p: round(v, 4) for p, v in m.fused.finger_scores.items()},
                    fused_llr=round(m.fused.llr, 3),
                    given_name=m.enrolment.given_name,
                    family_name=m.enrolment.family_name,
                    date_of_birth=m.enrolment.date_of_birth,
                )
                for rank, m in enumerate(fused.candidates, start=1)
                if m.enrolment.identity
            ],
            threshold=fused.threshold,
            gallery_size=len(services.fingers),
            quality=QualityOut.model_validate(fused.quality.to_dict()) if fused.quality else None,
            fingers=[FingerReportOut.model_validate(r.to_dict()) for r in fused.fingers],
        )
    if probe is None:
        raise InvalidInput("send a face photo, fingers, or both")
    result = verification.identify(services, actor, probe, max_candidates)
    candidates = [
        IdentifyCandidateOut(
            rank=rank,
            uin=m.enrolment.identity.uin,
            score=round(m.score, 4),
            given_name=m.enrolment.given_name,
            family_name=m.enrolment.family_name,
            date_of_birth=m.enrolment.date_of_birth,
        )
        for rank, m in enumerate(result.candidates, start=1)
        if m.enrolment.identity
    ]
    return IdentifyOut(
        candidates=candidates,
        threshold=result.threshold,
        gallery_size=result.gallery_size,
        quality=QualityOut.model_validate(result.quality.to_dict()),
    )


@router.get(
    "/identities/{uin}/fingerprints",
    tags=["enrolment"],
    response_class=Response,
    responses={200: {"content": {ISO_MEDIA_TYPE: {}}, "description": "ISO/IEC 19794-2:2005 record"}},
    summary="Export a person's finger minutiae as one ISO/IEC 19794-2:2005 record (for another AFIS)",
)
def export_fingerprints(uin: UinPath, services: ServicesDep, session: SessionDep, actor: Reader) -> Response:
    number = normalise_uin(uin)
    data, positions = fingerprint_export.export_identity(services, session, number)
    audit.record(session, actor, "fingerprints.exported", "identity", number, positions=positions)
    session.commit()
    return Response(
        content=data,
        media_type=ISO_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{number}-fingers.iso"'},
    )
