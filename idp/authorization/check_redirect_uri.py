"""The redirect URI must be exactly one the client registered (OIDC Core §3.1.2.1: "MUST exactly match",
simple string comparison, RFC 3986 §6.2.1): no wildcards, no prefixes, no normalisation of case, port,
trailing slash or query. OIDC requires the parameter even when one URI is registered.

A wrong or missing redirect URI is shown to the citizen, never redirected (RFC 6749 §4.1.2.1): sending
an error to an unregistered URI would make civid an open redirector.
"""

from __future__ import annotations

from idp.authorization.context import AuthorizationContext
from idp.errors import InvalidRequest


def check(ctx: AuthorizationContext) -> None:
    """Set ``ctx.redirect_uri`` when ``redirect_uri`` is registered verbatim for the client."""
    assert ctx.client is not None
    uri = ctx.raw.get("redirect_uri")
    if not uri:
        raise InvalidRequest("the redirect_uri parameter is missing")  # OIDC Core §3.1.2.1: REQUIRED
    if uri not in ctx.client.redirect_uris:
        raise InvalidRequest("redirect_uri is not registered for this client")
    ctx.redirect_uri = uri
    ctx.params["redirect_uri"] = uri
