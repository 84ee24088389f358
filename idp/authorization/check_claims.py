"""The ``claims`` request parameter (OIDC Core §5.5): a JSON object asking for individual claims in the
ID token or at UserInfo. Claims the client is not entitled to are silently dropped when released
(``idp.claims.requested``); here only its shape is checked (an extension's member by the extension). A wallet
(public client) gets no ID token and no UserInfo, so it may not send the parameter at all."""

from __future__ import annotations

from idp import claims
from idp.authorization.context import AuthorizationContext
from idp.clients import PUBLIC_AUTH_METHOD
from idp.errors import InvalidRequest


def check(ctx: AuthorizationContext) -> None:
    """Parse ``claims`` into ``params["claims"]`` (None when absent)."""
    assert ctx.client is not None
    if ctx.client.token_endpoint_auth_method == PUBLIC_AUTH_METHOD and ctx.raw.get("claims"):
        raise InvalidRequest("a wallet may not use the claims parameter: it is issued credentials, not claims")
    ctx.params["claims"] = claims.parse_claims_parameter(ctx.raw.get("claims"), ctx.extensions)
