"""Pushed Authorization Requests (RFC 9126): the client posts its authorization request to ``/par`` over
the back channel, authenticated, and sends the browser to ``/authorize`` with only ``client_id`` and the
returned ``request_uri``. The parameters never travel through (or can be edited in) the browser.

Validation is the same chain as at ``/authorize`` (``idp.authorization``); errors are JSON (RFC 9126 §2.3,
RFC 6749 §5.2). The request_uri is single use and expires after ``par_ttl_s``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from civid.deps import get_services
from idp import claims_extensions, dpop, interactions, login_methods
from idp.authorization import AuthorizationContext, validate
from idp.client_auth import authenticate_client
from idp.errors import InvalidRequest
from idp.form import oauth_form
from idp.runtime import IdpServices

PATH = "/par"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

router = APIRouter(tags=["openid"])


@router.post(PATH, status_code=201)
def pushed_authorization_request(
    request: Request, form: dict[str, str] = Depends(oauth_form), services: IdpServices = Depends(get_services)
) -> JSONResponse:
    """RFC 9126 §2.1-2.2: validate and store the request; answer 201 with its ``request_uri``."""
    with services.sessions.begin() as db:
        client = authenticate_client(request, form, db, services, endpoint=PATH)
        if form.get("client_id") not in (None, client.client_id):
            raise InvalidRequest("client_id does not match the authenticated client")
        # Credentials are not authorization parameters.
        raw = {k: v for k, v in form.items() if k not in ("client_secret", "client_assertion", "client_assertion_type")}
        ctx = AuthorizationContext(
            raw,
            db,
            services,
            claims_extensions.of(request.app),
            login_methods.of(request),
            at_par=True,
            client=client,
        )
        validate(ctx)
        proof = dpop.pushed_request_binding(request, services, client, ctx.params)  # RFC 9449 §10.1: binds the code
        ttl = services.settings.par_ttl_s
        row = interactions.create(db, client.client_id, ctx.params, ttl, pushed=True)
        body = {"request_uri": interactions.REQUEST_URI_PREFIX + row.uid, "expires_in": ttl}
    return JSONResponse(body, status_code=201, headers={**NO_STORE, **dpop.response_headers(services, proof)})
