"""The OpenID provider's state: signing keys, relying-party clients, citizens' passkeys and sessions,
pending authorization requests, codes, grants with their tokens, consents, and replay/lockout records.

Secrets are never stored in the clear: client secrets, codes, refresh tokens and session ids are kept as
SHA-256 hashes (they are 256-bit random values, so a plain hash is enough); signing keys' private halves
are sealed with the key ring like templates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.identity import Identity


class SigningKey(Base):
    """A JOSE signing key. Published in the JWKS from ``published_at``; signs from ``activates_at`` until
    ``retired_at``; dropped from the JWKS at ``expires_at`` (when every token it signed has expired)."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(8), index=True)  # ES256 | RS256
    # oidc (tokens, attestations) | credential (the ID card's QR, wallet credentials): rotated and published apart.
    purpose: Mapped[str] = mapped_column(String(16), index=True, default="oidc", server_default="oidc")
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    # PKCS#8 PEM of the private key, AES-GCM sealed under the key ring (associated data: "signing-key:<kid>").
    private_key_id: Mapped[str] = mapped_column(String(32))
    private_nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    private_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    activates_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()


class Client(Base):
    """A relying party (a government portal or a bank) registered with the OP."""

    __tablename__ = "oidc_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # client_secret_basic | client_secret_post | private_key_jwt (RFC 7591 names)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(String(2000))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Scopes the client may ask for (openid always); claims outside them are never released.
    allowed_scopes: Mapped[list[str]] = mapped_column(JSON)
    # Claims beyond the standard scopes the client is entitled to: "uin", "kyc" (verified_claims).
    entitlements: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject_type: Mapped[str] = mapped_column(String(16), default="pairwise")  # pairwise | public
    # The host (or sector_identifier_uri host) pairwise subjects are computed for (OIDC Core §8.1).
    sector_identifier: Mapped[str] = mapped_column(String(255))
    # OIDC Registration §2: the registered file listing the redirect URIs; its host is the sector above.
    sector_identifier_uri: Mapped[str | None] = mapped_column(String(2000))
    require_par: Mapped[bool] = mapped_column(Boolean, default=False)
    id_token_signed_response_alg: Mapped[str | None] = mapped_column(String(8))
    default_acr_values: Mapped[list[str]] = mapped_column(JSON, default=list)
    contacts: Mapped[list[str]] = mapped_column(JSON, default=list)
    # OIDC Back-Channel Logout 1.0 §2.2: where civid POSTs a logout token when a citizen's session ends.
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(2000))
    backchannel_logout_session_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where civid pushes Security Event Tokens about people this client serves (RFC 8417/8935; idp.identity_events).
    identity_events_uri: Mapped[str | None] = mapped_column(String(2000))
    # RFC 7591 §2 grant_types the client may use at /token: authorization_code, and refresh_token only if
    # listed (RFC 6749 §5.2 unauthorized_client otherwise; no refresh token is issued to it).
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["authorization_code", "refresh_token"])
    # False only for a confidential client an admin lets use nonce instead of PKCE (RFC 9700 §2.1.1), for
    # relying parties certified against the OpenID Foundation's Basic OP plan, whose requests carry no PKCE.
    require_pkce: Mapped[bool] = mapped_column(Boolean, default=True)
    # RFC 9449 §5.2 dpop_bound_access_tokens: every token request must carry a DPoP proof (FAPI 2.0).
    require_dpop: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_by: Mapped[str] = mapped_column(String(100))  # "admin:<name>" | "dcr"
    # civid's own applications (the officer console): their users are not asked to consent to them, the
    # consent is recorded at the authorization step instead. Never settable by registration (RFC 7591) or admins.
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column()


class ClientAssertion(Base):
    """A private_key_jwt assertion's ``jti``, remembered until the assertion expires so it cannot be replayed."""

    __tablename__ = "oidc_client_assertions"
    __table_args__ = (UniqueConstraint("client_id", "jti", name="uq_oidc_client_assertions_client_jti"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    jti: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class DpopProof(Base):
    """A DPoP proof's ``jti`` (hashed with its key's thumbprint), kept until the proof would be refused as too
    old anyway: the unique constraint makes a replay fail in every process sharing the database (RFC 9449 §11.1)."""

    __tablename__ = "oidc_dpop_proofs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proof_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Passkey(Base):
    """A WebAuthn credential bound to a citizen's identity (several per person; revocable)."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    # fido2's AttestedCredentialData (aaguid, credential id, COSE public key) as bytes.
    credential_data: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str] = mapped_column(String(100))
    # How the person proved who they were when binding it: "desk" (officer code) | "face" (online).
    bound_via: Mapped[str] = mapped_column(String(16))
    bound_by: Mapped[str | None] = mapped_column(String(100))  # officer name for desk bindings
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_reason: Mapped[str | None] = mapped_column(String(200))

    identity: Mapped[Identity] = relationship()


class PasskeyBinding(Base):
    """A one-time code an officer gives a citizen at the desk (after checking them) to bind a passkey."""

    __tablename__ = "passkey_bindings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class WebAuthnChallenge(Base):
    """A WebAuthn ceremony in progress (registration or login): its challenge, single use, bound to the browser
    that asked for it. Kept server-side so nothing the browser sends back is trusted about what was asked."""

    __tablename__ = "webauthn_challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_hash: Mapped[str] = mapped_column(String(64), unique=True)
    ceremony: Mapped[str] = mapped_column(String(16))  # register | login
    # SHA-256 of the browser's CSRF token (itself an HMAC of the browser cookie): another browser cannot finish it.
    browser_hash: Mapped[str] = mapped_column(String(64))
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))  # register: whose passkey
    binding_id: Mapped[int | None] = mapped_column(ForeignKey("passkey_bindings.id"))  # register at the desk
    bound_via: Mapped[str | None] = mapped_column(String(16))  # register: desk | face
    label: Mapped[str | None] = mapped_column(String(100))
    interaction_uid: Mapped[str | None] = mapped_column(String(64))  # login: the authorization request
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class LoginSession(Base):
    """A citizen's single sign-on session at civid (the browser holds its id in a cookie; we keep a hash)."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)  # public session id (the `sid` claim)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    auth_time: Mapped[datetime] = mapped_column()
    acr: Mapped[str] = mapped_column(String(100))
    amr: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    # The same person's later login in this browser (re-authentication: step-up, prompt=login, max_age) that
    # ended this one: the portals signed in from this session keep their tokens until that one ends too.
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("login_sessions.id"), index=True)

    identity: Mapped[Identity] = relationship()


class BackchannelLogout(Base):
    """A logout token still to be delivered to one client for one ended login session (the outbox of
    ``idp.backchannel_logout``). Deleted once delivered or given up; the audit trail keeps the outcome.
    The token itself is not stored: it is signed afresh for each attempt, so it never expires in the queue."""

    __tablename__ = "oidc_backchannel_logouts"
    __table_args__ = (
        UniqueConstraint("login_session_id", "client_id", name="uq_oidc_backchannel_logouts_session_client"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login_session_id: Mapped[int] = mapped_column(ForeignKey("login_sessions.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the next attempt is due; while one is under way, when its lease ends (then another may take it).
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuthorizationRequest(Base):
    """A validated authorization request waiting for the citizen (login, consent), or pushed by PAR.

    ``uid`` names the interaction in URLs; for a pushed request the request_uri is
    ``urn:ietf:params:oauth:request_uri:<uid>``. ``params`` holds the validated parameters."""

    __tablename__ = "authorization_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    pushed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    # Set when the citizen has logged in during this interaction (login session id).
    login_session_id: Mapped[int | None] = mapped_column(ForeignKey("login_sessions.id"))
    consumed_at: Mapped[datetime | None] = mapped_column()


class Grant(Base):
    """What one citizen authorised one client to get at one login: the family of a code and the tokens
    issued from it. Revoking the grant revokes every access and refresh token in the family."""

    __tablename__ = "oidc_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    login_session_id: Mapped[int | None] = mapped_column(ForeignKey("login_sessions.id"), index=True)
    scope: Mapped[str] = mapped_column(Text)
    claims: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the `claims` request parameter
    # The purpose it was authorised for, as stored on Consent.purpose (None: the request stated none): its
    # tokens release only what the live consent rows for this purpose cover (idp.consent.consent_for_grant).
    purpose: Mapped[str | None] = mapped_column(String(500))
    auth_time: Mapped[datetime] = mapped_column()
    acr: Mapped[str] = mapped_column(String(100))
    amr: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_reason: Mapped[str | None] = mapped_column(String(100))

    identity: Mapped[Identity] = relationship()


class AuthorizationCode(Base):
    """An authorization code (hash), single-use: a second redemption revokes its grant (RFC 6749 §4.1.2)."""

    __tablename__ = "authorization_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("oidc_grants.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    # S256 only (RFC 7636 §4.2); None only for a client allowed nonce instead of PKCE that sent none.
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    nonce: Mapped[str | None] = mapped_column(String(500))
    # RFC 9449 §10: the JWK thumbprint of the key the code must be redeemed with (dpop_jkt, or PAR's proof).
    dpop_jkt: Mapped[str | None] = mapped_column(String(43))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()

    grant: Mapped[Grant] = relationship()


class RefreshToken(Base):
    """A refresh token (hash). Rotated on use; presenting a rotated one again revokes the whole grant."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("oidc_grants.id"), index=True)
    # RFC 9449 §5: the thumbprint of the DPoP key the family was issued to; each refresh must prove it.
    dpop_jkt: Mapped[str | None] = mapped_column(String(43))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    rotated_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    grant: Mapped[Grant] = relationship()


class AccessToken(Base):
    """An issued JWT access token's ``jti``, so introspection and revocation know its state."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("oidc_grants.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None] = mapped_column()

    grant: Mapped[Grant] = relationship()


class Consent(Base):
    """A citizen's consent to release claims to a client, remembered until it expires or is revoked."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    claims: Mapped[list[str]] = mapped_column(JSON)  # claim names the citizen agreed to release
    purpose: Mapped[str | None] = mapped_column(String(500))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class LoginAttempt(Base):
    """One login attempt (success or failure) for lockout and rate limiting; audited separately."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"), index=True)
    source: Mapped[str] = mapped_column(String(64), index=True)  # client address
    method: Mapped[str] = mapped_column(String(16))  # face | passkey
    success: Mapped[bool] = mapped_column(Boolean)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class FaceChallenge(Base):
    """A one-time challenge a face-login upload must carry, so a replayed upload fails."""

    __tablename__ = "face_challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))  # login | bind
    interaction_uid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class FaceProbe(Base):
    """SHA-256 of every photo accepted for a face login: the same file presented twice is a replay."""

    __tablename__ = "face_probes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    photo_hash: Mapped[str] = mapped_column(String(64), unique=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
