"""``login_hint`` (OIDC Core §3.1.2.1): the citizen's UIN, if the portal knows it. Prefills the login form,
and a session of another person does not satisfy the request. A hint that is not a well-formed UIN is
ignored (it is a hint, not a demand)."""

from __future__ import annotations

from civid.errors import InvalidUin
from civid.uin import normalise_uin
from idp.authorization.context import AuthorizationContext


def check(ctx: AuthorizationContext) -> None:
    """Set ``params["login_hint"]`` to the normalised UIN, or None."""
    hint = ctx.raw.get("login_hint")
    try:
        ctx.params["login_hint"] = normalise_uin(hint) if hint else None
    except InvalidUin:
        ctx.params["login_hint"] = None
