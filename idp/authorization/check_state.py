"""``state`` is opaque to civid and returned unchanged (RFC 6749 §4.1.1, §4.1.2); only its length is capped."""

from __future__ import annotations

from idp.authorization.context import MAX_STATE, AuthorizationContext
from idp.errors import InvalidRequest


def check(ctx: AuthorizationContext) -> None:
    """Carry ``state`` through."""
    state = ctx.raw.get("state")
    if state is not None and len(state) > MAX_STATE:
        raise InvalidRequest(f"state is longer than {MAX_STATE} characters")
    ctx.params["state"] = state
