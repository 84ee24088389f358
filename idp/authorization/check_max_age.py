"""``max_age`` (OIDC Core §3.1.2.1): the most seconds since the citizen last actively authenticated; older
sessions must log in again (``max_age=0`` is like ``prompt=login``). ``auth_time`` is then in the ID token."""

from __future__ import annotations

from idp.authorization.context import AuthorizationContext
from idp.errors import InvalidRequest


def check(ctx: AuthorizationContext) -> None:
    """Set ``params["max_age"]`` to a non-negative int or None."""
    raw = ctx.raw.get("max_age")
    if raw is None:
        ctx.params["max_age"] = None
        return
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:  # "²".isdigit() holds, int("²") fails
        raise InvalidRequest("max_age must be a non-negative integer number of seconds")
    ctx.params["max_age"] = int(raw)
