"""The attestations' status list (IETF Token Status List, draft-ietf-oauth-status-list): one bit per
attestation, 1 = revoked, published as a signed ``statuslist+jwt`` a bank can poll without credentials.

Each attestation gets a random free index in the current list (random, so neighbouring indexes say
nothing about issuance order or about the same person); a list is closed once three quarters full and
the next one opened, so a draw never has to search long. A list's whole bit array is published, so
polling it does not tell civid which attestation a bank is checking (herd privacy: the draft's privacy considerations).
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civid.deps import get_services, get_session
from civid.errors import NotFound
from civid.input_types import RowId
from civid.token_status_list import BITS, MEDIA_TYPE, STATUS_LIST_TYP, decode, encode, status_at
from idp.runtime import IdpServices
from models import Attestation, utcnow

# The bit array lives in the core (shared with credentials/); its names stay importable from here.
__all__ = ["BITS", "MEDIA_TYPE", "STATUS_LIST_TYP", "decode", "encode", "status_at", "router"]

PATH = "/v1/kyc/status-lists/{number}"
FULL_FRACTION = 0.75  # a list is closed at this occupancy: random draws stay cheap
MAX_DRAWS = 64  # at 75 % occupancy, 64 misses in a row happen with probability 1e-8

router = APIRouter(tags=["kyc"])


def list_uri(issuer: str, number: int) -> str:
    """The URI of status list ``number``: the ``uri`` of an attestation's ``status_list`` claim and the
    ``sub`` of the status list token (Token Status List, "Referenced Token" and "Status List Token")."""
    return issuer + PATH.format(number=number)


# --- allocation ------------------------------------------------------------------------------------
def current_list(db: Session, size: int) -> int:
    """The list new attestations go into: the newest one, or the next once it is three quarters full."""
    newest = db.scalar(select(func.max(Attestation.status_list))) or 1
    used = db.scalar(select(func.count()).select_from(Attestation).where(Attestation.status_list == newest)) or 0
    return newest + 1 if used >= size * FULL_FRACTION else newest


def draw_index(db: Session, number: int, size: int) -> int:
    """A random index of list ``number`` that no attestation holds yet (the row's unique constraint
    guards against a concurrent draw of the same slot)."""
    for _ in range(MAX_DRAWS):
        index = secrets.randbelow(size)
        taken = db.scalar(
            select(Attestation.id).where(Attestation.status_list == number, Attestation.status_index == index)
        )
        if taken is None:
            return index
    raise RuntimeError(f"status list {number} has no free slot after {MAX_DRAWS} draws")


def lists_in_use(db: Session) -> int:
    """How many lists exist (list 1 always does, even before the first attestation)."""
    return db.scalar(select(func.max(Attestation.status_list))) or 1


# --- the status list token (Token Status List, "Status List Token in JWT Format") ------------------
def status_list_claims(db: Session, settings: Any, number: int) -> dict[str, Any]:
    """The claims of the signed status list ``number``: revoked attestations' bits set."""
    revoked = db.scalars(
        select(Attestation.status_index).where(Attestation.status_list == number, Attestation.revoked_at.is_not(None))
    ).all()
    issued_at = int(utcnow().timestamp())
    issuer = settings.resolved_issuer
    return {
        "iss": issuer,  # required because the attestations carry an iss too
        "sub": list_uri(issuer, number),
        "iat": issued_at,
        "exp": issued_at + settings.status_list_validity_s,
        "ttl": settings.status_list_ttl_s,
        "status_list": {"bits": BITS, "lst": encode(set(revoked), settings.status_list_size)},
    }


def signed_status_list(db: Session, services: IdpServices, number: int) -> str:
    """Status list ``number`` as a ``statuslist+jwt`` signed with civid's keys (NotFound past the newest)."""
    if number < 1 or number > lists_in_use(db):
        raise NotFound(f"no status list {number}")
    return services.signing_keys.sign(status_list_claims(db, services.settings, number), typ=STATUS_LIST_TYP)


@router.get(
    PATH,
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}, "description": "The signed status list"}},
)
def status_list(
    number: RowId, db: Session = Depends(get_session), services: IdpServices = Depends(get_services)
) -> Response:
    """The signed status list of KYC attestations: public, cacheable for its ``ttl`` (Token Status List,
    "Status List Response" and "Caching")."""
    token = signed_status_list(db, services, number)
    return Response(
        token,
        media_type=MEDIA_TYPE,
        headers={"Cache-Control": f"public, max-age={services.settings.status_list_ttl_s}"},
    )
