"""Only the authorization code flow: ``response_type=code`` (OIDC Core §3.1.2.1); implicit and hybrid
responses put tokens in the browser's URL and are refused (``unsupported_response_type``, RFC 6749
§4.1.2.1). Responses are returned in the query only (``response_mode=query``, OAuth 2.0 Multiple Response
Type Encoding Practices §2.1)."""

from __future__ import annotations

from idp.authorization.context import AuthorizationContext
from idp.errors import InvalidRequest, UnsupportedResponseType

RESPONSE_TYPES = ("code",)
RESPONSE_MODES = ("query",)


def check(ctx: AuthorizationContext) -> None:
    """Require ``response_type=code``; allow only the query response mode."""
    response_type = ctx.raw.get("response_type")
    if not response_type:
        raise InvalidRequest("the response_type parameter is missing")
    if " ".join(sorted(response_type.split())) not in RESPONSE_TYPES:
        raise UnsupportedResponseType("only response_type=code is supported")
    mode = ctx.raw.get("response_mode", "query")
    if mode not in RESPONSE_MODES:
        raise InvalidRequest("only response_mode=query is supported")
    ctx.params["response_mode"] = mode
