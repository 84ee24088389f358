"""How a bank authenticates at the KYC endpoints: ``private_key_jwt`` only (RFC 7523 §2.2, OIDC Core §9).

A KYC attestation is evidence a regulator may later examine, so the bank proves itself with a key it holds,
not a shared secret: the ``client_assertion_type``/``client_assertion`` pair travels in the JSON body (or a
form body), checked by ``idp.client_auth`` (signature by a registered key, audience, expiry, single-use jti).
A client registered with a secret, or presenting one, is refused. The bank must also hold the ``kyc``
entitlement (granted by an administrator: ``civid clients add --entitle kyc``).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from idp.client_auth import JWT_BEARER, authenticate_client
from idp.errors import AccessDenied, InvalidClient, InvalidRequest
from idp.form import FORM, oauth_form
from idp.runtime import IdpServices
from models import Client

KYC_ENTITLEMENT = "kyc"
MAX_JSON_BYTES = 64 * 1024
AUTH_MEMBERS = ("client_id", "client_assertion_type", "client_assertion", "client_secret")


async def request_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (or form parameters); ``invalid_request`` for anything else."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == FORM:
        return dict(await oauth_form(request))
    if media_type != "application/json":
        raise InvalidRequest("the request body must be application/json")
    raw = await request.body()
    if len(raw) > MAX_JSON_BYTES:
        raise InvalidRequest("the request body is too large")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidRequest("the request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return body


async def optional_body(request: Request) -> dict[str, Any]:
    """FastAPI dependency: the JSON or form body when there is one, else an empty dict."""
    if not request.headers.get("content-type"):
        return {}
    return await request_body(request)


def authenticate_bank(
    request: Request,
    body: dict[str, Any],
    db: Session,
    services: IdpServices,
    endpoint: str,
    *,
    entitlement: str | None = KYC_ENTITLEMENT,
) -> Client:
    """The calling partner, authenticated with private_key_jwt and holding ``entitlement`` (a bank: ``kyc``; the
    civil registry, ``crvs.routes``: ``civil_registry``), which an administrator grants; None admits any
    registered partner (a bank asking the fate of its own attestations)."""
    credentials = {name: body[name] for name in AUTH_MEMBERS if isinstance(body.get(name), str)}
    if "client_secret" in credentials or request.headers.get("authorization", "")[:6].lower() == "basic ":
        raise InvalidClient(
            "KYC endpoints accept only private_key_jwt client authentication (RFC 7523), not a client secret"
        )
    if credentials.get("client_assertion_type") != JWT_BEARER or not credentials.get("client_assertion"):
        raise InvalidClient(
            f"authenticate with private_key_jwt: client_assertion_type {JWT_BEARER} and a "
            "client_assertion signed by your registered key"
        )
    client = authenticate_client(request, credentials, db, services, endpoint)
    if entitlement is not None and entitlement not in client.entitlements:
        raise AccessDenied(f"this client is not entitled to {entitlement} (an administrator grants it)")
    return client
