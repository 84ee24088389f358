"""Dynamic Client Registration (RFC 7591; OIDC Dynamic Client Registration 1.0) at ``/register``.

Open registration would let anyone create a portal, so registration needs an initial access token
(RFC 7591 §3): an API key with the ``registrar`` role (or ``admin``), sent as a Bearer token. Metadata
is checked by ``idp.clients`` like an admin's; errors are ``invalid_redirect_uri`` or
``invalid_client_metadata`` (§3.2.2). Entitlements to the UIN or KYC claims cannot be self-registered:
only an admin grants them (``civid clients add --entitle``, ``POST /v1/clients``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from civid.audit import Actor
from civid.auth import authenticate, presented_key
from civid.deps import get_services, get_session
from civid.errors import Unauthenticated
from idp import clients, sector_identifier
from idp.errors import InsufficientScope, InvalidClientMetadata, InvalidRequest, InvalidToken
from idp.runtime import IdpServices
from models import utcnow

PATH = "/register"
REGISTRAR_ROLES = ("registrar", "admin")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

router = APIRouter(tags=["openid"])


class RegistrationRequest(BaseModel):
    """Client metadata (RFC 7591 §2, OIDC Registration §2). Unknown members are ignored (§2)."""

    model_config = ConfigDict(extra="ignore")

    redirect_uris: list[str] = Field(min_length=1)
    client_name: str = "Unnamed portal"
    token_endpoint_auth_method: str = "client_secret_basic"  # RFC 7591 §2 default
    grant_types: list[str] = Field(default_factory=lambda: ["authorization_code"])
    response_types: list[str] = Field(default_factory=lambda: ["code"])
    scope: str | None = None
    contacts: list[str] = Field(default_factory=list)
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    subject_type: str = "pairwise"
    sector_identifier_uri: str | None = None
    id_token_signed_response_alg: str | None = None
    default_acr_values: list[str] = Field(default_factory=list)
    post_logout_redirect_uris: list[str] = Field(default_factory=list)
    require_pushed_authorization_requests: bool = False
    application_type: str = "web"
    backchannel_logout_uri: str | None = None  # OIDC Back-Channel Logout 1.0 §2.2
    backchannel_logout_session_required: bool = False
    dpop_bound_access_tokens: bool = False  # RFC 9449 §5.2: civid then refuses token requests without DPoP


def registrar(request: Request, db: Session = Depends(get_session)) -> Actor:
    """The initial access token's holder (RFC 7591 §3: Bearer); refuse anyone else."""
    try:
        actor = authenticate(db, presented_key(request))
    except Unauthenticated as exc:
        raise InvalidToken("an initial access token is required to register a client") from exc
    if actor.role not in REGISTRAR_ROLES:
        raise InsufficientScope("this token may not register clients")
    return actor


async def registration_body(request: Request) -> RegistrationRequest:
    """The JSON body as metadata; malformed metadata is ``invalid_client_metadata`` (RFC 7591 §3.2.2)."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise InvalidRequest("the registration request must be application/json")  # RFC 7591 §3.1
    try:
        return RegistrationRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise InvalidClientMetadata(f"{where}: {first.get('msg', 'invalid')}") from exc


def to_metadata(body: RegistrationRequest, allow_private: bool = False) -> clients.ClientMetadata:
    """Translate RFC 7591 members to civid's client metadata, refusing what civid does not offer; a
    ``sector_identifier_uri`` is fetched (through the SSRF guard, ``allow_private`` as configured) and checked."""
    if body.response_types != ["code"]:
        raise InvalidClientMetadata('response_types must be ["code"]: no implicit or hybrid flows')
    if body.application_type != "web":
        raise InvalidClientMetadata("application_type must be web")
    scopes = body.scope.split() if body.scope else None
    if scopes and set(scopes) - set(clients.STANDARD_SCOPES):
        # The uin scope (and KYC) need an entitlement an admin grants; a self-registered client cannot ask.
        raise InvalidClientMetadata(
            f"scopes {' '.join(sorted(set(scopes) - set(clients.STANDARD_SCOPES)))} cannot be self-registered"
        )
    # OIDC Core §8.1: the sector of pairwise subjects is the host of the sector_identifier_uri.
    sector = (
        sector_identifier.sector_host(body.sector_identifier_uri, body.redirect_uris, allow_private)
        if body.sector_identifier_uri
        else None
    )
    meta = clients.ClientMetadata(
        name=body.client_name,
        redirect_uris=body.redirect_uris,
        token_endpoint_auth_method=body.token_endpoint_auth_method,
        jwks=body.jwks,
        jwks_uri=body.jwks_uri,
        post_logout_redirect_uris=body.post_logout_redirect_uris,
        subject_type=body.subject_type,
        require_par=body.require_pushed_authorization_requests,
        id_token_signed_response_alg=body.id_token_signed_response_alg,
        default_acr_values=body.default_acr_values,
        contacts=body.contacts,
        backchannel_logout_uri=body.backchannel_logout_uri,
        backchannel_logout_session_required=body.backchannel_logout_session_required,
        grant_types=list(body.grant_types),  # checked by the registry: authorization_code, maybe refresh_token
        sector_identifier=sector,
        sector_identifier_uri=body.sector_identifier_uri,
        require_dpop=body.dpop_bound_access_tokens,
    )
    if scopes:
        meta.allowed_scopes = scopes
    return meta


@router.post(PATH, status_code=201)
def register_client(
    actor: Actor = Depends(registrar),
    body: RegistrationRequest = Depends(registration_body),
    db: Session = Depends(get_session),
    services: IdpServices = Depends(get_services),
) -> JSONResponse:
    """RFC 7591 §3.1: register a client; §3.2.1: answer its id, secret and registered metadata."""
    meta = to_metadata(body, services.settings.outbound_allow_private)
    row, secret = clients.register(db, meta, actor, registered_by=f"dcr:{actor.name}"[:100])
    db.commit()
    described = clients.describe(row)
    response: dict[str, Any] = {
        "client_id": row.client_id,
        "client_id_issued_at": int((row.created_at or utcnow()).timestamp()),
        "client_name": row.name,
        "redirect_uris": row.redirect_uris,
        "post_logout_redirect_uris": row.post_logout_redirect_uris,
        "token_endpoint_auth_method": row.token_endpoint_auth_method,
        "grant_types": described["grant_types"],
        "response_types": ["code"],
        "scope": described["scope"],
        "contacts": row.contacts,
        "subject_type": row.subject_type,
        "application_type": "web",
        "require_pushed_authorization_requests": row.require_par,
        "default_acr_values": row.default_acr_values,
        "backchannel_logout_session_required": described["backchannel_logout_session_required"],
        "dpop_bound_access_tokens": described["dpop_bound_access_tokens"],
    }
    for name in ("jwks", "jwks_uri", "id_token_signed_response_alg", "backchannel_logout_uri", "sector_identifier_uri"):
        if described[name] is not None:
            response[name] = described[name]
    if secret is not None:
        response["client_secret"] = secret
        response["client_secret_expires_at"] = 0  # RFC 7591 §3.2.1: 0 = does not expire
    return JSONResponse(response, status_code=201, headers=NO_STORE)
