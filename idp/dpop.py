"""OAuth 2.0 Demonstrating Proof of Possession (RFC 9449): sender-constrained tokens for FAPI 2.0.

A client proves, on every token request and every resource request, that it holds a private key: the ``DPoP``
header is a JWT (``typ: dpop+jwt``) signed by that key, carrying its public half (``jwk``), the request's method
and URI (``htm``, ``htu``), when it was made (``iat``), a unique ``jti``, the server's ``nonce`` when asked for,
and at a resource the access token's hash (``ath``). Tokens are then bound to the key's thumbprint (RFC 7638):
the access token carries ``cnf.jkt`` and is of type ``DPoP``; a refresh-token family keeps the key it was
issued to; a code may be bound to a key at PAR or /authorize (``dpop_jkt``, §10).

Every rule lives here; the endpoints call in with one line each (``idp.token``, ``idp.userinfo``, ``idp.par``,
the grants). A proof's ``jti`` is remembered in the database (``DpopProof``), so a replay is refused by every
process of a deployment; nonces are MACs of a time step under the OP's secret, so every process that shares
the secrets file accepts every other's nonces without any shared state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import jwt
from fastapi import Request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from civid import audit
from civid.audit import Actor
from idp.errors import InvalidDpopProof, InvalidGrant, InvalidRequest, InvalidToken, OAuthError, UseDpopNonce
from idp.server_secrets import sha256_hex
from models import Client, DpopProof, utcnow

if TYPE_CHECKING:
    from idp.runtime import IdpServices

PROOF_TYP = "dpop+jwt"  # RFC 9449 §4.2
SCHEME = "DPoP"  # RFC 9449 §7.1: the Authorization scheme and the token_type of bound tokens
# Asymmetric only (RFC 9449 §4.2: never "none" nor a MAC), each with the key type and curve it must use.
ALGS: dict[str, tuple[str, str | None]] = {
    "ES256": ("EC", "P-256"),
    "EdDSA": ("OKP", "Ed25519"),
    "PS256": ("RSA", None),
    "RS256": ("RSA", None),
}
MIN_RSA_BITS = 2048
# Members that would make the header's key a private (or symmetric) one: RFC 9449 §4.3 item 7 forbids them.
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
# RFC 7638 §3.2: the members a thumbprint is computed over, per key type (RFC 8037 §2 for OKP).
THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
JKT = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of a SHA-256 thumbprint
MAX_JTI = 255
UNRESERVED = re.compile(r"%([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Proof:
    """A DPoP proof that passed every check: the thumbprint of its key and what it claimed."""

    jkt: str
    jti: str
    htm: str
    htu: str
    iat: int
    nonce: str | None


@dataclass(frozen=True)
class PresentedToken:
    """An access token as a resource received it: its value, the scheme it came with, and the checked proof."""

    value: str
    scheme: str = "Bearer"
    proof: Proof | None = None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The JWK SHA-256 thumbprint (RFC 7638 §3): the required members, sorted, no whitespace."""
    members = THUMBPRINT_MEMBERS[str(jwk["kty"])]
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def access_token_hash(token: str) -> str:
    """``ath`` (RFC 9449 §4.2): base64url of the SHA-256 of the access token's ASCII."""
    return b64url(hashlib.sha256(token.encode("ascii")).digest())


def normalise_uri(uri: str) -> str:
    """The URI without query and fragment, after RFC 3986 §6.2.2-6.2.3 normalisation (RFC 9449 §4.3 item 9):
    lower-case scheme and host, no default port, empty path as ``/``, percent-encoded unreserved characters
    decoded and other escapes in upper case."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"

    def escape(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char.isascii() and (char.isalnum() or char in "-._~") else "%" + match.group(1).upper()

    path = UNRESERVED.sub(escape, parts.path) or "/"
    return urlunsplit((scheme, netloc, path, "", ""))


# --- nonces (RFC 9449 §8) ---------------------------------------------------------------------------
def _nonce_for(services: IdpServices, step: int) -> str:
    return services.idp_secrets.mac("dpop-nonce", str(step))


def current_nonce(services: IdpServices) -> str:
    """The nonce to hand out now (``DPoP-Nonce``): a MAC of the current time step, so no process stores it."""
    return _nonce_for(services, int(time.time()) // services.settings.dpop_nonce_ttl_s)


def _nonce_is_fresh(services: IdpServices, nonce: str) -> bool:
    """Issued in this time step or the one before (so a nonce lives between one and two steps)."""
    step = int(time.time()) // services.settings.dpop_nonce_ttl_s
    return any(hmac.compare_digest(nonce, _nonce_for(services, s)) for s in (step, step - 1))


def response_headers(services: IdpServices, proof: Proof | None) -> dict[str, str]:
    """``DPoP-Nonce`` for the client's next proof (RFC 9449 §8.2) where nonces are required; else nothing."""
    if proof is None or not services.settings.dpop_require_nonce:
        return {}
    return {"DPoP-Nonce": current_nonce(services)}


# --- proofs (RFC 9449 §4.3) -------------------------------------------------------------------------
def validate(
    request: Request, services: IdpServices, *, access_token: str | None = None, at_resource: bool = False
) -> Proof | None:
    """Check the request's DPoP proof (None when it carries none) and remember its ``jti``.

    ``access_token``: at a resource, the proof must carry its hash (``ath``). Errors are ``invalid_dpop_proof``
    or ``use_dpop_nonce``; ``at_resource`` makes them 401 challenges (RFC 9449 §7.1) instead of 400 (§5)."""
    values = request.headers.getlist("dpop")
    if not values:
        return None
    try:
        if len(values) > 1:
            raise InvalidDpopProof("send exactly one DPoP header")  # RFC 9449 §4.3 item 1
        proof = _check(values[0], request, services, access_token)
        _remember(services, proof)
        return proof
    except (InvalidDpopProof, UseDpopNonce) as exc:
        if at_resource:
            as_resource_error(exc)
        raise


def _check(value: str, request: Request, services: IdpServices, access_token: str | None) -> Proof:
    """Every rule of RFC 9449 §4.3 but the jti's novelty (``_remember``), in the RFC's order."""
    settings = services.settings
    jwk, payload = _signed_payload(value)
    for claim in ("jti", "htm", "htu", "iat"):
        if claim not in payload:
            raise InvalidDpopProof(f"the DPoP proof lacks the {claim} claim")  # RFC 9449 §4.2
    jti, htm, htu, iat = payload["jti"], payload["htm"], payload["htu"], payload["iat"]
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI:
        raise InvalidDpopProof(f"the DPoP proof's jti must be 1 to {MAX_JTI} characters")
    if htm != request.method:
        raise InvalidDpopProof(f"the DPoP proof's htm must be {request.method}")  # RFC 9449 §4.3 item 8
    if not isinstance(htu, str) or _normalised_or_none(htu) not in _request_uris(request, services):
        raise InvalidDpopProof("the DPoP proof's htu is not this endpoint's URI")  # RFC 9449 §4.3 item 9
    if isinstance(iat, bool) or not isinstance(iat, (int, float)):
        raise InvalidDpopProof("the DPoP proof's iat must be a number")
    now = time.time()
    if iat > now + settings.dpop_clock_skew_s:
        raise InvalidDpopProof("the DPoP proof is issued in the future")  # RFC 9449 §4.3 item 11, §11.1
    if iat < now - settings.dpop_proof_max_age_s:
        raise InvalidDpopProof(f"the DPoP proof was issued more than {settings.dpop_proof_max_age_s} s ago")
    nonce = payload.get("nonce")
    if settings.dpop_require_nonce and (not isinstance(nonce, str) or not _nonce_is_fresh(services, nonce)):
        # RFC 9449 §8: the answer carries the nonce to use (error_response puts it in DPoP-Nonce).
        said = "requires a nonce" if nonce is None else "has an unknown or expired nonce"
        raise UseDpopNonce(f"the DPoP proof {said}: use the DPoP-Nonce header's", dpop_nonce=current_nonce(services))
    if access_token is not None:
        ath = payload.get("ath")
        if ath is None:
            raise InvalidDpopProof("the DPoP proof lacks ath, the access token's hash")  # RFC 9449 §4.3 item 12
        if not isinstance(ath, str) or not hmac.compare_digest(ath, access_token_hash(access_token)):
            raise InvalidDpopProof("the DPoP proof's ath does not match the access token")
    return Proof(thumbprint(jwk), jti, htm, htu, int(iat), nonce if isinstance(nonce, str) else None)


def _signed_payload(value: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The proof's header ``jwk`` and its claims, once typ, alg, key and signature are checked (§4.3 items 2-7)."""
    try:
        header = jwt.get_unverified_header(value)
    except jwt.InvalidTokenError as exc:
        raise InvalidDpopProof("the DPoP proof is not a JWT") from exc
    if header.get("typ") != PROOF_TYP:
        raise InvalidDpopProof(f"the DPoP proof's typ must be {PROOF_TYP}")  # RFC 9449 §4.3 item 4
    alg = header.get("alg")
    if alg not in ALGS:
        raise InvalidDpopProof(f"the DPoP proof's alg must be one of {', '.join(ALGS)}")  # §4.3 item 5
    jwk = header.get("jwk")
    key = _public_key(jwk, str(alg))
    try:
        payload = json.loads(jwt.PyJWS().decode(value, key, algorithms=[str(alg)]))
    except jwt.InvalidSignatureError as exc:
        raise InvalidDpopProof("the DPoP proof's signature does not verify with its jwk") from exc  # item 6
    except (jwt.InvalidTokenError, ValueError, RecursionError) as exc:
        raise InvalidDpopProof("the DPoP proof is malformed") from exc
    if not isinstance(payload, dict):
        raise InvalidDpopProof("the DPoP proof's payload must be a JSON object")
    assert isinstance(jwk, dict)  # _public_key refused anything else
    return jwk, payload


def _normalised_or_none(uri: str) -> str | None:
    """``normalise_uri``, or None for a string that is no URI at all (a port that is not a number)."""
    try:
        return normalise_uri(uri)
    except ValueError:
        return None


def _public_key(jwk: Any, alg: str) -> Any:
    """The header's ``jwk`` as a verification key, refused unless it is a public key of the alg's type."""
    if not isinstance(jwk, dict):
        raise InvalidDpopProof("the DPoP proof's header must carry the public key as jwk")  # RFC 9449 §4.2
    if any(member in jwk for member in PRIVATE_MEMBERS):
        raise InvalidDpopProof("the DPoP proof's jwk must be a public key (it holds private members)")  # item 7
    kty, curve = ALGS[alg]
    if jwk.get("kty") != kty or (curve is not None and jwk.get("crv") != curve):
        raise InvalidDpopProof(f"{alg} needs a {kty} key" + (f" on {curve}" if curve else ""))
    try:
        key = jwt.PyJWK(dict(jwk), algorithm=alg).key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, KeyError, TypeError) as exc:
        raise InvalidDpopProof("the DPoP proof's jwk is not a usable key") from exc
    if kty == "RSA" and key.key_size < MIN_RSA_BITS:
        raise InvalidDpopProof(f"an RSA DPoP key must have at least {MIN_RSA_BITS} bits")
    return key


def _request_uris(request: Request, services: IdpServices) -> set[str]:
    """The URIs this request may be named by: the advertised endpoint (issuer + path, as discovery says) and
    the URI it was received on (which differ behind a proxy)."""
    return {
        normalise_uri(services.settings.resolved_issuer + request.url.path),
        normalise_uri(str(request.url)),
    }


def _remember(services: IdpServices, proof: Proof) -> None:
    """Store the jti in its own transaction until the proof is too old anyway; a second use is a replay
    (RFC 9449 §11.1). The unique key is per key thumbprint: two clients' random jtis never collide."""
    settings = services.settings
    expires = proof.iat + settings.dpop_proof_max_age_s + settings.dpop_clock_skew_s
    try:
        with services.sessions.begin() as session:
            session.add(
                DpopProof(
                    proof_hash=sha256_hex(f"{proof.jkt}|{proof.jti}"),
                    expires_at=datetime.fromtimestamp(expires, UTC),
                )
            )
    except IntegrityError as exc:
        raise InvalidDpopProof("the DPoP proof has already been used (its jti was seen)") from exc


def prune_statement() -> Any:
    """Housekeeping: the jti values no proof can be accepted with any longer."""
    return delete(DpopProof).where(DpopProof.expires_at < utcnow())


# --- the token endpoint (RFC 9449 §5) and the authorization request (§10) -------------------------
def _client_validate(request: Request, services: IdpServices, client: Client) -> Proof | None:
    """``validate`` for an authenticated client's request; a refused proof is audited (``oidc.dpop_proof_refused``,
    in its own transaction: the request rolls back) — a replayed jti or a foreign htu is how a stolen proof shows.
    A request for a nonce is the protocol working, not a refusal, and is not recorded."""
    try:
        return validate(request, services)
    except InvalidDpopProof as exc:
        with services.sessions.begin() as session:
            audit.record(
                session,
                Actor(None, f"client:{client.client_id}", "client"),
                "oidc.dpop_proof_refused",
                "client",
                client.client_id,
                client_id=client.client_id,
                endpoint=request.url.path,
                reason=exc.description,
            )
        raise


def token_request_proof(request: Request, services: IdpServices, client: Client) -> Proof | None:
    """The token request's checked proof; a client registered to require DPoP must send one."""
    proof = _client_validate(request, services, client)
    if proof is None and client.require_dpop:
        raise InvalidRequest("this client must send a DPoP proof with its token requests (RFC 9449)")
    return proof


def check_key(bound_jkt: str | None, proof: Proof | None, what: str) -> None:
    """A code or refresh token bound to a key is redeemed only with a proof by that key (``invalid_grant``)."""
    if bound_jkt is None:
        return
    if proof is None:
        raise InvalidGrant(f"the {what} is bound to a DPoP key: send a DPoP proof made with it")
    if not hmac.compare_digest(proof.jkt, bound_jkt):
        raise InvalidGrant(f"the DPoP proof is not made with the key the {what} is bound to")  # RFC 9449 §5, §10


def refresh_binding(client: Client, proof: Proof | None, previous: str | None = None) -> str | None:
    """The key a new refresh token is bound to: the family's, else the proof's.

    RFC 9449 §5 binds refresh tokens of public clients and lets a confidential client's go unbound. civid has
    only confidential clients and binds theirs as well: a client secret can leak with the refresh tokens from
    the same store, a non-extractable DPoP key cannot, and the family then lives only with that key."""
    del client  # the rule is the same for every client civid registers
    return previous or (proof.jkt if proof is not None else None)


def pushed_request_binding(
    request: Request, services: IdpServices, client: Client, params: dict[str, Any]
) -> Proof | None:
    """RFC 9449 §10.1: a DPoP proof at PAR binds the code to its key, and must agree with ``dpop_jkt``."""
    proof = _client_validate(request, services, client)
    if proof is None:
        return None
    if params.get("dpop_jkt") not in (None, proof.jkt):
        raise InvalidRequest("dpop_jkt does not match the DPoP proof's key")
    params["dpop_jkt"] = proof.jkt
    return proof


def check_jkt_parameter(value: str | None) -> str | None:
    """The ``dpop_jkt`` authorization request parameter (RFC 9449 §10), when given: a SHA-256 thumbprint."""
    if value is None:
        return None
    if not JKT.fullmatch(value):
        raise InvalidRequest("dpop_jkt must be a base64url SHA-256 JWK thumbprint (43 characters)")
    return value


def bind_access_token(claims: dict[str, Any], proof: Proof | None) -> str:
    """Add ``cnf.jkt`` to the access token's claims for a DPoP request; return the token_type (RFC 9449 §6.1)."""
    if proof is None:
        return "Bearer"
    claims["cnf"] = {"jkt": proof.jkt}
    return SCHEME


# --- resources: UserInfo and other endpoints an access token opens (RFC 9449 §7) -------------------
def presented(request: Request, services: IdpServices, form: Mapping[str, str] | None = None) -> PresentedToken | None:
    """The access token of an ``Authorization: DPoP`` request with its checked proof (None for another scheme)."""
    header = request.headers.get("authorization", "")
    if header[:5].lower() != "dpop ":
        return None
    token = header[5:].strip()
    if (form or {}).get("access_token"):
        raise as_resource_error(InvalidRequest("send the access token in one place only"))
    if not token:
        raise as_resource_error(InvalidToken("an access token is required", bare_challenge=True))
    proof = validate(request, services, access_token=token, at_resource=True)
    if proof is None:
        raise as_resource_error(InvalidDpopProof("the DPoP scheme needs a DPoP proof header"))  # RFC 9449 §7.1
    return PresentedToken(token, SCHEME, proof)


def check_binding(claims: Mapping[str, Any], token: PresentedToken) -> None:
    """A bound token only with the DPoP scheme and a proof by its key (RFC 9449 §7.1-7.2); an unbound one
    only as Bearer."""
    cnf = claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, Mapping) else None
    if jkt is None:
        if token.scheme == SCHEME:
            raise as_resource_error(InvalidToken("the access token is not DPoP-bound: present it as Bearer"))
        return
    if token.scheme != SCHEME or token.proof is None:
        # RFC 9449 §7.2: a DPoP-bound token presented as a bearer token is refused.
        raise as_resource_error(InvalidToken("the access token is DPoP-bound: present it with the DPoP scheme"))
    if not hmac.compare_digest(token.proof.jkt, str(jkt)):
        raise as_resource_error(InvalidToken("the DPoP proof is not made with the key the access token is bound to"))


def as_resource_error(exc: OAuthError) -> OAuthError:
    """The error as a resource's 401 with a ``DPoP`` challenge naming the accepted algorithms (RFC 9449 §7.1)."""
    exc.extra.setdefault("scheme", SCHEME)
    exc.extra.setdefault("dpop_algs", " ".join(ALGS))
    if exc.error in ("invalid_dpop_proof", "use_dpop_nonce"):
        exc.status = 401
    return exc


@contextmanager
def challenges(token: PresentedToken) -> Iterator[None]:
    """Errors about a token that came with the DPoP scheme are challenged with that scheme (RFC 9449 §7.1)."""
    try:
        yield
    except OAuthError as exc:
        if token.scheme == SCHEME and (exc.status == 401 or exc.error == "insufficient_scope"):
            as_resource_error(exc)
        raise


def resource_headers(services: IdpServices, token: PresentedToken) -> dict[str, str]:
    """Headers of a resource's answer: a fresh nonce when nonces are required."""
    return response_headers(services, token.proof)
