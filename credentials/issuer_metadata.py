"""Credential Issuer Metadata at ``/.well-known/openid-credential-issuer`` (OpenID4VCI 1.0 §12.2).

civid is both the credential issuer and its authorization server (``authorization_servers``: its own OpenID
provider, whose metadata at ``/.well-known/openid-configuration`` offers the pre-authorized code grant, anonymous
access to it, and the ``civid_pid`` scope for the authorization code flow). One credential configuration: the
national PID as an SD-JWT VC (``credentials.pid``), key-bound to a JWK the wallet proves with an ES256 JWT proof.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from civid.deps import get_services
from civid.settings import Settings
from credentials import pid
from credentials.runtime import CredentialServices

PATH = "/.well-known/openid-credential-issuer"
CREDENTIAL_PATH = "/credential"
NONCE_PATH = "/nonce"
CACHE = {"Cache-Control": "public, max-age=300"}
ISSUER_DISPLAY = (
    {"name": "civid national identity", "locale": "en"},
    {"name": "Identidad nacional civid", "locale": "es"},
)
CREDENTIAL_DISPLAY = (
    {"name": "National identity (PID)", "locale": "en", "description": "Your identity as the register holds it"},
    {"name": "Identidad nacional (PID)", "locale": "es", "description": "Su identidad tal como la guarda el registro"},
)

router = APIRouter(tags=["credentials"])


def credential_endpoint(issuer: str) -> str:
    """Where a wallet asks for a credential."""
    return issuer + CREDENTIAL_PATH


def issuer_metadata(settings: Settings) -> dict[str, Any]:
    """The credential issuer metadata of this deployment."""
    issuer = settings.resolved_issuer
    claims = [
        {"path": list(path), "display": [{"name": english, "locale": "en"}, {"name": spanish, "locale": "es"}]}
        for path, english, spanish in pid.CLAIM_DISPLAY
    ]
    return {
        "credential_issuer": issuer,
        "authorization_servers": [issuer],
        "credential_endpoint": credential_endpoint(issuer),
        "nonce_endpoint": issuer + NONCE_PATH,
        "display": list(ISSUER_DISPLAY),
        "credential_configurations_supported": {
            pid.CONFIGURATION_ID: {
                "format": pid.FORMAT,
                "scope": pid.SCOPE,
                "vct": pid.VCT,
                "cryptographic_binding_methods_supported": ["jwk"],
                "credential_signing_alg_values_supported": [pid.SIGNING_ALG],
                "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
                "credential_metadata": {"display": list(CREDENTIAL_DISPLAY), "claims": claims},
            }
        },
    }


@router.get(PATH)
def openid_credential_issuer(services: CredentialServices = Depends(get_services)) -> JSONResponse:
    """What a wallet needs to ask civid for a credential."""
    return JSONResponse(issuer_metadata(services.settings), headers=CACHE)
