"""``dpop_jkt`` (RFC 9449 §10): the client names the thumbprint of its DPoP key, and the code can then be redeemed
only with a proof made by that key, so a code stolen from the redirect is useless to anyone else. At PAR a DPoP
proof on the request does the same and must agree with the parameter (``idp.dpop.pushed_request_binding``).
"""

from __future__ import annotations

from idp import dpop
from idp.authorization.context import AuthorizationContext


def check(ctx: AuthorizationContext) -> None:
    """Keep a well-formed ``dpop_jkt`` (``invalid_request`` otherwise); absent means the code is not bound."""
    jkt = dpop.check_jkt_parameter(ctx.raw.get("dpop_jkt"))
    if jkt is not None:
        ctx.params["dpop_jkt"] = jkt
