"""The Credential Endpoint (OpenID4VCI 1.0 §8): ``POST /credential`` with an access token and one ``jwt`` key proof
→ the national PID as an SD-JWT VC bound to the proven key.

Two kinds of access token reach it:
- the opaque token of a redeemed pre-authorized code (``credentials.pre_authorized_code``): for the offer's
  identity, one credential, within ``wallet_access_token_ttl_s``;
- an OpenID access token (``at+jwt``) from the authorization code flow, whose scope holds ``civid_pid``: for the
  person who signed in, Bearer or DPoP-bound (RFC 9449 §7, checked as at UserInfo).
The credential's slot in the status list, its row (claim names, holder key thumbprint; never values) and the
``credential.issued`` audit are written in one transaction with the nonce's consumption.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from civid import audit
from civid.actor import Actor
from credentials import pid, proofs, status
from credentials.errors import (
    CredentialRequestDenied,
    InvalidCredentialRequest,
    InvalidProof,
    UnknownCredentialConfiguration,
    UnknownCredentialIdentifier,
)
from credentials.issuer_metadata import CREDENTIAL_PATH
from credentials.runtime import CredentialServices
from idp import dpop
from idp.errors import InsufficientScope, InvalidToken
from idp.server_secrets import sha256_hex
from idp.tokens import client_actor, verify_access_token
from idp.userinfo import presented_token
from models import Identity, WalletCredential, WalletOffer, utcnow
from models.db import affected_rows

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_BODY_BYTES = 16 * 1024

router = APIRouter(tags=["credentials"])


@dataclass(frozen=True)
class Holder:
    """Whom the access token lets the wallet fetch a credential for, and how it got it."""

    identity: Identity
    flow: str  # pre-authorized_code | authorization_code
    actor: Actor
    offer_id: int | None = None
    client_id: str | None = None


def _offer_holder(db: Session, token: str) -> Holder:
    """The holder of a pre-authorized code's access token; the offer is marked as having fetched its credential."""
    offer = db.scalars(select(WalletOffer).where(WalletOffer.access_token_hash == sha256_hex(token))).first()
    now = utcnow()
    if offer is None or offer.access_token_expires_at is None or audit.as_utc(offer.access_token_expires_at) <= now:
        raise InvalidToken("the access token is invalid or has expired")
    fetched = affected_rows(
        db,
        update(WalletOffer)
        .where(WalletOffer.id == offer.id, WalletOffer.credential_issued_at.is_(None))
        .values(credential_issued_at=now),
    )
    if fetched != 1:
        raise InvalidToken("this access token has already fetched its credential")
    identity = db.get(Identity, offer.identity_id)
    assert identity is not None
    return Holder(identity, "pre-authorized_code", Actor(None, "wallet", "citizen"), offer_id=offer.id)


def _holder(db: Session, services: CredentialServices, presented: dpop.PresentedToken) -> Holder:
    """Whom the presented access token is for (``invalid_token``/``insufficient_scope`` otherwise)."""
    if presented.value.count(".") != 2:  # not a JWT: a pre-authorized code's opaque token
        if presented.scheme != "Bearer":
            raise InvalidToken("a pre-authorized code's access token is a Bearer token")
        return _offer_holder(db, presented.value)
    live = verify_access_token(db, services, presented.value)
    dpop.check_binding(live.claims, presented)
    if pid.SCOPE not in str(live.claims.get("scope", "")).split():
        raise InsufficientScope(f"the access token lacks the {pid.SCOPE} scope")
    client_id = live.grant.client_id
    return Holder(live.grant.identity, "authorization_code", client_actor(client_id), client_id=client_id)


def _proof(body: Any) -> Any:
    """The one ``jwt`` key proof of a Credential Request body (§8.2)."""
    if not isinstance(body, dict):
        raise InvalidCredentialRequest("the credential request must be a JSON object")
    if "credential_identifier" in body:
        raise UnknownCredentialIdentifier("civid issues no credential identifiers: use credential_configuration_id")
    if body.get("credential_configuration_id") != pid.CONFIGURATION_ID:
        raise UnknownCredentialConfiguration(f"credential_configuration_id must be {pid.CONFIGURATION_ID}")
    if "proof" in body:
        raise InvalidCredentialRequest("send proofs (OpenID4VCI 1.0), not proof")
    proofs_member = body.get("proofs")
    jwt_proofs = proofs_member.get("jwt") if isinstance(proofs_member, dict) else None
    if not isinstance(proofs_member, dict) or not isinstance(jwt_proofs, list) or not jwt_proofs:
        raise InvalidProof('proofs must be {"jwt": ["<key proof>"]}')
    if set(proofs_member) != {"jwt"}:
        raise InvalidProof("only the jwt proof type is supported")
    if len(proofs_member["jwt"]) != 1:
        raise InvalidCredentialRequest("one key proof per request: civid issues no batches")
    return proofs_member["jwt"][0]


def issue(db: Session, services: CredentialServices, holder: Holder, key: proofs.ProvenKey) -> str:
    """Sign, record and audit one PID for ``holder`` bound to ``key``."""
    settings = services.settings
    identity = holder.identity
    if identity.status != "active":
        raise CredentialRequestDenied("the identity is not active")
    now = utcnow().replace(microsecond=0)
    expires = now + timedelta(days=settings.wallet_credential_validity_days)
    values = pid.pid_claims(db, identity, now.date())
    row = status.allocate(
        db,
        settings.status_list_size,
        identity_id=identity.id,
        kind="wallet",
        claims=list(pid.RECORD_FIELDS),
        expires_at=expires,
    )
    credential = pid.sign_pid(
        services,
        values,
        holder_jwk=key.jwk,
        status=status.reference(settings.resolved_issuer, row),
        issued_at=now,
        expires_at=expires,
    )
    record = WalletCredential(
        identity_id=identity.id,
        status_id=row.id,
        vct=pid.VCT,
        flow=holder.flow,
        offer_id=holder.offer_id,
        client_id=holder.client_id,
        holder_jkt=key.thumbprint,
        claims=sorted(values),
        issued_at=now,
        expires_at=expires,
    )
    db.add(record)
    db.flush()
    audit.record(
        db,
        holder.actor,
        "credential.issued",
        "credential",
        str(row.id),
        kind="wallet",
        uin=identity.uin,
        vct=pid.VCT,
        flow=holder.flow,
        client_id=holder.client_id,
        offer=holder.offer_id,
        holder_jkt=key.thumbprint,
        claims=sorted(values),
        status_list=row.list_number,
        status_index=row.list_index,
        expires_at=expires.isoformat(),
    )
    return credential


@router.post(CREDENTIAL_PATH)
async def credential(request: Request) -> JSONResponse:
    """Issue the PID to the wallet holding this access token and the proven key."""
    raw = await request.body()
    return await run_in_threadpool(_credential, request, raw)


def _credential(request: Request, raw: bytes) -> JSONResponse:
    services: CredentialServices = request.app.state.services
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidCredentialRequest(f"the credential request must be at most {MAX_BODY_BYTES} bytes")
    presented = presented_token(request, services)  # a DPoP proof is checked (and remembered) once
    with services.sessions.begin() as db:
        holder = _holder(db, services, presented)
        try:
            body = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidCredentialRequest("the credential request must be JSON") from exc
        proof = _proof(body)
        key = proofs.verify(db, services.settings, proof, holder.client_id)
        issued = issue(db, services, holder, key)
    headers = {**NO_STORE, **dpop.resource_headers(services, presented)}
    return JSONResponse({"credentials": [{"credential": issued}]}, headers=headers)
