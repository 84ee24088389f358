"""``nonce`` (OIDC Core §3.1.2.1): optional in the code flow, copied unchanged into the ID token so the
client can bind it to its session and detect replay."""

from __future__ import annotations

from idp.authorization.context import MAX_NONCE, AuthorizationContext
from idp.errors import InvalidRequest


def check(ctx: AuthorizationContext) -> None:
    """Carry ``nonce`` through."""
    nonce = ctx.raw.get("nonce")
    if nonce is not None and len(nonce) > MAX_NONCE:
        raise InvalidRequest(f"nonce is longer than {MAX_NONCE} characters")
    ctx.params["nonce"] = nonce
