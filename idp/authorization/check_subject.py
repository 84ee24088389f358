"""Requests that name the person: ``id_token_hint`` (OIDC Core §3.1.2.1) and a ``sub`` value in the ``claims``
parameter (§5.5.1). Either sets ``params["required_sub"]``: the provider then answers positively only for
that person (``idp.interaction_policy``): another person's session means a login (or ``login_required``
with ``prompt=none``), and someone else logging in is ``access_denied``."""

from __future__ import annotations

from typing import Any

import jwt

from idp.authorization.context import AuthorizationContext
from idp.errors import InvalidRequest


def _claims_sub(claims: dict[str, Any] | None) -> set[str]:
    values = set()
    for member in ("id_token", "userinfo"):
        spec = ((claims or {}).get(member) or {}).get("sub")
        if isinstance(spec, dict) and "value" in spec:
            if not isinstance(spec["value"], str):
                raise InvalidRequest(f"claims.{member}.sub.value must be a string")
            values.add(spec["value"])
    return values


def check(ctx: AuthorizationContext) -> None:
    """Set ``params["required_sub"]`` from a valid hint and/or the claims parameter (None when neither)."""
    assert ctx.client is not None
    named = _claims_sub(ctx.params.get("claims"))
    hint = ctx.raw.get("id_token_hint")
    if hint:
        try:
            # An expired ID token is still a fine hint (§3.1.2.1); it must be ours and issued to this client.
            claims = ctx.services.signing_keys.verify(hint, audience=ctx.client.client_id, verify_exp=False)
        except jwt.InvalidTokenError as exc:
            raise InvalidRequest("id_token_hint is not an ID token this provider issued to this client") from exc
        named.add(str(claims.get("sub")))
    if len(named) > 1:
        raise InvalidRequest("id_token_hint and the claims parameter name different people")
    ctx.params["required_sub"] = named.pop() if named else None
