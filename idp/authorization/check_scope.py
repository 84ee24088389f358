"""Scopes: ``openid`` is required (this is an OpenID provider; OIDC Core §3.1.2.1), every scope must be
known and allowed for the client, and ``uin`` only for clients entitled to the national number.
Errors are ``invalid_scope`` (RFC 6749 §4.1.2.1).

``offline_access`` (OIDC Core §11) is allowed when the client may ask for it; it is a scope like the
others for consent, so the citizen is asked before a client gets tokens that outlive the login.
"""

from __future__ import annotations

from idp.authorization.context import AuthorizationContext
from idp.clients import STANDARD_SCOPES
from idp.errors import InvalidScope

KNOWN_SCOPES = (*STANDARD_SCOPES, "uin")


def check(ctx: AuthorizationContext) -> None:
    """Set ``params["scope"]`` to the requested scopes (a list) after checking each."""
    assert ctx.client is not None
    scopes = ctx.words("scope")
    if "openid" not in scopes:
        raise InvalidScope("the openid scope is required")
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if unknown:
        raise InvalidScope(f"unknown scope: {' '.join(unknown)}")
    for scope in scopes:
        if scope == "uin":
            if "uin" not in ctx.client.entitlements:
                raise InvalidScope("this client is not entitled to the uin scope")
        elif scope not in ctx.client.allowed_scopes:
            raise InvalidScope(f"this client may not ask for the {scope} scope")
    ctx.params["scope"] = scopes
