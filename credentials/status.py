"""The revocation status of what a citizen carries: each ID card and wallet credential holds one bit of a Token
Status List (draft-ietf-oauth-status-list), published signed with the credential keys at
``/v1/credentials/status-lists/{number}`` for any verifier to poll without credentials.

Indexes are drawn at random in the current list (neighbouring indexes say nothing about issuance order or about
one person), a list is closed three quarters full, and the whole list is published, so polling it does not tell
civid which card a clinic is checking (the draft's herd privacy). Revocation is final: a card reported lost, an
identity suspended, deactivated, withdrawn or corrected (the credentials stating a changed field) — the citizen
is issued a new one.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civid import audit
from civid import revocation as revocation_rules
from civid.actor import Actor
from civid.deps import get_services, get_session
from civid.errors import NotFound
from civid.input_types import RowId
from civid.revocation import stamp_revoked
from civid.token_status_list import BITS, MEDIA_TYPE, STATUS_LIST_TYP, encode
from credentials.runtime import CredentialServices
from models import CredentialStatus, Identity, utcnow

PATH = "/v1/credentials/status-lists/{number}"
FULL_FRACTION = 0.75  # a list is closed at this occupancy: random draws stay cheap
MAX_DRAWS = 64  # at 75 % occupancy, 64 misses in a row happen with probability 1e-8
REASON_MAX = revocation_rules.REASON_MAX
KINDS = ("card", "wallet")

router = APIRouter(tags=["credentials"])


def list_uri(issuer: str, number: int) -> str:
    """The URI of status list ``number`` (a credential's ``status.status_list.uri``, the list token's ``sub``)."""
    return issuer + PATH.format(number=number)


def reference(issuer: str, row: CredentialStatus) -> dict[str, Any]:
    """The ``status`` claim of a credential (Token Status List, "Referenced Token"): where its bit is."""
    return {"status_list": {"idx": row.list_index, "uri": list_uri(issuer, row.list_number)}}


# --- allocation ----------------------------------------------------------------------------------------------
def _current_list(db: Session, size: int) -> int:
    newest = db.scalar(select(func.max(CredentialStatus.list_number))) or 1
    used = (
        db.scalar(select(func.count()).select_from(CredentialStatus).where(CredentialStatus.list_number == newest)) or 0
    )
    return newest + 1 if used >= size * FULL_FRACTION else newest


def allocate(
    db: Session, size: int, *, identity_id: int, kind: str, claims: list[str], expires_at: datetime
) -> CredentialStatus:
    """A fresh slot for a credential about to be signed (flushed in the caller's transaction; the unique slot
    constraint refuses a concurrent draw of the same index, and the caller's transaction then fails whole)."""
    if kind not in KINDS:
        raise ValueError(f"unknown credential kind {kind!r}")
    number = _current_list(db, size)
    for _ in range(MAX_DRAWS):
        index = secrets.randbelow(size)
        taken = db.scalar(
            select(CredentialStatus.id).where(
                CredentialStatus.list_number == number, CredentialStatus.list_index == index
            )
        )
        if taken is None:
            row = CredentialStatus(
                identity_id=identity_id,
                kind=kind,
                list_number=number,
                list_index=index,
                claims=sorted(claims),
                expires_at=expires_at,
            )
            db.add(row)
            db.flush()
            return row
    raise RuntimeError(f"credential status list {number} has no free slot after {MAX_DRAWS} draws")


# --- revocation ----------------------------------------------------------------------------------------------
def revoke(db: Session, row: CredentialStatus, reason: str, actor: Actor) -> bool:
    """Set the credential's bit (in the caller's transaction) and audit it; False if it already was."""
    stamped = stamp_revoked(row, reason, actor)
    if stamped is None:
        return False
    reason = stamped
    identity = db.get(Identity, row.identity_id)
    audit.record(
        db,
        actor,
        "credential.revoked",
        "credential",
        str(row.id),
        kind=row.kind,
        uin=identity.uin if identity else None,
        status_list=row.list_number,
        status_index=row.list_index,
        reason=reason,
    )
    return True


def revoke_for_identity(
    db: Session, identity_id: int, reason: str, actor: Actor, *, stating: set[str] | None = None
) -> list[int]:
    """Revoke the person's live credentials (only those stating one of ``stating``, when given); their ids."""
    now = utcnow()
    rows = db.scalars(
        select(CredentialStatus).where(
            CredentialStatus.identity_id == identity_id, CredentialStatus.revoked_at.is_(None)
        )
    ).all()
    revoked = [
        row.id
        for row in rows
        if audit.as_utc(row.expires_at) > now
        and (stating is None or stating & set(row.claims or []))
        and revoke(db, row, reason, actor)
    ]
    db.flush()
    return revoked


def state(row: CredentialStatus) -> str:
    """valid | revoked | expired (revoked wins: a verifier must learn that an expired card was also withdrawn)."""
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if audit.as_utc(row.expires_at) <= utcnow() else "valid"


# --- the signed list ----------------------------------------------------------------------------------------
def status_list_claims(db: Session, settings: Any, number: int) -> dict[str, Any]:
    """The claims of status list ``number``'s token: the revoked credentials' bits set."""
    revoked = db.scalars(
        select(CredentialStatus.list_index).where(
            CredentialStatus.list_number == number, CredentialStatus.revoked_at.is_not(None)
        )
    ).all()
    issued_at = int(utcnow().timestamp())
    issuer = settings.resolved_issuer
    return {
        "iss": issuer,
        "sub": list_uri(issuer, number),
        "iat": issued_at,
        "exp": issued_at + settings.status_list_validity_s,
        "ttl": settings.status_list_ttl_s,
        "status_list": {"bits": BITS, "lst": encode(set(revoked), settings.status_list_size)},
    }


def signed_status_list(db: Session, services: CredentialServices, number: int) -> str:
    """Status list ``number`` as a ``statuslist+jwt`` signed with the credential keys (NotFound past the newest)."""
    newest = db.scalar(select(func.max(CredentialStatus.list_number))) or 1
    if number < 1 or number > newest:
        raise NotFound(f"no credential status list {number}")
    return services.credential_keys.sign(status_list_claims(db, services.settings, number), typ=STATUS_LIST_TYP)


@router.get(
    PATH,
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}, "description": "The signed status list"}},
)
def credential_status_list(
    number: RowId, db: Session = Depends(get_session), services: CredentialServices = Depends(get_services)
) -> Response:
    """The signed status list of ID cards and wallet credentials: public, cacheable for its ``ttl``; a verifier
    page on another origin may fetch it (CORS)."""
    token = signed_status_list(db, services, number)
    return Response(
        token,
        media_type=MEDIA_TYPE,
        headers={
            "Cache-Control": f"public, max-age={services.settings.status_list_ttl_s}",
            "Access-Control-Allow-Origin": "*",
        },
    )
