"""The authorization request's validation, as a chain of one-rule steps (one file per rule, named after it,
like node-oidc-provider's ``lib/actions/authorization/``). ``idp.authorize`` and ``idp.par`` run the same
chain; a reviewer checking a rule opens one file.

Each step reads ``ctx.raw`` (the parameters as received) and writes the validated value into ``ctx.params``
(the keys of ``AuthorizationRequest.params``), or raises an ``idp.errors`` class. Until ``check_client``
and ``check_redirect_uri`` have passed (``ctx.redirect_uri`` set), an error must be shown to the citizen,
never redirected (RFC 6749 §4.1.2.1); ``idp.authorize`` decides that from ``ctx.redirect_uri``.
"""

from __future__ import annotations

from idp.authorization import (
    check_acr,
    check_claims,
    check_client,
    check_dpop_jkt,
    check_extension_parameters,
    check_login_hint,
    check_max_age,
    check_nonce,
    check_pkce,
    check_prompt,
    check_redirect_uri,
    check_request_object,
    check_response_type,
    check_scope,
    check_state,
    check_subject,
    check_ui_locales,
    load_pushed_request,
)
from idp.authorization.context import AuthorizationContext

# Order matters: the client and its redirect URI first (they decide where errors go), then the pushed
# request (which, when present, brings every other parameter already validated), then the rest.
STEPS = (
    check_client,
    load_pushed_request,
    check_redirect_uri,
    check_state,
    check_request_object,
    check_response_type,
    check_pkce,
    check_dpop_jkt,
    check_scope,
    check_claims,
    check_subject,
    check_extension_parameters,  # e.g. OIDC4IDA purpose (kyc)
    check_prompt,
    check_max_age,
    check_acr,
    check_nonce,
    check_ui_locales,
    check_login_hint,
)


def validate(ctx: AuthorizationContext) -> AuthorizationContext:
    """Run every step on ``ctx``; return it with ``client``, ``redirect_uri`` and ``params`` set."""
    for step in STEPS:
        step.check(ctx)
        if ctx.complete:
            break
    return ctx


__all__ = ["AuthorizationContext", "STEPS", "validate"]
