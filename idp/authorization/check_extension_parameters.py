"""Authorization request parameters of the registered claims extensions (``idp.claims_extensions``; kyc's
OIDC4IDA ``purpose``): each extension validates its own and they join the stored parameters. With no
extension registered, such parameters are ignored like any unknown one (RFC 6749 §3.1)."""

from __future__ import annotations

from idp.authorization.context import AuthorizationContext


def check(ctx: AuthorizationContext) -> None:
    """Set each extension's validated parameters in ``params`` (an invalid one raises ``invalid_request``)."""
    ctx.params.update(ctx.extensions.authorization_parameters(ctx.raw))
