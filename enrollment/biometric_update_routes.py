"""The biometric update API: re-capture an identity's face or fingers. Thin: parse the multipart form like
``/v1/verify``, call ``enrollment.biometric_update`` (which checks the role, 1:1, 1:N), present."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, UploadFile
from pydantic import BaseModel, Field

from civid.audit import Actor
from civid.auth import require
from civid.deps import get_services
from civid.input_types import UinPath
from enrollment.biometric_update import OneToOne, update_biometrics
from enrollment.routes import FINGER_HELP, read_fingers, read_upload
from enrollment.runtime import EnrolmentServices
from models import ROLES

router = APIRouter(prefix="/v1", tags=["lifecycle"])
# Any staff key is admitted; ``biometric_update`` refuses a role not allowed (403), in one place.
Staff = Annotated[Actor, Depends(require(*ROLES))]
ServicesDep = Annotated[EnrolmentServices, Depends(get_services)]


class OneToOneOut(BaseModel):
    modality: Literal["face", "finger"]
    position: int | None = Field(description="The finger position (ISO/IEC 19794-2 code); null for the face")
    enrolled: bool = Field(description="False for a finger position never enrolled (nothing to compare with)")
    score: float | None = Field(description="Similarity with the person's current template (cosine, or MCC 0-1)")
    threshold: float | None
    match: bool


class BiometricUpdateOut(BaseModel):
    uin: str
    status: Literal["applied"]
    face_replaced: bool = Field(description="The face template was replaced (the old one left the gallery)")
    fingers_replaced: list[int] = Field(description="Positions whose enrolled finger was replaced")
    fingers_added: list[int] = Field(description="Positions enrolled for the first time")
    checks: list[OneToOneOut] = Field(description="The 1:1 comparisons with the person's own templates")


def _check(check: OneToOne) -> OneToOneOut:
    return OneToOneOut(
        modality="face" if check.modality == "face" else "finger",
        position=check.position,
        enrolled=check.enrolled,
        score=None if check.score is None else round(check.score, 4),
        threshold=check.threshold,
        match=check.match,
    )


@router.post(
    "/identities/{uin}/biometrics",
    response_model=BiometricUpdateOut,
    summary="Re-capture an identity's face or fingers: 1:1 against their own, 1:N against everyone else, replace",
)
def post_biometrics(
    uin: UinPath,
    services: ServicesDep,
    actor: Staff,
    photo: Annotated[UploadFile | None, File(description="The new face photo (JPEG or PNG)")] = None,
    fingers: Annotated[list[UploadFile] | None, File(description=FINGER_HELP)] = None,
    finger_positions: Annotated[str | None, Form(description="e.g. [2, 7] or 2,7")] = None,
) -> BiometricUpdateOut:
    limit = services.settings.max_upload_bytes
    done = update_biometrics(
        services,
        actor,
        uin,
        read_upload(photo, limit) if photo is not None else None,
        read_fingers(fingers or [], finger_positions, limit),
    )
    return BiometricUpdateOut(
        uin=done.uin,
        status="applied",
        face_replaced=done.face_replaced,
        fingers_replaced=done.fingers_replaced,
        fingers_added=done.fingers_added,
        checks=[_check(c) for c in done.checks],
    )
