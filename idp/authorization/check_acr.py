"""The authentication level a request demands (OIDC Core §3.1.2.1 ``acr_values``, §5.5.1.1 essential
``acr`` claim, OIDC Registration §2 ``default_acr_values``).

Values are alternatives, so each source demands the lowest level among its known values; unknown values
are ignored (civid cannot honour them and they are not an error). Known means known to the application's
login methods (``ctx.methods``): a method registered on the app binds a request naming its acr as firmly as
a built-in one. The strictest source wins: the client's registered default is a floor that a request cannot
lower. (OIDC Registration lets a request override the default, but the request travels through the citizen's
browser and can be edited; a portal that registered the passkey level must never receive a face-only login
because someone rewrote its URL.)
"""

from __future__ import annotations

from idp.authorization.context import AuthorizationContext


def _essential_acr(claims_parameter: dict | None) -> list[str]:
    spec = ((claims_parameter or {}).get("id_token") or {}).get("acr")
    if not spec or not spec.get("essential"):
        return []  # a voluntary acr request is honoured only as far as convenient (OIDC Core §5.5.1.1)
    return list(spec.get("values") or ([spec["value"]] if "value" in spec else []))


def check(ctx: AuthorizationContext) -> None:
    """Set ``params["acr_values"]`` to the known values of the strictest source ([] when none)."""
    assert ctx.client is not None
    sources = [ctx.words("acr_values"), _essential_acr(ctx.params.get("claims")), list(ctx.client.default_acr_values)]
    levels = ctx.methods.levels
    strictest: list[str] = []
    for values in sources:
        known = [v for v in values if v in levels]
        if known and ctx.methods.required_level(known) > ctx.methods.required_level(strictest):
            strictest = known
    ctx.params["acr_values"] = strictest
