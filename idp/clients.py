"""The registry of relying parties: registration with validated metadata, lookup, and disabling.

Redirect URIs are matched exactly (OIDC Core §3.1.2.1; no wildcards, no prefixes), so registration is
where they are checked: absolute, no fragment, https — plain http only on the loopback interface for
development portals (RFC 8252 §7.3). A ``backchannel_logout_uri`` (OIDC Back-Channel Logout 1.0 §2.2) is
held to the same rules: civid's server POSTs logout tokens to it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from idp.errors import InvalidClient, InvalidClientMetadata, InvalidRedirectUri
from idp.server_secrets import sha256_hex
from models import Client, utcnow

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
# Clients that authenticate at /token (RFC 6749 §2.1 confidential): only these may use nonce instead of PKCE.
CONFIDENTIAL_AUTH_METHODS = AUTH_METHODS
# A public client (RFC 6749 §2.1; RFC 7591 §2 "none"): only a citizen's wallet, which cannot keep a secret in an app
# every citizen installs. It may ask for nothing but a credential scope (never openid: no ID token, no UserInfo),
# with PKCE S256 always and the authorization_code grant only (no refresh token outlives the issuance).
PUBLIC_AUTH_METHOD = "none"
# OpenID4VCI credential scopes (credentials.pid.SCOPE: idp cannot import credentials, a test keeps them equal).
CREDENTIAL_SCOPES = ("civid_pid",)
STANDARD_SCOPES = ("openid", "profile", "email", "phone", "address", "offline_access")
ENTITLEMENTS = ("uin", "kyc", "civil_registry", "presentations")
LOOPBACK = {"localhost", "127.0.0.1", "[::1]", "::1"}
# RFC 7591 §2 grant_types civid offers; authorization_code is the only way in, refresh_token is optional.
GRANT_TYPES: tuple[Literal["authorization_code", "refresh_token"], ...] = ("authorization_code", "refresh_token")


@dataclass
class ClientMetadata:
    """What an admin (or RFC 7591 registration) supplies for a new client."""

    name: str
    redirect_uris: list[str]
    token_endpoint_auth_method: str = "client_secret_basic"
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    allowed_scopes: list[str] = field(default_factory=lambda: ["openid", "profile", "email", "phone", "address"])
    entitlements: list[str] = field(default_factory=list)
    subject_type: str = "pairwise"
    sector_identifier: str | None = None
    require_par: bool = False
    id_token_signed_response_alg: str | None = None
    default_acr_values: list[str] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    identity_events_uri: str | None = None
    grant_types: list[str] = field(default_factory=lambda: list(GRANT_TYPES))
    # False: a confidential client may send nonce instead of PKCE (RFC 9700 §2.1.1); admins only.
    require_pkce: bool = True
    # RFC 9449 §5.2 dpop_bound_access_tokens: token requests without a DPoP proof are refused (FAPI 2.0).
    require_dpop: bool = False
    # OIDC Registration §2, already fetched and checked by ``idp.sector_identifier``; ``sector_identifier``
    # is then its host.
    sector_identifier_uri: str | None = None


def check_redirect_uri(
    uri: str, error: type[InvalidRedirectUri | InvalidClientMetadata] = InvalidRedirectUri, what: str = "redirect URI"
) -> str:
    """Refuse a redirect URI (or another URI of ``what`` kind) a client may not register; return it unchanged
    (it is matched verbatim)."""
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc:
        raise error(f"{what} {uri!r} must be absolute", code="redirect_uri_relative", params={"uri": uri})
    if parts.fragment or "#" in uri:
        raise error(
            f"{what} {uri!r} must not contain a fragment",  # RFC 6749 §3.1.2; Back-Channel Logout §2.2
            code="redirect_uri_fragment",
            params={"uri": uri},
        )
    if "*" in uri:
        raise error(f"{what} {uri!r}: wildcards are not allowed", code="redirect_uri_wildcard", params={"uri": uri})
    if parts.scheme == "http" and (parts.hostname or "") not in LOOPBACK and f"[{parts.hostname}]" not in LOOPBACK:
        raise error(
            f"{what} {uri!r} must use https (http only on localhost)", code="redirect_uri_http", params={"uri": uri}
        )
    if parts.scheme not in ("https", "http"):
        raise error(f"{what} {uri!r} must use https", code="redirect_uri_scheme", params={"uri": uri})
    return uri


def _validate(meta: ClientMetadata) -> str:
    """Check the metadata as a whole; return the sector identifier for pairwise subjects."""
    if not meta.name.strip():
        raise InvalidClientMetadata("client name is required", code="client_name_required")
    if len(meta.name.strip()) > 200:
        raise InvalidClientMetadata("client name must be at most 200 characters", code="client_name_too_long")
    if not meta.redirect_uris:
        raise InvalidRedirectUri("at least one redirect URI is required", code="redirect_uri_required")
    for uri in meta.redirect_uris:
        if meta.token_endpoint_auth_method == PUBLIC_AUTH_METHOD and _private_use_scheme(uri):
            continue  # RFC 8252 §7.1: a wallet app's own scheme (checked in _private_use_scheme)
        check_redirect_uri(uri)
    for uri in meta.post_logout_redirect_uris:
        check_redirect_uri(uri, InvalidClientMetadata)
    if meta.backchannel_logout_uri is not None:
        if len(meta.backchannel_logout_uri) > 2000:
            raise InvalidClientMetadata(
                "backchannel_logout_uri must be at most 2000 characters", code="backchannel_logout_uri_too_long"
            )
        check_redirect_uri(meta.backchannel_logout_uri, InvalidClientMetadata, what="backchannel_logout_uri")
    if meta.identity_events_uri is not None:
        if len(meta.identity_events_uri) > 2000:
            raise InvalidClientMetadata(
                "identity_events_uri must be at most 2000 characters", code="identity_events_uri_too_long"
            )
        check_redirect_uri(meta.identity_events_uri, InvalidClientMetadata, what="identity_events_uri")
    if meta.token_endpoint_auth_method == PUBLIC_AUTH_METHOD:
        _check_wallet(meta)
        return _sector(meta)
    if not meta.require_pkce and meta.token_endpoint_auth_method not in CONFIDENTIAL_AUTH_METHODS:
        # RFC 9700 §2.1.1: nonce may replace PKCE only for a client that authenticates its code redemption.
        raise InvalidClientMetadata(
            "only a confidential client may use nonce instead of PKCE", code="pkce_public_client"
        )
    if meta.token_endpoint_auth_method not in AUTH_METHODS:  # "none" was handled above
        raise InvalidClientMetadata(
            f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}",
            code="auth_method_unknown",
            params={"methods": ", ".join(AUTH_METHODS)},
        )
    if meta.token_endpoint_auth_method == "private_key_jwt":
        if bool(meta.jwks) == bool(meta.jwks_uri):
            raise InvalidClientMetadata(
                "private_key_jwt needs exactly one of jwks or jwks_uri", code="private_key_jwt_keys"
            )
        if meta.jwks is not None and not isinstance(meta.jwks.get("keys"), list):
            raise InvalidClientMetadata('jwks must be a JWK Set: {"keys": [...]}', code="jwks_not_a_set")
        if (
            meta.jwks_uri
            and urlsplit(meta.jwks_uri).scheme != "https"
            and urlsplit(meta.jwks_uri).hostname not in LOOPBACK
        ):
            raise InvalidClientMetadata("jwks_uri must use https", code="jwks_uri_https")
    _check_grant_types(meta.grant_types)
    if set(meta.allowed_scopes) & set(CREDENTIAL_SCOPES):
        raise InvalidClientMetadata(
            "credential scopes are for wallets (token_endpoint_auth_method none) only", code="scopes_wallet_only"
        )
    unknown = set(meta.allowed_scopes) - set(STANDARD_SCOPES) - {"uin"}
    if unknown:
        raise InvalidClientMetadata(
            f"unknown scopes: {', '.join(sorted(unknown))}",
            code="scopes_unknown",
            params={"scopes": ", ".join(sorted(unknown))},
        )
    if "openid" not in meta.allowed_scopes:
        meta.allowed_scopes = ["openid", *meta.allowed_scopes]
    if "refresh_token" not in meta.grant_types and "offline_access" in meta.allowed_scopes:
        # offline_access is a refresh token (OIDC Core §11): a client without that grant could never get it,
        # so it is not registered (nor advertised to the client as its scope).
        meta.allowed_scopes = [scope for scope in meta.allowed_scopes if scope != "offline_access"]
    bad = set(meta.entitlements) - set(ENTITLEMENTS)
    if bad:
        raise InvalidClientMetadata(
            f"unknown entitlements: {', '.join(sorted(bad))}; one of {', '.join(ENTITLEMENTS)}",
            code="entitlements_unknown",
            params={"entitlements": ", ".join(sorted(bad)), "allowed": ", ".join(ENTITLEMENTS)},
        )
    if meta.subject_type not in ("pairwise", "public"):
        raise InvalidClientMetadata("subject_type must be pairwise or public", code="subject_type")
    if meta.id_token_signed_response_alg not in (None, "ES256", "RS256"):
        raise InvalidClientMetadata("id_token_signed_response_alg must be ES256 or RS256", code="id_token_alg")
    return _sector(meta)


def _check_wallet(meta: ClientMetadata) -> None:
    """A public client is a wallet: credential scopes only, PKCE, the code grant only, nothing it could misuse."""
    scopes = list(dict.fromkeys(meta.allowed_scopes))
    if not scopes or set(scopes) - set(CREDENTIAL_SCOPES):
        raise InvalidClientMetadata(
            f"a wallet (public client) may hold only the credential scopes: {', '.join(CREDENTIAL_SCOPES)}",
            code="wallet_scopes",
        )
    if not meta.require_pkce:
        raise InvalidClientMetadata("a public client must use PKCE", code="pkce_public_client")
    if meta.grant_types != ["authorization_code"]:
        raise InvalidClientMetadata("a wallet uses the authorization_code grant only", code="wallet_grant_types")
    if meta.entitlements or meta.backchannel_logout_uri or meta.identity_events_uri or meta.jwks or meta.jwks_uri:
        raise InvalidClientMetadata(
            "a wallet has no entitlements, keys, back-channel logout or identity events", code="wallet_metadata"
        )
    meta.allowed_scopes = scopes


def _private_use_scheme(uri: str) -> bool:
    """RFC 8252 §7.1: a native app's private-use scheme, named as a reverse domain (``bz.gov.wallet:/cb``), with
    no fragment or wildcard; True when ``uri`` is one."""
    scheme, sep, rest = uri.partition(":")
    return (
        bool(sep and rest)
        and "." in scheme
        and scheme.lower() not in ("http", "https")
        and all(c.isalnum() or c in ".+-" for c in scheme)
        and "#" not in uri
        and "*" not in uri
    )


def _sector(meta: ClientMetadata) -> str:
    """The sector identifier for pairwise subjects: the registered one, else the redirect URIs' one host."""
    if meta.sector_identifier:
        return meta.sector_identifier
    hosts = {urlsplit(uri).hostname for uri in meta.redirect_uris}
    if len(hosts) > 1:
        # OIDC Core §8.1: redirect URIs on several hosts need one sector, or subjects would differ.
        raise InvalidClientMetadata(
            "redirect URIs on several hosts need an explicit sector identifier", code="sector_identifier_needed"
        )
    return hosts.pop() or ""


def _check_grant_types(grant_types: list[str]) -> None:
    """Only civid's grants, and authorization_code among them (a refresh token comes only from a code)."""
    unsupported = sorted(set(grant_types) - set(GRANT_TYPES))
    if unsupported:
        raise InvalidClientMetadata(
            f"unsupported grant_types: {', '.join(unsupported)}; civid offers {', '.join(GRANT_TYPES)}",
            code="grant_types_unsupported",
            params={"grant_types": ", ".join(unsupported), "allowed": ", ".join(GRANT_TYPES)},
        )
    if "authorization_code" not in grant_types:
        raise InvalidClientMetadata("grant_types must include authorization_code", code="grant_types_no_code")


def may_use(client: Client, grant_type: str) -> bool:
    """Whether the client registered ``grant_type`` (RFC 7591 §2; enforced at /token, RFC 6749 §5.2)."""
    return grant_type in (client.grant_types or ())


def register(
    session: Session, meta: ClientMetadata, actor: Actor, registered_by: str | None = None
) -> tuple[Client, str | None]:
    """Register a client; return it and its secret (shown once, stored hashed; None for private_key_jwt and for a
    public client)."""
    sector = _validate(meta)
    secret = None
    if meta.token_endpoint_auth_method in ("client_secret_basic", "client_secret_post"):
        secret = secrets.token_urlsafe(32)
    row = Client(
        client_id=secrets.token_urlsafe(16),
        name=meta.name.strip(),
        token_endpoint_auth_method=meta.token_endpoint_auth_method,
        secret_hash=sha256_hex(secret) if secret else None,
        jwks=meta.jwks,
        jwks_uri=meta.jwks_uri,
        redirect_uris=list(meta.redirect_uris),
        post_logout_redirect_uris=list(meta.post_logout_redirect_uris),
        allowed_scopes=list(dict.fromkeys(meta.allowed_scopes)),
        entitlements=sorted(set(meta.entitlements)),
        subject_type=meta.subject_type,
        sector_identifier=sector,
        require_par=meta.require_par,
        id_token_signed_response_alg=meta.id_token_signed_response_alg,
        default_acr_values=list(meta.default_acr_values),
        contacts=list(meta.contacts),
        backchannel_logout_uri=meta.backchannel_logout_uri,
        backchannel_logout_session_required=meta.backchannel_logout_session_required,
        identity_events_uri=meta.identity_events_uri,
        grant_types=[g for g in GRANT_TYPES if g in meta.grant_types],
        require_pkce=meta.require_pkce,
        require_dpop=meta.require_dpop,
        sector_identifier_uri=meta.sector_identifier_uri,
        registered_by=registered_by or f"{actor.role}:{actor.name}",
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "client.registered",
        "client",
        row.client_id,
        name=row.name,
        auth_method=row.token_endpoint_auth_method,
        redirect_uris=row.redirect_uris,
        entitlements=row.entitlements,
        subject_identifier_type=row.subject_type,
        backchannel_logout_uri=row.backchannel_logout_uri,
        identity_events_uri=row.identity_events_uri,
        grant_types=row.grant_types,
        require_pkce=row.require_pkce,
        require_dpop=row.require_dpop,
        sector_identifier_uri=row.sector_identifier_uri,
    )
    return row, secret


def find(session: Session, client_id: str | None) -> Client | None:
    """The enabled client with this id, or None."""
    if not client_id:
        return None
    row = session.scalars(select(Client).where(Client.client_id == client_id)).first()
    return row if row is not None and row.disabled_at is None else None


def require(session: Session, client_id: str | None) -> Client:
    """The enabled client with this id; ``invalid_client`` otherwise."""
    row = find(session, client_id)
    if row is None:
        raise InvalidClient("unknown or disabled client", code="client_unknown")
    return row


def disable(session: Session, client_id: str, actor: Actor) -> Client:
    """Stop a client from logging anyone in (its grants are revoked by the caller's policy)."""
    row = require(session, client_id)
    row.disabled_at = utcnow()
    audit.record(session, actor, "client.disabled", "client", client_id, name=row.name)
    return row


def describe(row: Client) -> dict[str, Any]:
    """The client's public metadata (never its secret hash)."""

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "client_id": row.client_id,
        "client_name": row.name,
        "redirect_uris": row.redirect_uris,
        "post_logout_redirect_uris": row.post_logout_redirect_uris,
        "token_endpoint_auth_method": row.token_endpoint_auth_method,
        "jwks_uri": row.jwks_uri,
        "jwks": row.jwks,
        "scope": " ".join(row.allowed_scopes),
        "entitlements": row.entitlements,
        "subject_type": row.subject_type,
        "sector_identifier": row.sector_identifier,
        "require_pushed_authorization_requests": row.require_par,
        "id_token_signed_response_alg": row.id_token_signed_response_alg,
        "default_acr_values": row.default_acr_values,
        "contacts": row.contacts,
        "backchannel_logout_uri": row.backchannel_logout_uri,
        "backchannel_logout_session_required": bool(row.backchannel_logout_session_required),
        "identity_events_uri": row.identity_events_uri,
        "grant_types": list(row.grant_types),
        "require_pkce": bool(row.require_pkce),
        "dpop_bound_access_tokens": bool(row.require_dpop),
        "sector_identifier_uri": row.sector_identifier_uri,
        "registered_by": row.registered_by,
        "created_at": iso(row.created_at),
        "disabled_at": iso(row.disabled_at),
    }
