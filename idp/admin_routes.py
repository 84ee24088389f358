"""The IdP's admin API (API key with role ``admin``): relying-party clients and signing keys.

- ``POST /v1/clients`` registers a portal (entitlements such as ``uin`` only here and in the CLI);
  the secret is in the response once. ``GET /v1/clients``, ``GET /v1/clients/{client_id}``.
- ``POST /v1/clients/{client_id}/disable`` stops the client and revokes every grant it holds.
- ``GET /v1/signing-keys`` shows each key's state; ``POST /v1/signing-keys/rotate`` starts a rotation
  (new keys published now, signing after the lead time; see ``idp.keys``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid.audit import Actor
from civid.auth import require
from civid.deps import get_services, get_session
from civid.errors import NotFound
from civid.input_types import DurationSeconds
from idp import clients, grant_lifecycle
from idp.keys import ALGORITHMS, KeyStatus
from idp.runtime import IdpServices
from models import Client, Grant

router = APIRouter(prefix="/v1", tags=["admin: openid"])
Admin = Depends(require("admin"))


class ClientIn(BaseModel):
    """A portal to register (the secret, if any, is generated and returned once)."""

    name: str = Field(min_length=1, max_length=200)
    redirect_uris: list[str] = Field(min_length=1)
    # "none": a citizen's wallet (public client: credential scopes only, PKCE; idp.clients).
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post", "private_key_jwt", "none"] = (
        "client_secret_basic"
    )
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    post_logout_redirect_uris: list[str] = Field(default_factory=list)
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email", "phone", "address"])
    entitlements: list[Literal["uin", "kyc"]] = Field(default_factory=list)
    subject_type: Literal["pairwise", "public"] = "pairwise"
    sector_identifier: str | None = None
    require_par: bool = False
    id_token_signed_response_alg: Literal["ES256", "RS256"] | None = None
    default_acr_values: list[str] = Field(default_factory=list)
    contacts: list[str] = Field(default_factory=list)
    backchannel_logout_uri: str | None = Field(
        None,
        max_length=2000,
        description="Where civid POSTs a logout token when the citizen's session ends "
        "(OpenID Connect Back-Channel Logout 1.0); https, http only on localhost.",
    )
    backchannel_logout_session_required: bool = False
    identity_events_uri: str | None = Field(
        None,
        max_length=2000,
        description="Where civid pushes a Security Event Token (RFC 8417, pushed as RFC 8935) when a person this "
        "client serves has a consented claim corrected (docs/identity-events.md); https, http only on localhost.",
    )
    grant_types: list[Literal["authorization_code", "refresh_token"]] = Field(
        default_factory=lambda: list(clients.GRANT_TYPES),
        description="RFC 7591 grant types the client may use at /token: authorization_code, and refresh_token "
        "for refresh tokens (a client without it gets none).",
    )
    require_pkce: bool = Field(
        True,
        description="false: this confidential client may send a nonce instead of PKCE (RFC 9700 §2.1.1), "
        "as the OpenID Foundation's Basic OP certification requests do; PKCE is still checked when it is sent.",
    )

    require_dpop: bool = Field(
        False,
        description="true: every token request of this client must carry a DPoP proof (RFC 9449; "
        "dpop_bound_access_tokens), so its access and refresh tokens are bound to its key (FAPI 2.0).",
    )

    def metadata(self) -> clients.ClientMetadata:
        """As the registry's metadata."""
        values = self.model_dump()
        values["allowed_scopes"] = values.pop("scopes")
        return clients.ClientMetadata(**values)


class ClientOut(BaseModel):
    """A client's public metadata (never its secret's hash)."""

    client_id: str
    client_name: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    token_endpoint_auth_method: str
    jwks_uri: str | None
    jwks: dict[str, Any] | None
    scope: str
    entitlements: list[str]
    subject_type: str
    sector_identifier: str
    require_pushed_authorization_requests: bool
    id_token_signed_response_alg: str | None
    default_acr_values: list[str]
    contacts: list[str]
    backchannel_logout_uri: str | None
    backchannel_logout_session_required: bool
    identity_events_uri: str | None = None
    grant_types: list[str]
    require_pkce: bool
    dpop_bound_access_tokens: bool = False  # RFC 9449 §5.2
    sector_identifier_uri: str | None
    registered_by: str
    created_at: str | None
    disabled_at: str | None


class ClientCreated(BaseModel):
    client: ClientOut
    client_secret: str | None = Field(description="Shown once; store it in the portal's secret store.")


class ClientDisabled(BaseModel):
    client: ClientOut
    grants_revoked: int


class KeyOut(BaseModel):
    kid: str
    alg: str
    state: Literal["pending", "active", "retired", "expired"]
    published_at: datetime
    activates_at: datetime
    retired_at: datetime | None
    expires_at: datetime | None


class RotateIn(BaseModel):
    algs: list[Literal["ES256", "RS256"]] = Field(default_factory=lambda: list(ALGORITHMS))
    lead_seconds: DurationSeconds | None = Field(
        None, description="How long the new keys are published before they sign; default: signing_key_publish_lead_s."
    )


def _key_out(status: KeyStatus) -> KeyOut:
    return KeyOut(**status.__dict__)


def _client_out(row: Client) -> ClientOut:
    return ClientOut(**clients.describe(row))


def _client_row(db: Session, client_id: str) -> Client:
    row = db.scalars(select(Client).where(Client.client_id == client_id)).first()
    if row is None:
        raise NotFound(f"no client {client_id}")
    return row


def disable_client(db: Session, client_id: str, actor: Actor) -> tuple[Client, int]:
    """Disable a client and revoke every grant (and token) it holds; return it and the grant count."""
    row = clients.disable(db, client_id, actor)
    return row, grant_lifecycle.revoke_grants(db, Grant.client_id == client_id, reason="client_disabled", actor=actor)


@router.post("/clients", status_code=201, response_model=ClientCreated)
def create_client(body: ClientIn, actor: Actor = Admin, db: Session = Depends(get_session)) -> ClientCreated:
    """Register a relying party."""
    row, secret = clients.register(db, body.metadata(), actor)
    db.commit()
    return ClientCreated(client=_client_out(row), client_secret=secret)


@router.get("/clients", response_model=list[ClientOut])
def list_clients(actor: Actor = Admin, db: Session = Depends(get_session)) -> list[ClientOut]:
    """Every registered client, disabled ones included."""
    return [_client_out(row) for row in db.scalars(select(Client).order_by(Client.id))]


@router.get("/clients/{client_id}", response_model=ClientOut)
def get_client(client_id: str, actor: Actor = Admin, db: Session = Depends(get_session)) -> ClientOut:
    """One client's metadata."""
    return _client_out(_client_row(db, client_id))


@router.post("/clients/{client_id}/disable", response_model=ClientDisabled)
def disable(client_id: str, actor: Actor = Admin, db: Session = Depends(get_session)) -> ClientDisabled:
    """Stop a client: no more logins, and every token it holds is revoked (idempotent)."""
    if _client_row(db, client_id).disabled_at is not None:
        return ClientDisabled(client=_client_out(_client_row(db, client_id)), grants_revoked=0)
    row, revoked = disable_client(db, client_id, actor)
    db.commit()
    return ClientDisabled(client=_client_out(row), grants_revoked=revoked)


@router.get("/signing-keys", response_model=list[KeyOut])
def signing_keys(actor: Actor = Admin, services: IdpServices = Depends(get_services)) -> list[KeyOut]:
    """Every signing key and its state (pending, active, retired, expired)."""
    return [_key_out(status) for status in services.signing_keys.status()]


@router.post("/signing-keys/rotate", response_model=list[KeyOut])
def rotate_signing_keys(
    body: RotateIn | None = None, actor: Actor = Admin, services: IdpServices = Depends(get_services)
) -> list[KeyOut]:
    """Rotate: new keys published now, signing after the lead time; old keys kept until their tokens expire."""
    body = body or RotateIn()
    services.signing_keys.ensure()  # a rotation retires the current keys, so they must exist first
    created = {row.kid for row in services.signing_keys.rotate(actor, tuple(body.algs), body.lead_seconds)}
    return [_key_out(status) for status in services.signing_keys.status() if status.kid in created]
