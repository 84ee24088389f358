"""The client must be registered and enabled (RFC 6749 §4.1.1: ``client_id`` REQUIRED).

An unknown client has no redirect URI we could trust, so the error is shown to the citizen
(RFC 6749 §4.1.2.1). At ``/par`` the client was authenticated before the chain runs.
"""

from __future__ import annotations

from idp import clients
from idp.authorization.context import AuthorizationContext
from idp.errors import InvalidClient, InvalidRequest


def check(ctx: AuthorizationContext) -> None:
    """Load ``ctx.client`` from ``client_id``; ``invalid_request``/``invalid_client`` shown, not redirected."""
    if ctx.at_par and ctx.client is not None:
        ctx.params["client_id"] = ctx.client.client_id
        return
    client_id = ctx.raw.get("client_id")
    if not client_id:
        raise InvalidRequest("the client_id parameter is missing")
    client = clients.find(ctx.db, client_id)
    if client is None:
        raise InvalidClient("unknown or disabled client")
    ctx.client = client
    ctx.params["client_id"] = client.client_id
