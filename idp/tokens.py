"""Minting and checking the tokens of a grant: ID token, JWT access token, opaque refresh token.

- ID token (OIDC Core §2, §3.1.3.6): signed with the client's ``id_token_signed_response_alg`` (else the
  OP's default), ``at_hash`` over the access token, and only the ``claims.id_token`` members the citizen
  consented to for the grant's purpose (scope claims go to UserInfo), with the claims extensions' members
  asked for there (``idp.claims_extensions``; kyc: OIDC4IDA ``verified_claims``). Person claims in an ID token
  are a release: the extensions record it (kyc: ``kyc.releases``) in the token endpoint's transaction.
- Access token (RFC 9068): a JWT with header ``typ: at+jwt``; its ``jti`` is stored (AccessToken) so
  introspection, revocation and UserInfo know whether it is still live.
- Refresh token: 256 random bits, stored as a SHA-256 hash; rotated on every use, and the family (the
  grant) ends at ``Grant.expires_at`` whatever the rotations.

Revoking a grant, and with it every access and refresh token issued from it: ``idp.grant_lifecycle``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

import jwt
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session, contains_eager

from civid.audit import Actor, as_utc
from idp import claims as claims_module
from idp import dpop
from idp.claims_extensions import ClaimsExtensions, Release
from idp.consent import ClientConsent, consent_for_grant
from idp.errors import InvalidToken
from idp.server_secrets import sha256_hex
from idp.subjects import subject_for
from models import AccessToken, Client, Grant, LoginSession, RefreshToken, utcnow

if TYPE_CHECKING:
    from idp.runtime import IdpServices

ACCESS_TOKEN_TYP = "at+jwt"  # RFC 9068 §2.1


@dataclass(frozen=True)
class IssuedTokens:
    """What the token endpoint returns (RFC 6749 §5.1, OIDC Core §3.1.3.3)."""

    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None
    id_token: str | None
    token_type: str = "Bearer"  # "DPoP" when the access token is bound to a key (RFC 9449 §5)

    def response(self) -> dict[str, Any]:
        """The JSON body of a successful token response."""
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "scope": self.scope,
        }
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        if self.id_token:
            body["id_token"] = self.id_token
        return body


@dataclass(frozen=True)
class GrantFacts:
    """What issuing reads about a grant besides its row: its login session's ``sid`` and the grant's live consent
    (``idp.consent.consent_for_grant``), so a grant that has already read them passes them on."""

    sid: str | None
    consent: ClientConsent | None


def grant_facts(db: Session, grant: Grant) -> GrantFacts:
    """The grant's login-session ``sid`` and live consent, read from the database."""
    session_row = db.get(LoginSession, grant.login_session_id) if grant.login_session_id is not None else None
    return GrantFacts(session_row.sid if session_row is not None else None, consent_for_grant(db, grant))


@dataclass(frozen=True)
class LiveAccessToken:
    """A verified, unrevoked access token: its claims and its grant."""

    claims: dict[str, Any]
    row: AccessToken
    grant: Grant


def client_actor(client_id: str) -> Actor:
    """The audit actor for something a client did."""
    return Actor(None, f"client:{client_id}", "client")


def token_hash(value: str) -> str:
    """How a left half (the hash of an opaque token) is looked up: SHA-256 hex."""
    return sha256_hex(value)


def left_half_hash(value: str, alg: str) -> str:
    """OIDC Core §3.1.3.6 at_hash: base64url of the left half of the hash matching ``alg``'s size."""
    hasher = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}[alg[-3:]]
    digest = hasher(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


# Core inserts on the tables (no ORM bulk-insert machinery), built once.
_INSERT_ACCESS = insert(cast(Table, AccessToken.__table__))
_INSERT_REFRESH = insert(cast(Table, RefreshToken.__table__))


def issue(
    db: Session,
    services: IdpServices,
    extensions: ClaimsExtensions,
    client: Client,
    grant: Grant,
    scopes: list[str],
    *,
    nonce: str | None = None,
    with_refresh: bool = True,
    facts: GrantFacts | None = None,
    proof: dpop.Proof | None = None,
    refresh_jkt: str | None = None,
) -> IssuedTokens:
    """Mint an access token (and a refresh token, and an ID token when ``openid`` is in scope) for ``grant``
    (``facts``: its sid and consent when the caller has read them already); with a DPoP ``proof`` both are bound
    to its key (``refresh_jkt``: the key the family is already bound to)."""
    settings = services.settings
    now = utcnow()
    issued_at = int(now.timestamp())
    sub = subject_for(services.idp_secrets, client, grant.identity.uin)
    grant_end = as_utc(grant.expires_at)
    access_expires = min(now + timedelta(seconds=settings.access_token_ttl_s), grant_end)
    jti = secrets.token_urlsafe(24)
    scope = " ".join(scopes)
    access_claims = {  # RFC 9068 §2.2
        "iss": settings.resolved_issuer,
        "sub": sub,
        "aud": settings.resolved_issuer,
        "client_id": client.client_id,
        "iat": issued_at,
        "exp": int(access_expires.timestamp()),
        "jti": jti,
        "scope": scope,
        "auth_time": int(as_utc(grant.auth_time).timestamp()),
        "acr": grant.acr,
        "amr": list(grant.amr),
    }
    token_type = dpop.bind_access_token(access_claims, proof)  # cnf.jkt (RFC 9449 §6.1)
    access_token = services.signing_keys.sign(access_claims, typ=ACCESS_TOKEN_TYP)
    id_token = None
    released: Release | None = None
    if "openid" in scopes:
        id_token, released = _id_token(
            db,
            services,
            extensions,
            client,
            grant,
            facts or grant_facts(db, grant),
            sub,
            scopes,
            access_token,
            nonce,
            issued_at,
        )
    # Rows are added only after signing: the first signature of a fresh database creates the keys in a
    # transaction of their own, which must not wait on this request's write lock (SQLite). Plain INSERT statements:
    # nothing reads these rows back in this transaction, and the ORM's unit of work cost a tenth of a refresh.
    db.execute(_INSERT_ACCESS, {"jti": jti, "grant_id": grant.id, "created_at": now, "expires_at": access_expires})
    if released is not None:
        extensions.record_release(db, released)
    refresh_token = None
    if with_refresh:
        refresh_token = secrets.token_urlsafe(32)
        db.execute(
            _INSERT_REFRESH,
            {
                "token_hash": token_hash(refresh_token),
                "grant_id": grant.id,
                "created_at": now,
                "expires_at": grant_end,
                "dpop_jkt": dpop.refresh_binding(client, proof, refresh_jkt),
            },
        )
    return IssuedTokens(
        access_token, max(0, int(access_expires.timestamp()) - issued_at), scope, refresh_token, id_token, token_type
    )


def _id_token(
    db: Session,
    services: IdpServices,
    extensions: ClaimsExtensions,
    client: Client,
    grant: Grant,
    facts: GrantFacts,
    sub: str,
    scopes: list[str],
    access_token: str,
    nonce: str | None,
    issued_at: int,
) -> tuple[str, Release]:
    """The ID token (OIDC Core §2) with the consented ``claims.id_token`` members (and the extensions' claims),
    and the release it makes (recorded once the token's row is added)."""
    settings = services.settings
    alg = client.id_token_signed_response_alg or settings.signing_alg
    claims: dict[str, Any] = {
        "iss": settings.resolved_issuer,
        "sub": sub,
        "aud": client.client_id,
        "azp": client.client_id,
        "iat": issued_at,
        "exp": issued_at + settings.id_token_ttl_s,
        "auth_time": int(as_utc(grant.auth_time).timestamp()),
        "acr": grant.acr,
        "amr": list(grant.amr),
        "at_hash": left_half_hash(access_token, alg),  # OIDC Core §3.1.3.6
    }
    if nonce:
        claims["nonce"] = nonce  # OIDC Core §3.1.3.7 item 11: the client checks it
    if facts.sid is not None:
        claims["sid"] = facts.sid
    request = claims_module.requested(client, scopes, grant.claims, extensions)
    consent = facts.consent  # the purpose the grant was authorised for, not the union
    consented = set(consent.claims) if consent is not None else set()
    released = (
        claims_module.release(db, grant.identity, request.id_token, consented=consented) if request.id_token else {}
    )
    extended = extensions.release(
        db, services, grant.identity, client, request.extensions, "id_token", consented=consented
    )
    claims.update(released)
    claims.update(extended)  # e.g. verified_claims (OIDC4IDA -13 §5.2)
    names = (*released, *extensions.released_claim_names(extended))
    return (
        services.signing_keys.sign(claims, alg=alg),
        Release(grant.identity_id, client.client_id, "id_token", names, extended, consent),
    )


def find_refresh_token(db: Session, value: str) -> RefreshToken | None:
    """The refresh-token row for a presented value (by hash), or None."""
    return db.scalars(select(RefreshToken).where(RefreshToken.token_hash == token_hash(value))).first()


# The token's row, its grant and the grant's person in one statement, built once: every UserInfo answer and
# every API call with a citizen's token runs it, and building a select costs more than SQLite takes to answer it.
_LIVE_TOKEN = (
    select(AccessToken)
    .join(AccessToken.grant)
    .join(Grant.identity)
    .options(contains_eager(AccessToken.grant).contains_eager(Grant.identity))
    .where(AccessToken.jti == bindparam("jti"))
)


def verify_access_token(db: Session, services: IdpServices, token: str) -> LiveAccessToken:
    """Check a presented access token: our signature (typ at+jwt), not expired, row not revoked, grant live.
    Raise ``invalid_token`` otherwise (RFC 6750 §3.1)."""
    try:
        claims = services.signing_keys.verify(
            token, audience=services.settings.resolved_issuer, typ=ACCESS_TOKEN_TYP, leeway=0
        )
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise InvalidToken("the access token is invalid or has expired") from exc
    row = db.scalars(_LIVE_TOKEN, {"jti": str(claims.get("jti", ""))}).first()
    if row is None or row.revoked_at is not None or as_utc(row.expires_at) <= utcnow():
        raise InvalidToken("the access token has been revoked or has expired")
    grant = row.grant
    if grant.revoked_at is not None or grant.client_id != claims.get("client_id"):
        raise InvalidToken("the access token's grant has been revoked")
    return LiveAccessToken(claims, row, grant)
