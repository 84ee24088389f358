"""The OP's public signing keys as a JWK Set (RFC 7517 §5) at ``/jwks.json``.

Published keys include a rotated-in key before it signs and a retired key until its tokens expire
(``idp.keys``), so a short cache lifetime is enough for relying parties to keep up with rotation.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from civid.deps import get_services
from idp.runtime import IdpServices

PATH = "/jwks.json"
MEDIA_TYPE = "application/jwk-set+json"  # RFC 7517 §8.5.1
MAX_AGE_S = 300  # shorter than signing_key_publish_lead_s, so a new key is fetched before it is used

router = APIRouter(tags=["openid"])


@router.get(
    PATH,
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}, "description": "A JWK Set (RFC 7517 §5)"}},
)
def jwks(services: IdpServices = Depends(get_services)) -> Response:
    """The public keys that verify civid's ID tokens and access tokens."""
    return Response(
        json.dumps(services.signing_keys.jwks()),
        media_type=MEDIA_TYPE,
        headers={"Cache-Control": f"public, max-age={MAX_AGE_S}"},
    )
