"""Request objects (OIDC Core §6: ``request``, ``request_uri`` by value) are not supported; clients that
need integrity-protected parameters use PAR instead. OIDC Core §3.1.2.6: ``request_not_supported``."""

from __future__ import annotations

from idp.authorization.context import AuthorizationContext
from idp.errors import InvalidRequest, RequestNotSupported


def check(ctx: AuthorizationContext) -> None:
    """Refuse ``request`` (and ``registration``, OIDC Core §7.2.1) parameters."""
    if "request" in ctx.raw:
        raise RequestNotSupported("request objects are not supported; use a pushed authorization request")
    if "registration" in ctx.raw:
        raise InvalidRequest("the registration parameter is not supported")
