"""The ``claims`` request parameter (OIDC Core §5.5): a JSON object asking for individual claims in the
ID token or at UserInfo. Claims the client is not entitled to are silently dropped when released
(``idp.claims.requested``); here only its shape is checked (an extension's member by the extension)."""

from __future__ import annotations

from idp import claims
from idp.authorization.context import AuthorizationContext


def check(ctx: AuthorizationContext) -> None:
    """Parse ``claims`` into ``params["claims"]`` (None when absent)."""
    ctx.params["claims"] = claims.parse_claims_parameter(ctx.raw.get("claims"), ctx.extensions)
