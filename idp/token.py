"""The token endpoint (RFC 6749 §3.2, OIDC Core §3.1.3): authenticate the client, dispatch on grant_type.

Form-encoded only; responses carry ``Cache-Control: no-store`` (RFC 6749 §5.1). Errors are raised as
``idp.errors`` classes and rendered as RFC 6749 §5.2 JSON by ``civid.problems``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from idp import claims_extensions, clients, dpop, grant_extensions
from idp.claims_extensions import ClaimsExtensions
from idp.client_auth import authenticate_client, presents_credentials
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
async def token(request: Request) -> JSONResponse:
    """Exchange a code or a refresh token for tokens."""
    form = await oauth_form(request)
    # One hop into the thread pool for the whole request (a sync route and its session dependency took three). Not
    # on the event loop: a private_key_jwt client's JWKS may be fetched from its jwks_uri, a database server's
    # answers are waited for, and on this shared 2-core machine the event-loop version answered fewer refreshes
    # than the pool on SQLite too (40.9 against 63.9 req/s, benchmarks/idp_throughput, one run each) and 8.7 against
    # 32 on PostgreSQL.
    return await run_in_threadpool(_token, request, form)


def _token(request: Request, form: dict[str, str]) -> JSONResponse:
    services: IdpServices = request.app.state.services
    with services.sessions() as db:
        extension = grant_extensions.of(request.app).get(form.get("grant_type", ""))
        if extension is not None:
            return _extension_token(request, db, services, extension, form)
        client = authenticate_client(request, form, db, services, PATH)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise InvalidRequest("grant_type is required")
        handler = GRANTS.get(grant_type)
        if handler is None:
            raise UnsupportedGrantType(
                f"grant_type {grant_type!r} is not supported; use "
                + " or ".join([*GRANTS, *grant_extensions.of(request.app)])
            )  # RFC 6749 §5.2
        if not clients.may_use(client, grant_type):
            # RFC 6749 §5.2: the client is not registered for this grant type (RFC 7591 §2 grant_types).
            raise UnauthorizedClient(f"this client is not registered for the {grant_type} grant")
        proof = dpop.token_request_proof(request, services, client)  # RFC 9449 §5: None without a DPoP header
        body = handler(db, services, claims_extensions.of(request.app), client, form, proof)
        db.commit()
    return JSONResponse(body, headers={**NO_STORE, **dpop.response_headers(services, proof)})


def _extension_token(
    request: Request,
    db: Session,
    services: IdpServices,
    extension: grant_extensions.ExtensionGrant,
    form: dict[str, str],
) -> JSONResponse:
    """An extension grant's token request: a client that presents credentials is authenticated (and must be
    registered for the grant); an anonymous request is admitted only where the extension allows it."""
    client: Client | None = None
    if presents_credentials(request, form) or not extension.anonymous:
        client = authenticate_client(request, form, db, services, PATH)
        if not clients.may_use(client, extension.grant_type):
            raise UnauthorizedClient(f"this client is not registered for the {extension.grant_type} grant")
    body = extension.handler(db, services, client, form)
    db.commit()
    return JSONResponse(body, headers=NO_STORE)
