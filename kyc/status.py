"""An attestation's status, asked directly, and its revocation by civid's staff.

- ``GET|POST /v1/kyc/attestations/{id}/status``: the issuing bank (private_key_jwt in a POST body, as at
  introspection: a GET has no body to carry an assertion) or staff with an API key (auditor, adjudicator,
  admin; GET) → ``{"status": "valid"|"revoked"|"expired", "revoked_at", "reason", "expires_at"}``. Another
  bank's attestation is answered 404, as if it did not exist. Banks that must not reveal which attestation
  they check poll the status list instead (``kyc.status_list``).
- ``POST /v1/kyc/attestations/{id}/revoke`` (adjudicator or admin; ``{"reason": ...}`` required): revoked
  for good, audited, set in the status list.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import auth
from civid.audit import Actor
from civid.deps import get_services, get_session
from civid.errors import Forbidden, NotFound, Unauthenticated
from idp.runtime import IdpServices
from kyc import revocation
from kyc.bank_auth import authenticate_bank, optional_body
from models import Attestation

STATUS_PATH = "/v1/kyc/attestations/{attestation_id}/status"
REVOKE_PATH = "/v1/kyc/attestations/{attestation_id}/revoke"
STAFF_ROLES = ("auditor", "adjudicator", "admin")
NO_STORE = {"Cache-Control": "no-store"}

router = APIRouter(tags=["kyc"])


class RevokeIn(BaseModel):
    """Why an attestation is withdrawn (kept with it and in the audit trail; no personal data)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(
        min_length=3,
        max_length=revocation.REASON_MAX,
        examples=["record corrected after re-enrolment", "identity fraud confirmed"],
    )


def find(db: Session, attestation_id: str) -> Attestation:
    """An attestation by its id (``jti``), or NotFound."""
    row = db.scalars(select(Attestation).where(Attestation.uid == attestation_id)).first()
    if row is None:
        raise NotFound(f"no attestation {attestation_id}")
    return row


def _staff(db: Session, request: Request) -> Actor | None:
    """The staff member behind an API key, if the request carries one (else None: a bank, maybe)."""
    presented = auth.presented_key(request)
    if not presented or not presented.startswith(auth.KEY_PREFIX):
        return None
    actor = auth.authenticate(db, presented)
    if actor.role not in STAFF_ROLES:
        raise Forbidden(f"role {actor.role!r} may not read attestation status; needs {' or '.join(STAFF_ROLES)}")
    return actor


def _answer(row: Attestation) -> JSONResponse:
    return JSONResponse({"id": row.uid, **revocation.status_of(row).response()}, headers=NO_STORE)


@router.get(STATUS_PATH)
def status_for_staff(attestation_id: str, request: Request, db: Session = Depends(get_session)) -> JSONResponse:
    """An attestation's status for civid's staff (API key)."""
    if _staff(db, request) is None:
        raise Unauthenticated("send an API key, or POST with private_key_jwt client authentication (a bank)")
    return _answer(find(db, attestation_id))


@router.post(STATUS_PATH)
def status_for_bank(
    attestation_id: str,
    request: Request,
    body: dict[str, Any] = Depends(optional_body),
    db: Session = Depends(get_session),
    services: IdpServices = Depends(get_services),
) -> JSONResponse:
    """An attestation's status for the bank it was issued to (or staff)."""
    if _staff(db, request) is not None:
        return _answer(find(db, attestation_id))
    # Entitlement is not needed to learn the fate of one's own attestations (it may have been withdrawn since).
    client = authenticate_bank(
        request, body, db, services, STATUS_PATH.format(attestation_id=attestation_id), entitlement=None
    )
    row = db.scalars(select(Attestation).where(Attestation.uid == attestation_id)).first()
    if row is None or row.client_id != client.client_id:
        raise NotFound(f"no attestation {attestation_id} issued to this client")
    return _answer(row)


@router.post(REVOKE_PATH)
def revoke(
    attestation_id: str,
    body: RevokeIn,
    request: Request,
    actor: Annotated[Actor, Depends(auth.require("adjudicator", "admin"))],
    services: IdpServices = Depends(get_services),
) -> JSONResponse:
    """Withdraw an attestation (record corrected, fraud found): final, audited, published in the status list."""
    with services.sessions.begin() as db:
        row = find(db, attestation_id)
        changed = revocation.revoke(db, row, body.reason, actor)
        answer = {"id": row.uid, "already_revoked": not changed, **revocation.status_of(row).response()}
    return JSONResponse(answer, headers=NO_STORE)
