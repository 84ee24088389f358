"""The credential keys, published: a JWK Set at ``/v1/credentials/jwks.json`` and the SD-JWT VC issuer metadata at
``/.well-known/jwt-vc-issuer`` (draft-ietf-oauth-sd-jwt-vc, "JWT VC Issuer Metadata") that points at it.

A card's QR names its key by ``kid`` in the COSE header and a wallet credential by ``kid`` in the JWS header; a
verifier that has fetched this set once can check both offline. A retired key stays in the set until every card it
signed has expired (``credential_validity_days``), so the set changes rarely and may be cached a day.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from civid.deps import get_services
from credentials.runtime import CredentialServices

JWKS_PATH = "/v1/credentials/jwks.json"
ISSUER_METADATA_PATH = "/.well-known/jwt-vc-issuer"
MEDIA_TYPE = "application/jwk-set+json"  # RFC 7517 §8.5.1
# A new credential key is published signing_key_publish_lead_s (an hour by default) before it signs: a verifier that
# refreshes hourly meets no card it cannot check; one offline longer still has every older key.
MAX_AGE_S = 3600

router = APIRouter(tags=["credentials"])


def jwks_uri(issuer: str) -> str:
    """Where the credential keys are published."""
    return issuer + JWKS_PATH


@router.get(
    JWKS_PATH,
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}, "description": "A JWK Set (RFC 7517 §5)"}},
)
def credential_jwks(services: CredentialServices = Depends(get_services)) -> Response:
    """The public keys that verify the ID card's QR and civid's wallet credentials."""
    return Response(
        json.dumps(services.credential_keys.jwks()),
        media_type=MEDIA_TYPE,
        headers={"Cache-Control": f"public, max-age={MAX_AGE_S}", "Access-Control-Allow-Origin": "*"},
    )


@router.get(ISSUER_METADATA_PATH)
def jwt_vc_issuer(services: CredentialServices = Depends(get_services)) -> dict[str, str]:
    """SD-JWT VC issuer metadata: the ``iss`` of civid's credentials and where their keys are."""
    issuer = services.settings.resolved_issuer
    return {"issuer": issuer, "jwks_uri": jwks_uri(issuer)}
