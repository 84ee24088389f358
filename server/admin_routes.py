"""Administration and audit API: API keys (admin), the audit trail (auditor), health (anyone)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from civid.auth import create_api_key, require, revoke_api_key
from civid.deps import get_services, get_session
from civid.input_types import IsoDateTime, RowId
from civid.uin import normalise_uin
from models import ROLES, ApiKey, AuditEvent
from server.services import Services

router = APIRouter()
Admin = Annotated[Actor, Depends(require("admin"))]
Auditor = Annotated[Actor, Depends(require("auditor"))]
SessionDep = Annotated[Session, Depends(get_session)]


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["Officer Maria Chan, Belmopan desk 3"])
    role: str = Field(pattern="^(" + "|".join(ROLES) + ")$")


class ApiKeyOut(BaseModel):
    id: int
    name: str
    role: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="The secret, shown once; only its hash is stored")


class AuditEventOut(BaseModel):
    id: int
    occurred_at: datetime
    actor_id: int | None
    actor_name: str
    actor_role: str
    action: str
    subject_type: str
    subject_id: str
    person: str | None = Field(None, description="UIN of the person the event is about, when there is one")
    client_id: str | None = Field(None, description="The relying party that took part, when there is one")
    detail: dict[str, Any]
    leaf_index: int | None = Field(None, description="The event's place in the audit log; None until sequenced")
    hash: str | None = Field(None, description="The hash chain's link; None until sequenced")


class ChainOut(BaseModel):
    events_checked: int
    intact: bool
    first_broken_event: int | None


def _key_out(row: ApiKey) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "prefix": row.prefix,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
    }


@router.post("/v1/api-keys", status_code=201, response_model=ApiKeyCreatedOut, tags=["admin"])
def create_key(body: ApiKeyIn, session: SessionDep, actor: Admin) -> ApiKeyCreatedOut:
    row, secret = create_api_key(session, body.name, body.role, actor)
    session.commit()
    return ApiKeyCreatedOut(**_key_out(row), key=secret)


@router.get("/v1/api-keys", response_model=list[ApiKeyOut], tags=["admin"])
def list_keys(session: SessionDep, actor: Admin) -> list[ApiKeyOut]:
    return [ApiKeyOut(**_key_out(r)) for r in session.scalars(select(ApiKey).order_by(ApiKey.id))]


@router.delete("/v1/api-keys/{key_id}", response_model=ApiKeyOut, tags=["admin"])
def revoke_key(key_id: RowId, session: SessionDep, actor: Admin) -> ApiKeyOut:
    row = revoke_api_key(session, key_id, actor)
    session.commit()
    return ApiKeyOut(**_key_out(row))


@router.get("/v1/audit/events", response_model=list[AuditEventOut], tags=["audit"])
def audit_events(
    session: SessionDep,
    actor: Auditor,
    subject_id: str | None = None,
    actor_id: RowId | None = None,
    action: str | None = None,
    person: Annotated[str | None, Query(description="A UIN: every event about that person")] = None,
    client_id: Annotated[str | None, Query(description="Every event a relying party took part in")] = None,
    actor_name: Annotated[str | None, Query(description="e.g. an officer's key name")] = None,
    since: IsoDateTime | None = None,
    until: IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEventOut]:
    """Events newest first, filtered by person, client, actor, action, subject and time (auditor role)."""
    if person is not None:
        person = normalise_uin(person)  # a mistyped UIN is a 422, not an empty answer
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    for column, value in (
        (AuditEvent.subject_id, subject_id),
        (AuditEvent.actor_id, actor_id),
        (AuditEvent.action, action),
        (AuditEvent.person, person),
        (AuditEvent.client_id, client_id),
        (AuditEvent.actor_name, actor_name),
    ):
        if value is not None:
            query = query.where(column == value)
    # In UTC, the zone every time is stored in: SQLite compares the stored wall-clock text only.
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= audit.as_utc(since))
    if until is not None:
        query = query.where(AuditEvent.occurred_at < audit.as_utc(until))
    return [AuditEventOut.model_validate(e, from_attributes=True) for e in session.scalars(query)]


@router.get("/v1/audit/verify", response_model=ChainOut, tags=["audit"], summary="Check the audit hash chain")
def audit_verify(session: SessionDep, actor: Auditor, services: Annotated[Services, Depends(get_services)]) -> ChainOut:
    services.audit_log.sequencer.now()  # every committed event linked before the walk
    checked, broken = audit.verify_chain(session)
    return ChainOut(events_checked=checked, intact=broken is None, first_broken_event=broken)


@router.get("/healthz", tags=["service"])
def health(services: Annotated[Services, Depends(get_services)]) -> dict[str, Any]:
    if services.settings.role == "idp":  # serves no gallery (server.services.build_services): none to report
        return {"status": "ok", "role": "idp"}
    # Counted at most once per CIVID_HEALTHZ_GALLERY_CACHE_S (server/health.py): on Milvus a count is a query.
    size = services.gallery_size.size(services.gallery)
    return {"status": "ok", "gallery_size": size, "gallery_index": services.gallery.kind}
