"""The identity status API: suspend, deactivate, reactivate (each with a reason code and evidence), and the
history. Thin: parse, authenticate, call ``enrollment.identity_status`` (which checks the role per action)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from civid.auth import require
from civid.deps import get_services, get_session
from civid.input_types import UinPath
from enrollment.identity_status import change_status, history
from enrollment.runtime import EnrolmentServices
from models import ROLES

Action = Literal["suspend", "deactivate", "reactivate"]
router = APIRouter(prefix="/v1", tags=["lifecycle"])
# Any staff key is admitted here; ``change_status`` refuses a role not allowed the action (403), so the rule
# lives in one place (``TRANSITIONS``) for the API, the command line and the console.
Staff = Annotated[Actor, Depends(require(*ROLES))]
Reader = Annotated[Actor, Depends(require("officer", "adjudicator", "auditor"))]
ServicesDep = Annotated[EnrolmentServices, Depends(get_services)]
SessionDep = Annotated[Session, Depends(get_session)]


class StatusChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(max_length=32, description="a reason code of the action (see docs/lifecycle.md)")
    evidence_reference: str = Field(
        min_length=1, max_length=200, description="what proves it: a court order, death registration or case number"
    )
    note: str | None = Field(default=None, max_length=500)


class StatusChangeOut(BaseModel):
    uin: str
    transition: str
    from_status: str
    to_status: str
    reason: str
    evidence_reference: str
    note: str | None
    actor: str
    role: str
    at: str


class StatusHistoryOut(BaseModel):
    uin: str
    status: str
    history: list[StatusChangeOut]


def _changing(action: Action) -> Callable[..., StatusChangeOut]:
    def post_status_change(uin: UinPath, body: StatusChangeIn, services: ServicesDep, actor: Staff) -> StatusChangeOut:
        # One transaction: the status, its history row, the audit event and every subscriber's revocation.
        with services.sessions.begin() as session:
            change = change_status(
                session, services.events, actor, action, uin, body.reason, body.evidence_reference, body.note
            )
        return StatusChangeOut(**dataclasses.asdict(change))

    return post_status_change


# One route per action, each a fixed path: a "/identities/{uin}/{action}" pattern would also match every other
# POST under an identity (its passkey bindings), answering them 422 before their own route was reached.
_ACTIONS: tuple[tuple[Action, str], ...] = (
    ("suspend", "Suspend an identity (fraud under investigation, court order)"),
    ("deactivate", "Deactivate an identity (death, duplicate, renunciation)"),
    ("reactivate", "Reactivate a suspended or wrongly deactivated identity"),
)
for _action, _summary in _ACTIONS:
    router.post(
        f"/identities/{{uin}}/{_action}",
        response_model=StatusChangeOut,
        summary=_summary + " with a reason code and an evidence reference",
        name=f"identity_{_action}",
    )(_changing(_action))


@router.get("/identities/{uin}/status", response_model=StatusHistoryOut, summary="Current status and its history")
def get_status(uin: UinPath, session: SessionDep, actor: Reader) -> StatusHistoryOut:
    number, status, changes = history(session, uin)
    audit.record(session, actor, "identity.status_viewed", "identity", number)
    session.commit()  # reading personal data is attributed like changing it (``routes.record_access``)
    return StatusHistoryOut(
        uin=number, status=status, history=[StatusChangeOut(**dataclasses.asdict(c)) for c in changes]
    )
