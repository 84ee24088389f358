"""PKCE with S256 is required of every client, confidential ones included (RFC 9700 §2.1.1) — unless an admin
registered a confidential client to use nonce instead (``require_pkce`` false; RFC 9700 §2.1.1 allows it for
OpenID clients that check the ID token's nonce, as the OpenID Foundation's Basic OP plan does). Such a client
may still send PKCE, and then it is checked as for anyone; a public client can never be registered so.

RFC 7636 §4.3: a missing ``code_challenge_method`` means ``plain``, which civid refuses (the challenge
would be the verifier itself, visible in the browser's URL), so a missing method is refused too.
RFC 7636 §4.4.1: the error is ``invalid_request``.
"""

from __future__ import annotations

import re

from idp.authorization.context import AuthorizationContext
from idp.errors import InvalidRequest

# RFC 7636 §4.2: S256 challenge = BASE64URL(SHA256(verifier)) without padding: exactly 43 characters.
S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


def check(ctx: AuthorizationContext) -> None:
    """Require a well-formed S256 ``code_challenge`` (or, for a client allowed it, a ``nonce`` instead)."""
    assert ctx.client is not None
    challenge = ctx.raw.get("code_challenge")
    method = ctx.raw.get("code_challenge_method")
    if not challenge and method is None and not ctx.client.require_pkce:
        if not ctx.raw.get("nonce"):
            # RFC 9700 §2.1.1: without PKCE, only the nonce ties the code to the client's session.
            raise InvalidRequest("code_challenge (PKCE, RFC 7636) or nonce is required")
        ctx.params["code_challenge"] = None
        ctx.params["code_challenge_method"] = None
        return
    if not challenge:
        raise InvalidRequest("code_challenge is required (PKCE, RFC 7636)")
    if method is None:
        # RFC 7636 §4.3: absent means "plain".
        raise InvalidRequest("code_challenge_method is required and must be S256 (the default, plain, is refused)")
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256")
    if not S256_CHALLENGE.fullmatch(challenge):
        raise InvalidRequest("code_challenge must be 43 base64url characters (an S256 hash)")
    ctx.params["code_challenge"] = challenge
    ctx.params["code_challenge_method"] = method
