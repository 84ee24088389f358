"""How an OAuth/OIDC error answers a direct request: RFC 6749 §5.2 JSON and, where the specs ask, a challenge.

``idp.app.install`` registers this with ``civid.problems``, which renders every other civid error.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from idp.errors import OAuthError

# Errors about the bearer token rather than the client's credentials (RFC 6750 §3.1, RFC 9470 §3).
BEARER_ERRORS = ("invalid_token", "insufficient_scope", "insufficient_user_authentication")


def oauth_error(request: Request, exc: OAuthError) -> Response:
    """An OAuth/OIDC error as RFC 6749 §5.2 JSON (``error``, ``error_description``) with the problem+json fields
    beside them (the citizen's browser pages get an HTML page before this is asked)."""
    extra = dict(exc.extra)
    bare = extra.pop("bare_challenge", False)
    # idp.dpop: the scheme a resource's token came with, the algorithms it accepts, the nonce to use next.
    scheme = extra.pop("scheme", None)
    algs = extra.pop("dpop_algs", None)
    nonce = extra.pop("dpop_nonce", None)
    body = {
        "error": exc.error,
        "error_description": exc.description,
        "type": exc.type_uri,
        "title": exc.error,
        "status": exc.status,
        "detail": exc.description,
        **extra,
    }
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if nonce:
        headers["DPoP-Nonce"] = nonce  # RFC 9449 §8 (token endpoint), §9 (resource)
    # RFC 6750 §3: a bearer token that does not enable access (insufficient_scope, 403) gets a challenge too.
    if exc.status == 401 or exc.error == "insufficient_scope":
        if scheme is None:
            scheme = "Bearer" if exc.error in BEARER_ERRORS else "Basic"
        challenge = f'{scheme} realm="civid"' + ("" if bare else f', error="{exc.error}"')
        if algs:
            challenge += f', algs="{algs}"'  # RFC 9449 §7.1
        # RFC 9470 §3: a step-up challenge names the authentication that would satisfy it.
        if extra.get("acr_values"):
            challenge += f', acr_values="{extra["acr_values"]}"'
        if extra.get("max_age") is not None:
            challenge += f", max_age={int(extra['max_age'])}"
        headers["WWW-Authenticate"] = challenge
    return JSONResponse(body, status_code=exc.status, headers=headers)
