"""OpenID Provider metadata at ``/.well-known/openid-configuration`` (OIDC Discovery 1.0 §3, RFC 8414 §2).

Everything a relying party's library needs to integrate by configuration only, built in one function
(``provider_metadata``) so that later features extend one dict. It states only what civid does: no
implicit or hybrid flows, no request objects, no front-channel logout; back-channel logout with ``sid``
(``idp.backchannel_logout``). The registered claims extensions add theirs (``idp.claims_extensions``; kyc:
OIDC4IDA's ``verified_claims_supported`` and what goes with it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from civid.deps import get_services
from civid.settings import Settings
from idp import acr, claims, claims_extensions, client_auth, clients, dpop, grant_extensions, login_methods
from idp.claims_extensions import ClaimsExtensions
from idp.login_methods import LoginMethods
from idp.runtime import IdpServices

PATH = "/.well-known/openid-configuration"
CACHE = {"Cache-Control": "public, max-age=300"}
CLIENT_AUTH_METHODS = list(clients.AUTH_METHODS)
UI_LOCALES = ["en", "es"]
PROMPT_VALUES = ["none", "login", "consent"]

router = APIRouter(tags=["openid"])


def provider_metadata(
    settings: Settings,
    extensions: ClaimsExtensions,
    methods: LoginMethods = acr.BUILT_IN,
    grants: Mapping[str, grant_extensions.ExtensionGrant] | None = None,
) -> dict[str, Any]:
    """The discovery document for this deployment's issuer, offering the login ``methods``' acr values, with the
    claims extensions' and the extension ``grants``' metadata."""
    grants = grants or {}
    issuer = settings.resolved_issuer
    assertion_algs = list(client_auth.ASSERTION_ALGS)
    return {
        "issuer": issuer,
        "authorization_endpoint": issuer + "/authorize",
        "token_endpoint": issuer + "/token",
        "userinfo_endpoint": issuer + "/userinfo",
        "jwks_uri": issuer + "/jwks.json",
        "registration_endpoint": issuer + "/register",
        "end_session_endpoint": issuer + "/logout",
        # RFC 9126 §5: PAR is offered to everyone; a client may be registered to require it.
        "pushed_authorization_request_endpoint": issuer + "/par",
        "require_pushed_authorization_requests": False,
        "introspection_endpoint": issuer + "/introspect",
        "revocation_endpoint": issuer + "/revoke",
        # offline_access is offered: granted to a client allowed it, with prompt=consent (OIDC Core §11;
        # idp.authorization.check_scope). Unknown scopes are ignored rather than refused (OIDC Core §3.1.2.1).
        "scopes_supported": [*clients.STANDARD_SCOPES, "uin", *clients.CREDENTIAL_SCOPES],
        "response_types_supported": ["code"],  # no implicit or hybrid flows
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", *grants],
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        # "none": a wallet (public client, PKCE) redeems its code with its client_id alone (idp.clients).
        "token_endpoint_auth_methods_supported": [*CLIENT_AUTH_METHODS, clients.PUBLIC_AUTH_METHOD],
        "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algs,
        # RFC 9449 §5.1: DPoP proofs are accepted with these algorithms (sender-constrained tokens, FAPI 2.0).
        "dpop_signing_alg_values_supported": list(dpop.ALGS),
        "code_challenge_methods_supported": ["S256"],  # PKCE required; plain refused
        "claims_supported": claims.CLAIMS_SUPPORTED,
        "claims_parameter_supported": True,
        "claim_types_supported": ["normal"],
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "acr_values_supported": methods.acr_values_supported,
        "ui_locales_supported": UI_LOCALES,
        "prompt_values_supported": PROMPT_VALUES,
        # RFC 9207: the authorization response carries `iss`, so clients can detect mix-up attacks.
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False,
        # OIDC Back-Channel Logout 1.0 §2.1: logout tokens carry sid, and ID tokens carry the same sid.
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        **extensions.metadata(settings),
        **grant_extensions.metadata(grants, settings),
    }


@router.get(PATH)
def openid_configuration(request: Request, services: IdpServices = Depends(get_services)) -> JSONResponse:
    """The OpenID Provider configuration document."""
    return JSONResponse(
        provider_metadata(
            services.settings,
            claims_extensions.of(request.app),
            login_methods.of(request),
            grant_extensions.of(request.app),
        ),
        headers=CACHE,
    )
