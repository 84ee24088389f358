"""Client authentication at the back-channel endpoints (token, PAR, introspection, revocation).

Three methods, by their RFC 7591 names; a client must use the one it registered (OIDC Core §9):
- ``client_secret_basic``: HTTP Basic with the form-urlencoded client id and secret (RFC 6749 §2.3.1);
- ``client_secret_post``: ``client_id`` and ``client_secret`` in the form body (RFC 6749 §2.3.1);
- ``private_key_jwt``: a JWT signed by a key the client registered (RFC 7523 §2.2, §3; OIDC Core §9),
  whose ``jti`` is remembered until it expires so the assertion cannot be replayed.

Every failure is ``invalid_client`` (401) and is audited as ``client.auth_failed`` (client id and reason,
never the secret or the assertion). The ``jti`` and the failure audit are written in their own
transactions, so they stay even when the caller's request then fails and rolls back.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import httpx
import jwt
from fastapi import Request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civid import audit, outbound
from civid.audit import Actor
from idp import client_cache
from idp.clients import PUBLIC_AUTH_METHOD
from idp.errors import InvalidClient, InvalidRequest
from idp.server_secrets import sha256_hex
from models import Client, ClientAssertion, utcnow

if TYPE_CHECKING:
    from idp.runtime import IdpServices

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"  # RFC 7523 §2.2
# Asymmetric algorithms only: client_secret_jwt (HS*) is not offered, "none" never.
ASSERTION_ALGS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA")
KEY_TYPE_OF_ALG = {"ES": "EC", "RS": "RSA", "PS": "RSA", "Ed": "OKP"}
LEEWAY_S = 30
# Where a public client (a wallet: PKCE, no secret) is admitted with its client_id alone: redeeming its code, and
# pushing its authorization request (RFC 9126 §2.1). Never introspection or revocation, which need a credential.
PUBLIC_ENDPOINTS = ("/token", "/par")
JWKS_CACHE_S = 300
JWKS_REFETCH_MIN_S = 10  # an unknown kid refetches the client's JWKS at most this often
JWKS_FETCH_TIMEOUT_S = 5.0
JWKS_MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class Presented:
    """What the request presented: the method it used, the client id it claims, and the credential."""

    method: str
    client_id: str
    credential: str  # the secret, or the assertion


def _basic(header: str) -> tuple[str, str]:
    """Decode ``Basic base64(urlencode(id):urlencode(secret))`` (RFC 6749 §2.3.1)."""
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient("malformed Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("malformed Basic credentials")
    return unquote_plus(client_id), unquote_plus(secret)


def presented(request: Request, form: Mapping[str, str]) -> Presented:
    """Which authentication the request carries; exactly one method is allowed (RFC 6749 §2.3)."""
    header = request.headers.get("authorization", "")
    found: list[Presented] = []
    if header[:6].lower() == "basic ":
        client_id, secret = _basic(header)
        found.append(Presented("client_secret_basic", client_id, secret))
    if "client_secret" in form:
        found.append(Presented("client_secret_post", form.get("client_id", ""), form["client_secret"]))
    if "client_assertion" in form or "client_assertion_type" in form:
        if form.get("client_assertion_type") != JWT_BEARER:
            raise InvalidClient(f"client_assertion_type must be {JWT_BEARER}")  # RFC 7523 §2.2
        if not form.get("client_assertion"):
            raise InvalidClient("client_assertion is missing")
        found.append(
            Presented("private_key_jwt", _assertion_subject(form["client_assertion"]), form["client_assertion"])
        )
    if len(found) > 1:
        raise InvalidRequest("use exactly one client authentication method")  # RFC 6749 §2.3
    if not found and form.get("client_id"):
        # RFC 6749 §3.2.1: a public client names itself; whether it may is the registered method's to say.
        found.append(Presented(PUBLIC_AUTH_METHOD, form["client_id"], ""))
    if not found:
        raise InvalidClient("client authentication is required")
    result = found[0]
    # A client_id in the body must name the same client as the credentials (RFC 7523 §3, RFC 6749 §3.2.1).
    if form.get("client_id") and form["client_id"] != result.client_id:
        raise InvalidClient("client_id does not match the client's credentials")
    return result


def presents_credentials(request: Request, form: Mapping[str, str]) -> bool:
    """Whether the request carries any client authentication (an extension grant may admit one without)."""
    header = request.headers.get("authorization", "")
    return header[:6].lower() == "basic " or any(
        name in form for name in ("client_secret", "client_assertion", "client_assertion_type")
    )


def _assertion_subject(assertion: str) -> str:
    """The client id an assertion claims to be from (its ``sub``), before any signature is checked."""
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise InvalidClient("client_assertion is not a JWT") from exc
    return str(claims.get("sub") or claims.get("iss") or "")


def authenticate_client(
    request: Request, form: Mapping[str, str], db: Session, services: IdpServices, endpoint: str
) -> Client:
    """Authenticate the calling client with its registered method; return it or raise ``invalid_client``.

    ``endpoint`` is the path of the endpoint called ("/token", "/par", "/introspect", "/revoke"): a
    private_key_jwt assertion may name it, the token endpoint or the issuer as audience."""
    claimed = ""
    method = "unknown"
    try:
        credentials = presented(request, form)
        claimed, method = credentials.client_id, credentials.method
        client = client_cache.find(db, credentials.client_id)  # a read-only copy: nothing here writes to it
        if client is None:
            raise InvalidClient("unknown or disabled client")
        if client.token_endpoint_auth_method != credentials.method:
            # OIDC Core §9: the registered method only (a basic client posting its secret is refused).
            raise InvalidClient(f"this client must authenticate with {client.token_endpoint_auth_method}")
        if credentials.method == PUBLIC_AUTH_METHOD:
            if endpoint not in PUBLIC_ENDPOINTS:
                raise InvalidClient("a public client cannot authenticate here")
        elif credentials.method == "private_key_jwt":
            key = _check_assertion(services, client, credentials.credential, endpoint)
            request.state.client_assertion_key = key  # read with assertion_key(request)
        elif not _secret_matches(client, credentials.credential):
            raise InvalidClient("wrong client secret")
        return client
    except InvalidClient as exc:
        _audit_failure(services, claimed, method, endpoint, exc.description)
        raise


def _secret_matches(client: Client, secret: str) -> bool:
    """Constant-time comparison of the presented secret's hash with the stored one."""
    if not client.secret_hash:
        return False
    return hmac.compare_digest(sha256_hex(secret), client.secret_hash)


# --- private_key_jwt (RFC 7523 §3) ------------------------------------------------------------------
def _check_assertion(services: IdpServices, client: Client, assertion: str, endpoint: str) -> Any:
    """Verify the signature, iss, sub, aud, exp and jti of a client assertion; remember its jti.
    Return the client's key that verified the signature."""
    settings = services.settings
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.InvalidTokenError as exc:
        raise InvalidClient("client_assertion is not a JWT") from exc
    alg = header.get("alg")
    if alg not in ASSERTION_ALGS:
        raise InvalidClient(f"client_assertion algorithm {alg!r} is not accepted")
    issuer = settings.resolved_issuer
    audiences = [issuer, issuer + "/token", issuer + endpoint]
    claims: dict[str, Any] | None = None
    last_error: Exception | None = None
    for key in _candidate_keys(client, header, settings.outbound_allow_private):
        try:
            claims = jwt.decode(
                assertion,
                key,
                algorithms=[alg],
                audience=audiences,
                leeway=LEEWAY_S,
                options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            )
            break
        except (jwt.InvalidSignatureError, jwt.InvalidKeyError) as exc:
            last_error = exc
        except jwt.ExpiredSignatureError as exc:
            raise InvalidClient("client_assertion has expired") from exc  # RFC 7523 §3 item 4
        except jwt.InvalidAudienceError as exc:
            raise InvalidClient(_audience_refused(issuer, audiences)) from exc
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidClient(f"client_assertion lacks the {exc.claim!r} claim") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidClient(f"client_assertion is invalid: {exc}") from exc
    if claims is None:
        raise InvalidClient("client_assertion is not signed by a key the client registered") from last_error
    if claims["iss"] != client.client_id or claims["sub"] != client.client_id:
        raise InvalidClient("client_assertion iss and sub must both be the client_id")  # RFC 7523 §3 items 1-2
    expires = _effective_expiry(claims, settings.client_assertion_max_age_s)
    jti = str(claims["jti"])
    if not jti or len(jti) > 255:
        raise InvalidClient("client_assertion jti must be 1 to 255 characters")
    _remember_jti(services, client.client_id, jti, datetime.fromtimestamp(expires + LEEWAY_S, UTC))
    return key  # the loop stopped (break) at the key that verified the signature


def _audience_refused(issuer: str, audiences: list[str]) -> str:
    """Why an assertion's ``aud`` was refused, naming every audience accepted at this endpoint (RFC 7523 §3
    item 3: the authorization server says what identifies it); they differ per endpoint (e.g. the KYC ones)."""
    accepted = [f"{issuer} (the issuer)", *(a for a in dict.fromkeys(audiences) if a != issuer)]
    return "client_assertion audience must be one of the audiences accepted here: " + ", ".join(accepted)


def assertion_key(request: Request) -> Any | None:
    """The client's registered key that verified this request's private_key_jwt assertion (a PyJWT key
    object; None when the client authenticated otherwise). The assertion proved the client holds it."""
    return getattr(request.state, "client_assertion_key", None)


def _effective_expiry(claims: Mapping[str, Any], max_age_s: int) -> float:
    """When the assertion stops being accepted: its ``exp``, but at most ``max_age_s`` after its ``iat``.

    The jti is remembered until then, so that memory stays bounded. Libraries differ in the lifetime they
    give assertions (Authlib: an hour, openid-client: a minute); with an ``iat`` any ``exp`` is accepted
    and the window is cut at iat + max_age; without one, ``exp`` itself must be within max_age of now."""
    now = time.time()
    iat = claims.get("iat")
    if iat is None:
        if claims["exp"] > now + max_age_s + LEEWAY_S:
            raise InvalidClient(f"client_assertion without iat must expire within {max_age_s} s")
        return float(claims["exp"])
    if not isinstance(iat, (int, float)) or iat > now + LEEWAY_S:
        raise InvalidClient("client_assertion is issued in the future")
    if iat + max_age_s + LEEWAY_S < now:
        raise InvalidClient(f"client_assertion was issued more than {max_age_s} s ago")
    return float(min(claims["exp"], iat + max_age_s))


def _remember_jti(services: IdpServices, client_id: str, jti: str, expires_at: datetime) -> None:
    """Store the jti (unique per client) in its own transaction; a second use is a replay (RFC 7523 §3 item 7)."""
    try:
        with services.sessions.begin() as session:
            session.execute(delete(ClientAssertion).where(ClientAssertion.expires_at < utcnow()))
            session.add(ClientAssertion(client_id=client_id, jti=jti, expires_at=expires_at))
    except IntegrityError as exc:
        raise InvalidClient("client_assertion jti has already been used") from exc


def _candidate_keys(client: Client, header: Mapping[str, Any], allow_private: bool) -> list[Any]:
    """Public keys of the client that may have signed: the one with the header's kid, else all that fit alg."""
    kid = header.get("kid")
    kty = KEY_TYPE_OF_ALG[str(header.get("alg"))[:2]]
    keys = _signing_keys(client_jwks(client, allow_private), kid, kty)
    if client.jwks_uri and kid and not keys:  # the client may have rotated its keys
        keys = _signing_keys(client_jwks(client, allow_private, refresh=True), kid, kty)
    return keys


def _signing_keys(jwks: Mapping[str, Any], kid: str | None, kty: str) -> list[Any]:
    result = []
    for jwk in jwks.get("keys", []) if isinstance(jwks, Mapping) else []:
        if not isinstance(jwk, Mapping) or jwk.get("use", "sig") != "sig" or jwk.get("kty") != kty:
            continue
        if kid is not None and jwk.get("kid") != kid:
            continue
        try:
            result.append(jwt.PyJWK(dict(jwk)).key)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, KeyError):
            continue  # a key PyJWT cannot use (unsupported curve, malformed): skip it
    return result


def client_jwks(client: Client, allow_private: bool, refresh: bool = False) -> Mapping[str, Any]:
    """The client's registered JWK Set: its ``jwks``, or the set at its ``jwks_uri`` (cached)."""
    if client.jwks is not None:
        return client.jwks
    if not client.jwks_uri:
        return {"keys": []}
    return JWKS_CACHE.get(client.jwks_uri, refresh=refresh, allow_private=allow_private)


class JwksCache:
    """Clients' JWKS fetched from their jwks_uri, cached a few minutes (per URI, process-wide)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.transport: httpx.BaseTransport | None = None  # tests may route fetches through an app

    def get(self, uri: str, refresh: bool = False, allow_private: bool = False) -> dict[str, Any]:
        """The JWKS at ``uri`` (cached); ``refresh`` refetches unless fetched moments ago. Only public
        addresses are fetched unless ``allow_private`` (civid/outbound.py)."""
        with self._lock:
            entry = self._entries.get(uri)
        age = time.monotonic() - entry[0] if entry else None
        if entry is not None and age is not None and (age < JWKS_REFETCH_MIN_S or (not refresh and age < JWKS_CACHE_S)):
            return entry[1]
        jwks = self._fetch(uri, allow_private)
        with self._lock:
            self._entries[uri] = (time.monotonic(), jwks)
        return jwks

    def clear(self) -> None:
        """Forget every cached JWKS."""
        with self._lock:
            self._entries.clear()

    def _fetch(self, uri: str, allow_private: bool) -> dict[str, Any]:
        try:
            accept = {"Accept": "application/jwk-set+json, application/json"}
            with (
                outbound.client(allow_private, JWKS_FETCH_TIMEOUT_S, self.transport) as http,
                http.stream("GET", uri, headers=accept) as response,
            ):
                if response.status_code != 200:
                    raise InvalidClient(f"the client's jwks_uri answered {response.status_code}")
                body = bytearray()
                for chunk in response.iter_bytes():  # read no further than the limit: the answer is untrusted
                    body += chunk
                    if len(body) > JWKS_MAX_BYTES:
                        raise InvalidClient(f"the client's jwks_uri answered more than {JWKS_MAX_BYTES} bytes")
            jwks = json.loads(bytes(body))
        except outbound.DisallowedAddress as exc:
            raise InvalidClient(
                "the client's jwks_uri is not on a public address (CIVID_OUTBOUND_ALLOW_PRIVATE)"
            ) from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise InvalidClient("the client's jwks_uri could not be fetched") from exc
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise InvalidClient("the client's jwks_uri did not return a JWK Set")
        return jwks


JWKS_CACHE = JwksCache()


def _audit_failure(services: IdpServices, client_id: str, method: str, endpoint: str, reason: str) -> None:
    """Record a failed client authentication in its own transaction (the request itself rolls back)."""
    client_id = (client_id or "")[:64]
    actor = Actor(None, f"client:{client_id}"[:100], "client")
    with services.sessions.begin() as session:
        audit.record(
            session,
            actor,
            "client.auth_failed",
            "client",
            client_id or "-",
            method=method,
            endpoint=endpoint,
            reason=reason,
        )
