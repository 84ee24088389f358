"""Token revocation (RFC 7009): a client says it no longer needs a token.

Revoking a refresh token revokes its whole grant (every access and refresh token of the family, RFC 7009
§2.1 "SHOULD also invalidate all access tokens based on the same authorization grant"); revoking an
access token revokes that token. An unknown, expired or already revoked token is answered 200 all the
same (§2.2): the client's goal is reached. A token of another client is refused (§2.1).
"""

from __future__ import annotations

import jwt
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.deps import get_services, get_session
from idp import grant_lifecycle, tokens
from idp.client_auth import authenticate_client
from idp.errors import InvalidRequest
from idp.form import oauth_form
from idp.introspection import hinted_order
from idp.runtime import IdpServices
from models import AccessToken, Client, utcnow

PATH = "/revoke"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

router = APIRouter(tags=["openid"])


def _revoke_access_token(db: Session, services: IdpServices, client: Client, token: str) -> bool:
    """Revoke an access token of ours by its jti (expired ones too); return whether it was one."""
    try:
        claims = services.signing_keys.verify(token, typ=tokens.ACCESS_TOKEN_TYP, verify_exp=False)
    except (jwt.InvalidTokenError, ValueError):
        return False
    row = db.scalars(select(AccessToken).where(AccessToken.jti == str(claims.get("jti", "")))).first()
    if row is None:
        return False
    if row.grant.client_id != client.client_id:
        raise InvalidRequest("the token was not issued to this client")  # RFC 7009 §2.1
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(
            db,
            tokens.client_actor(client.client_id),
            "oidc.token_revoked",
            "grant",
            row.grant.uid,
            client_id=client.client_id,
            token_type="access_token",
            jti=row.jti,
        )
    return True


def _revoke_refresh_token(db: Session, services: IdpServices, client: Client, token: str) -> bool:
    """Revoke the grant of a refresh token; return whether it was one."""
    row = tokens.find_refresh_token(db, token)
    if row is None:
        return False
    if row.grant.client_id != client.client_id:
        raise InvalidRequest("the token was not issued to this client")  # RFC 7009 §2.1
    grant_lifecycle.revoke_grant(db, row.grant, "refresh_token_revoked", tokens.client_actor(client.client_id))
    return True


REVOKERS = {"access_token": _revoke_access_token, "refresh_token": _revoke_refresh_token}


@router.post(PATH)
def revocation(
    request: Request,
    form: dict[str, str] = Depends(oauth_form),
    db: Session = Depends(get_session),
    services: IdpServices = Depends(get_services),
) -> Response:
    """RFC 7009 §2.1: revoke an access or refresh token; 200 whether or not it existed."""
    client = authenticate_client(request, form, db, services, PATH)
    if not form.get("token"):
        raise InvalidRequest("token is required")
    for kind in hinted_order(form.get("token_type_hint")):
        if REVOKERS[kind](db, services, client, form["token"]):
            break
    db.commit()
    return Response(status_code=200, headers=NO_STORE)
