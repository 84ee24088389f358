"""Scopes: ``openid`` is required (this is an OpenID provider; OIDC Core §3.1.2.1), scopes civid does not know
are ignored (OIDC Core §3.1.2.1: "Scope values used that are not understood by an implementation SHOULD be
ignored"), and every known one must be allowed for the client, ``uin`` only for clients entitled to the
national number. Errors are ``invalid_scope`` (RFC 6749 §4.1.2.1). The granted scope is only what is kept.

``offline_access`` (OIDC Core §11): granted only to a client registered for it (the scope in its allowed
scopes, and the refresh_token grant) and only with ``prompt=consent``, so the citizen is asked each time;
otherwise it is ignored, as §11 says. A grant holding it outlives the login: its refresh token still works
after the citizen signs out, until they withdraw the consent (what the consent page tells them).

A wallet (a public client, ``idp.clients.PUBLIC_AUTH_METHOD``) asks for a credential scope (OpenID4VCI 1.0 §5.1.2)
and nothing else: no ``openid`` (it gets no ID token and cannot read UserInfo), no other scope; and only a wallet
may ask for a credential scope.
"""

from __future__ import annotations

from idp import clients
from idp.authorization.context import AuthorizationContext
from idp.clients import CREDENTIAL_SCOPES, PUBLIC_AUTH_METHOD, STANDARD_SCOPES
from idp.errors import InvalidScope

KNOWN_SCOPES = (*STANDARD_SCOPES, "uin", *CREDENTIAL_SCOPES)
OFFLINE_ACCESS = "offline_access"


def check(ctx: AuthorizationContext) -> None:
    """Set ``params["scope"]`` to the requested scopes (a list) after checking each."""
    assert ctx.client is not None
    scopes = [s for s in ctx.words("scope") if s in KNOWN_SCOPES]  # OIDC Core §3.1.2.1: unknown ones ignored
    if ctx.client.token_endpoint_auth_method == PUBLIC_AUTH_METHOD:
        _check_wallet(ctx, scopes)
        return
    if "openid" not in scopes:
        raise InvalidScope("the openid scope is required")
    if OFFLINE_ACCESS in scopes and not offline_access_granted(ctx):
        scopes.remove(OFFLINE_ACCESS)  # OIDC Core §11: ignored
    for scope in scopes:
        if scope == "uin":
            if "uin" not in ctx.client.entitlements:
                raise InvalidScope("this client is not entitled to the uin scope")
        elif scope not in ctx.client.allowed_scopes:
            raise InvalidScope(f"this client may not ask for the {scope} scope")
    ctx.params["scope"] = scopes


def offline_access_granted(ctx: AuthorizationContext) -> bool:
    """OIDC Core §11: allowed for the client, which may hold refresh tokens, and asked with prompt=consent."""
    assert ctx.client is not None
    return (
        OFFLINE_ACCESS in ctx.client.allowed_scopes
        and clients.may_use(ctx.client, "refresh_token")
        and "consent" in ctx.words("prompt")
    )


def _check_wallet(ctx: AuthorizationContext, scopes: list[str]) -> None:
    """A wallet's request: one or more of its credential scopes, nothing else."""
    assert ctx.client is not None
    if not scopes or set(scopes) - set(CREDENTIAL_SCOPES):
        raise InvalidScope(f"a wallet may ask only for a credential scope ({', '.join(CREDENTIAL_SCOPES)})")
    for scope in scopes:
        if scope not in ctx.client.allowed_scopes:
            raise InvalidScope(f"this wallet may not ask for the {scope} scope")
    ctx.params["scope"] = list(dict.fromkeys(scopes))
