"""Pushed Authorization Requests (RFC 9126): ``request_uri`` names a request the client pushed to ``/par``.

At ``/authorize`` only ``client_id`` and ``request_uri`` are used; every other parameter comes from the
pushed request, already validated (RFC 9126 §4). A request_uri is single use (§7.3) and short-lived;
a client registered with ``require_pushed_authorization_requests`` may only use this way (§5), because
the point of PAR is that parameters are not taken from a URL anyone can edit.
"""

from __future__ import annotations

from civid import audit
from idp import interactions
from idp.authorization.context import AuthorizationContext
from idp.errors import InvalidRequest, InvalidRequestUri, RequestUriNotSupported
from models import utcnow


def check(ctx: AuthorizationContext) -> None:
    """Replace the request's parameters with the pushed ones, or refuse a non-pushed request if required."""
    request_uri = ctx.raw.get("request_uri")
    if ctx.at_par:
        if request_uri is not None:
            raise InvalidRequest("request_uri is not allowed in a pushed authorization request")  # RFC 9126 §2.1
        return
    assert ctx.client is not None
    if request_uri is None:
        if ctx.client.require_par:
            raise InvalidRequest("this client must use a pushed authorization request (PAR)")  # RFC 9126 §5
        return
    if not request_uri.startswith(interactions.REQUEST_URI_PREFIX):
        # Not one of ours: a request object by reference (OIDC Core §6.2), which civid does not fetch.
        # With a registered redirect URI, check_request_object refuses it after check_redirect_uri, so the
        # client is told (OIDC Core §3.1.2.6); without one, the citizen is shown why (RFC 6749 §4.1.2.1).
        if ctx.raw.get("redirect_uri") not in ctx.client.redirect_uris:
            raise RequestUriNotSupported("request_uri is only accepted as issued by this server's /par endpoint")
        return
    row = interactions.find(ctx.db, request_uri[len(interactions.REQUEST_URI_PREFIX) :], pushed=True)
    if row is None or row.client_id != ctx.client.client_id:
        # RFC 9126 §4: the request_uri must have been pushed by the client named by client_id.
        raise InvalidRequestUri("request_uri is unknown or was pushed by another client")
    if row.consumed_at is not None:
        raise InvalidRequestUri("request_uri was already used")  # RFC 9126 §7.3: one-time use
    if audit.as_utc(row.expires_at) <= utcnow():
        raise InvalidRequestUri("request_uri has expired")
    if not interactions.consume(ctx.db, row):
        raise InvalidRequestUri("request_uri was already used")
    ctx.pushed = row
    ctx.params = dict(row.params)
    ctx.redirect_uri = row.params["redirect_uri"]
    ctx.complete = True
