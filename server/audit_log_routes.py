"""The audit log's public face: its signed checkpoint, consistency proofs (anyone), inclusion proofs (auditor).

The checkpoint and consistency proofs carry only hashes and a count — what a witness outside civid needs to check
that the log only grows, as Certificate Transparency serves them to anyone. An inclusion proof names an event, so
it is for auditors, like the events themselves (server/admin_routes.py).
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from civid.audit import Actor
from civid.audit_log import AuditLog
from civid.auth import require
from civid.deps import get_services
from civid.input_types import RowId, RowIndex
from server.services import Services

router = APIRouter(tags=["audit"])
Auditor = Annotated[Actor, Depends(require("auditor"))]
CHECKPOINT_MEDIA_TYPE = "text/plain; charset=utf-8"


def _log(services: Annotated[Services, Depends(get_services)]) -> AuditLog:
    return services.audit_log


Log = Annotated[AuditLog, Depends(_log)]
TreeSize = RowIndex  # bounded as every integer parameter is (tests/civid/test_input_bounds.py)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


class InclusionOut(BaseModel):
    event_id: int
    leaf_index: int
    tree_size: int
    leaf_hash: str = Field(description="base64 SHA-256(0x00 || leaf data), RFC 9162 §2.1.1")
    inclusion_path: list[str] = Field(description="base64 sibling hashes, leaf to root (RFC 9162 §2.1.3)")
    root_hash: str
    checkpoint: str | None = Field(None, description="The signed checkpoint of tree_size, when the log signed one")


class ConsistencyOut(BaseModel):
    first: int
    second: int
    first_root_hash: str
    second_root_hash: str
    consistency_path: list[str] = Field(description="base64 hashes (RFC 9162 §2.1.4)")


@router.get(
    "/v1/audit/checkpoint",
    response_class=PlainTextResponse,
    summary="The audit log's newest signed checkpoint (C2SP tlog-checkpoint)",
    responses={200: {"content": {CHECKPOINT_MEDIA_TYPE: {}}}},
)
def checkpoint(audit_log: Log) -> PlainTextResponse:
    """Sequences what is committed and signs a checkpoint of it if the log grew; anyone may fetch it."""
    return PlainTextResponse(audit_log.checkpoint().note, media_type=CHECKPOINT_MEDIA_TYPE)


@router.get("/v1/audit/events/{event_id}/proof", response_model=InclusionOut, summary="Inclusion proof of an event")
def inclusion(
    event_id: RowId,
    audit_log: Log,
    actor: Auditor,
    tree_size: Annotated[TreeSize | None, Query(description="Prove against this size; default: newest")] = None,
) -> InclusionOut:
    proof = audit_log.inclusion(event_id, tree_size)
    return InclusionOut(
        event_id=proof.event_id,
        leaf_index=proof.leaf_index,
        tree_size=proof.tree_size,
        leaf_hash=_b64(proof.leaf_hash),
        inclusion_path=[_b64(node) for node in proof.path],
        root_hash=_b64(proof.root),
        checkpoint=proof.checkpoint,
    )


@router.get("/v1/audit/consistency", response_model=ConsistencyOut, summary="Consistency proof between two sizes")
def consistency(
    audit_log: Log,
    first: Annotated[TreeSize, Query(alias="from", description="The older tree size")],
    second: Annotated[TreeSize | None, Query(alias="to", description="The newer tree size; default: newest")] = None,
) -> ConsistencyOut:
    proof = audit_log.consistency(first, second)
    return ConsistencyOut(
        first=proof.old_size,
        second=proof.new_size,
        first_root_hash=_b64(proof.old_root),
        second_root_hash=_b64(proof.new_root),
        consistency_path=[_b64(node) for node in proof.path],
    )
