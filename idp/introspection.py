"""Token introspection (RFC 7662): a client asks whether a token it holds is active, and what it carries.

The caller authenticates like at the token endpoint. A client may introspect only its own tokens: any
other token, unknown, expired or revoked, is simply ``{"active": false}`` (RFC 7662 §2.2), so the
endpoint reveals nothing about other clients' tokens.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from civid import audit
from civid.deps import get_services, get_session
from idp import tokens
from idp.client_auth import authenticate_client
from idp.errors import InvalidRequest, InvalidToken
from idp.form import oauth_form
from idp.runtime import IdpServices
from idp.subjects import subject_for
from models import Client, utcnow

PATH = "/introspect"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
INACTIVE: dict[str, Any] = {"active": False}

router = APIRouter(tags=["openid"])


def hinted_order(hint: str | None) -> tuple[str, str]:
    """Which kind of token to try first: the hint's (RFC 7662 §2.1, RFC 7009 §2.1), else access token."""
    return ("refresh_token", "access_token") if hint == "refresh_token" else ("access_token", "refresh_token")


def _access_token(db: Session, services: IdpServices, client: Client, token: str) -> dict[str, Any] | None:
    try:
        live = tokens.verify_access_token(db, services, token)
    except InvalidToken:
        return None
    if live.claims.get("client_id") != client.client_id:
        return None
    claims = live.claims
    return {
        "active": True,
        # RFC 9449 §6.2: a DPoP-bound token says so, with the thumbprint of its key.
        "token_type": "DPoP" if claims.get("cnf") else "Bearer",
        "cnf": claims.get("cnf"),
        "scope": claims.get("scope", ""),
        "client_id": claims["client_id"],
        "sub": claims["sub"],
        "iss": claims["iss"],
        "aud": claims.get("aud"),
        "exp": claims["exp"],
        "iat": claims["iat"],
        "jti": claims["jti"],
        "auth_time": claims.get("auth_time"),
        "acr": claims.get("acr"),
    }


def _refresh_token(db: Session, services: IdpServices, client: Client, token: str) -> dict[str, Any] | None:
    row = tokens.find_refresh_token(db, token)
    if row is None:
        return None
    grant = row.grant
    now = utcnow()
    if (
        grant.client_id != client.client_id
        or row.rotated_at is not None
        or row.revoked_at is not None
        or grant.revoked_at is not None
        or audit.as_utc(row.expires_at) <= now
    ):
        return None
    return {
        "active": True,
        "token_type": "refresh_token",
        "scope": grant.scope,
        "client_id": grant.client_id,
        "sub": subject_for(services.idp_secrets, client, grant.identity.uin),
        "iss": services.settings.resolved_issuer,
        "exp": int(audit.as_utc(row.expires_at).timestamp()),
        "iat": int(audit.as_utc(row.created_at).timestamp()),
        "auth_time": int(audit.as_utc(grant.auth_time).timestamp()),
        "acr": grant.acr,
    }


LOOKUPS = {"access_token": _access_token, "refresh_token": _refresh_token}


def introspect(db: Session, services: IdpServices, client: Client, token: str, hint: str | None) -> dict[str, Any]:
    """The introspection response for ``token`` as seen by ``client``."""
    for kind in hinted_order(hint):
        found = LOOKUPS[kind](db, services, client, token)
        if found is not None:
            return {k: v for k, v in found.items() if v is not None}
    return INACTIVE


@router.post(PATH)
def introspection(
    request: Request,
    form: dict[str, str] = Depends(oauth_form),
    db: Session = Depends(get_session),
    services: IdpServices = Depends(get_services),
) -> JSONResponse:
    """RFC 7662 §2: is this token active, and what does it carry?"""
    client = authenticate_client(request, form, db, services, PATH)
    if not form.get("token"):
        raise InvalidRequest("token is required")
    return JSONResponse(introspect(db, services, client, form["token"], form.get("token_type_hint")), headers=NO_STORE)
