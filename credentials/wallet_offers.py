"""Credential offers made at a desk: ``POST /v1/identities/{uin}/wallet-offers`` (officer).

The officer checks the citizen's identity in person, then makes an offer (OpenID4VCI 1.0 §4.1): a QR of
``openid-credential-offer://?credential_offer=...`` for the citizen's wallet, with a pre-authorized code, and a
six-digit transaction code (``tx_code``) shown once to the officer, to be told to the citizen, never sent in the QR.
Both codes are stored only as hashes (``models.WalletOffer``); the offer lives ``wallet_offer_ttl_s`` and is
redeemed once (``credentials.pre_authorized_code``). The audit names the offer and the UIN, never a code.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import select

from civid import audit
from civid.audit import Actor
from civid.auth import require
from civid.deps import get_services
from civid.errors import Conflict, NotFound
from civid.input_types import UinPath
from credentials import pid
from credentials.pre_authorized_code import GRANT_TYPE, tx_code_hash
from credentials.runtime import CredentialServices
from idp.server_secrets import sha256_hex
from models import Identity, WalletOffer, utcnow

PATH = "/v1/identities/{uin}/wallet-offers"
OFFER_SCHEME = "openid-credential-offer://"  # §4.1.3 (a wallet registers this scheme)
TX_CODE_LENGTH = 6
TX_CODE_DESCRIPTION = "The 6-digit code the officer gave you / El código de 6 dígitos que le dio el funcionario"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

router = APIRouter(prefix="", tags=["credentials"])
Officer = Annotated[Actor, Depends(require("officer"))]


def credential_offer(issuer: str, code: str) -> dict[str, Any]:
    """The Credential Offer object (§4.1.1) carrying ``code``."""
    return {
        "credential_issuer": issuer,
        "credential_configuration_ids": [pid.CONFIGURATION_ID],
        "grants": {
            GRANT_TYPE: {
                "pre-authorized_code": code,
                "tx_code": {"input_mode": "numeric", "length": TX_CODE_LENGTH, "description": TX_CODE_DESCRIPTION},
            }
        },
    }


def offer_uri(offer: dict[str, Any]) -> str:
    """The offer by value, as the QR the wallet scans (§4.1.3)."""
    return OFFER_SCHEME + "?credential_offer=" + quote(json.dumps(offer, separators=(",", ":")), safe="")


@router.post(PATH, status_code=201)
def create_wallet_offer(
    uin: UinPath, actor: Officer, services: CredentialServices = Depends(get_services)
) -> JSONResponse:
    """Offer the citizen a PID in their wallet: the offer (and its QR URI) and the transaction code, shown once."""
    settings = services.settings
    with services.sessions.begin() as db:
        identity = db.scalars(select(Identity).where(Identity.uin == uin)).first()
        if identity is None:
            raise NotFound(f"no identity with UIN {uin}")
        if identity.status != "active":
            raise Conflict(f"the identity is {identity.status}: no credential can be issued")
        code = secrets.token_urlsafe(32)
        tx_code = f"{secrets.randbelow(10**TX_CODE_LENGTH):0{TX_CODE_LENGTH}d}"
        now = utcnow()
        row = WalletOffer(
            identity_id=identity.id,
            code_hash=sha256_hex(code),
            tx_code_hash=tx_code_hash(code, tx_code),
            failed_attempts=0,
            created_by=actor.name[:100],
            created_at=now,
            expires_at=now + timedelta(seconds=settings.wallet_offer_ttl_s),
        )
        db.add(row)
        db.flush()
        audit.record(
            db,
            actor,
            "wallet.offer_created",
            "wallet_offer",
            str(row.id),
            uin=uin,
            credential_configuration_id=pid.CONFIGURATION_ID,
            expires_at=row.expires_at.isoformat(),
        )
        offer_id, expires_at = row.id, row.expires_at
    offer = credential_offer(settings.resolved_issuer, code)
    return JSONResponse(
        {
            "offer_id": offer_id,
            "credential_offer": offer,
            "offer_link": offer_uri(offer),  # for the QR; not §4.1.3 credential_offer_uri (by reference)
            "tx_code": tx_code,
            "expires_at": expires_at.isoformat(),
        },
        status_code=201,
        headers=NO_STORE,
    )
