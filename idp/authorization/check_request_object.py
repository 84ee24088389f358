"""Request objects (OIDC Core §6: ``request`` by value, ``request_uri`` by reference) are not supported;
clients that need integrity-protected parameters use PAR instead. OIDC Core §3.1.2.6: ``request_not_supported``,
and ``request_uri_not_supported`` for a request_uri civid did not issue (its own PAR request_uris were
loaded by ``load_pushed_request``, which ends the chain, so any request_uri still here is someone else's)."""

from __future__ import annotations

from idp.authorization.context import AuthorizationContext
from idp.errors import InvalidRequest, RequestNotSupported, RequestUriNotSupported


def check(ctx: AuthorizationContext) -> None:
    """Refuse ``request``, a foreign ``request_uri`` (and ``registration``, OIDC Core §7.2.1) parameters."""
    if "request_uri" in ctx.raw:
        raise RequestUriNotSupported("request_uri is only accepted as issued by this server's /par endpoint")
    if "request" in ctx.raw:
        raise RequestNotSupported("request objects are not supported; use a pushed authorization request")
    if "registration" in ctx.raw:
        raise InvalidRequest("the registration parameter is not supported")
