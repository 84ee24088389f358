"""The token endpoint (RFC 6749 §3.2, OIDC Core §3.1.3): authenticate the client, dispatch on grant_type.

Form-encoded only; responses carry ``Cache-Control: no-store`` (RFC 6749 §5.1). Errors are raised as
``idp.errors`` classes and rendered as RFC 6749 §5.2 JSON by ``civid.problems``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from civid.deps import get_services, get_session
from idp import claims_extensions, clients, dpop
from idp.claims_extensions import ClaimsExtensions
from idp.client_auth import authenticate_client
from idp.dpop import Proof
from idp.errors import InvalidRequest, UnauthorizedClient, UnsupportedGrantType
from idp.form import oauth_form
from idp.grants import authorization_code, refresh_token
from idp.runtime import IdpServices
from models import Client

PATH = "/token"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1
Handler = Callable[[Session, IdpServices, ClaimsExtensions, Client, Mapping[str, str], Proof | None], dict]
GRANTS: dict[str, Handler] = {
    authorization_code.GRANT_TYPE: authorization_code.create_token_response,
    refresh_token.GRANT_TYPE: refresh_token.create_token_response,
}

router = APIRouter(tags=["openid"])


@router.post(PATH)
def token(
    request: Request,
    form: dict[str, str] = Depends(oauth_form),
    db: Session = Depends(get_session),
    services: IdpServices = Depends(get_services),
) -> JSONResponse:
    """Exchange a code or a refresh token for tokens."""
    client = authenticate_client(request, form, db, services, PATH)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequest("grant_type is required")
    handler = GRANTS.get(grant_type)
    if handler is None:
        raise UnsupportedGrantType(
            f"grant_type {grant_type!r} is not supported; use {' or '.join(GRANTS)}"
        )  # RFC 6749 §5.2
    if not clients.may_use(client, grant_type):
        # RFC 6749 §5.2: the client is not registered for this grant type (RFC 7591 §2 grant_types).
        raise UnauthorizedClient(f"this client is not registered for the {grant_type} grant")
    proof = dpop.token_request_proof(request, services, client)  # RFC 9449 §5: None without a DPoP header
    body = handler(db, services, claims_extensions.of(request.app), client, form, proof)
    db.commit()
    return JSONResponse(body, headers={**NO_STORE, **dpop.response_headers(services, proof)})
