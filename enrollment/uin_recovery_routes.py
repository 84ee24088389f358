"""The desk's lost-UIN search: ``POST /v1/identities/find`` (officer or adjudicator). Thin: parse the multipart
form, call ``enrollment.uin_recovery.find_at_desk``, answer the matches with their receipt's address."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile
from pydantic import BaseModel, Field

from civid.audit import Actor
from civid.auth import require
from civid.deps import get_services
from civid.input_types import IsoDate
from enrollment.routes import FINGER_HELP, read_fingers, read_upload
from enrollment.runtime import EnrolmentServices
from enrollment.uin_recovery import find_at_desk

router = APIRouter(prefix="/v1", tags=["lifecycle"])
Desk = Annotated[Actor, Depends(require("officer", "adjudicator"))]
ServicesDep = Annotated[EnrolmentServices, Depends(get_services)]


class FoundOut(BaseModel):
    uin: str
    identity_status: str = Field(description="active, suspended, deactivated or merged: shown, never hidden")
    enrolment_id: str = Field(description="The issuing enrolment (its receipt is reprinted from the console)")
    receipt_url: str = Field(description="The console page that prints the person's receipt again")
    given_name: str
    family_name: str
    date_of_birth: date
    face_score: float | None = Field(None, description="Best face cosine similarity, when a face was presented")
    fused_llr: float | None = Field(None, description="Fused log10 likelihood ratio, when fingers were presented")


class FindOut(BaseModel):
    matches: list[FoundOut] = Field(description="Best first; only those the stated demographics agree with")


@router.post(
    "/identities/find",
    response_model=FindOut,
    summary="A person lost their UIN: find them by biometrics (1:N) and the demographics they state",
)
def find(
    services: ServicesDep,
    actor: Desk,
    photo: Annotated[UploadFile | None, File(description="A face photo (JPEG or PNG)")] = None,
    fingers: Annotated[list[UploadFile] | None, File(description=FINGER_HELP)] = None,
    finger_positions: Annotated[str | None, Form(description="e.g. [2, 7]")] = None,
    family_name: Annotated[str | None, Form(max_length=100, description="As the person states it")] = None,
    date_of_birth: Annotated[IsoDate | None, Form(description="YYYY-MM-DD, as the person states it")] = None,
) -> FindOut:
    limit = services.settings.max_upload_bytes
    found = find_at_desk(
        services,
        actor,
        read_upload(photo, limit) if photo is not None else None,
        read_fingers(fingers or [], finger_positions, limit),
        family_name,
        date_of_birth,
    )
    return FindOut(
        matches=[
            FoundOut(
                uin=m.uin,
                identity_status=m.identity_status,
                enrolment_id=m.enrolment_id,
                receipt_url=f"/console/enrolments/{m.enrolment_id}/receipt",
                given_name=m.given_name,
                family_name=m.family_name,
                date_of_birth=m.date_of_birth,
                face_score=m.face_score,
                fused_llr=m.fused_llr,
            )
            for m in found
        ]
    )
