"""Holder key binding of SD-JWT attestations (RFC 9901 "Key Binding"; SD-JWT VC "cnf"; RFC 7800 §3.2).

The issuer-signed JWT of the ``sd-jwt`` form confirms a key the bank holds: ``cnf: {"jwk": <public JWK>}``.
A copy of the attestation is then worthless without the bank's private key: a verifier that requires key
binding accepts a presentation only with a Key Binding JWT (``typ: kb+jwt``; ``aud``, ``nonce``, ``iat``,
``sd_hash``) signed by that key, which the bank makes when it presents. Which key is bound:

- by default, the bank's registered key that verified its private_key_jwt client assertion in this very
  request (``idp.client_auth.assertion_key``): the assertion has just proved the bank holds it;
- or the request's ``holder_jwk``: a public JWK that must be one of the bank's registered signing keys
  (``jwks``, or the set at its ``jwks_uri``), so a bank may bind to another key it registered. civid never
  binds to a key the bank has not registered: it could not tell whom such a key belongs to.

The key must be EC P-256 or RSA of at least 2048 bits (what SD-JWT verifiers commonly check: ES256, RS256).
Anything else is ``invalid_request``. The plain ``jwt`` form is bearer evidence and carries no ``cnf``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Request
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from idp.client_auth import assertion_key, client_jwks
from idp.errors import InvalidRequest
from models import Client

if TYPE_CHECKING:
    from idp.runtime import IdpServices

MIN_RSA_BITS = 2048
# RFC 7638 §3.2: the required members of a public JWK, the ones its thumbprint is computed over.
PUBLIC_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})  # RFC 7518 §6.2.2, §6.3.2, §6.4
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


def key_to_bind(request: Request, services: IdpServices, client: Client, named: Any | None) -> dict[str, Any]:
    """The public JWK to bind the SD-JWT to: ``named`` (the request's ``holder_jwk``) when it is one of the
    bank's registered keys, else the key that verified this request's client assertion."""
    if named is not None:
        key = _parse(named)
        if not _is_registered(key, services, client):
            raise InvalidRequest(
                "holder_jwk is not one of your registered signing keys (jwks or jwks_uri): "
                "register it first, or leave holder_jwk out to bind your authentication key"
            )
        return public_jwk(key)
    verifying = assertion_key(request)
    if verifying is None:  # kyc.bank_auth admits private_key_jwt only, so this is a programming error
        raise RuntimeError("no client assertion key was recorded for this request")
    own = _public(verifying)
    if own is None or not _strong_enough(own):
        raise InvalidRequest(
            "your client assertion's key cannot bind an SD-JWT (EC P-256 or RSA of at least "
            f"{MIN_RSA_BITS} bits only): name another registered key as holder_jwk"
        )
    return public_jwk(own)


def confirmation(jwk: Mapping[str, Any]) -> dict[str, Any]:
    """The ``cnf`` claim confirming ``jwk`` (RFC 7800 §3.2)."""
    return {"jwk": dict(jwk)}


def public_jwk(key: PublicKey) -> dict[str, Any]:
    """The key as a public JWK with its RFC 7638 required members only (no kid, alg or private member)."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        full = ECAlgorithm.to_jwk(key, as_dict=True)
    else:
        full = RSAAlgorithm.to_jwk(key, as_dict=True)
    return {name: full[name] for name in PUBLIC_MEMBERS[full["kty"]]}


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The JWK SHA-256 Thumbprint (RFC 7638 §3): names the bound key in the audit trail."""
    canonical = json.dumps(
        {name: jwk[name] for name in PUBLIC_MEMBERS[jwk["kty"]]}, separators=(",", ":"), sort_keys=True
    )
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode("utf-8")).digest()).rstrip(b"=").decode()


def _parse(named: Any) -> PublicKey:
    """The public key a ``holder_jwk`` describes; ``invalid_request`` unless it is a public EC P-256 or
    RSA (≥ 2048 bits) JWK."""
    if not isinstance(named, dict):
        raise InvalidRequest("holder_jwk must be a JWK (a JSON object)")
    if PRIVATE_MEMBERS & set(named):
        # Never echo it: a bank that sent its private key should replace that key.
        raise InvalidRequest("holder_jwk must be a public key: it holds private key members")
    if named.get("use", "sig") != "sig":
        raise InvalidRequest("holder_jwk must be a signing key (use: sig)")
    key = _load(named)
    if key is None or not _strong_enough(key):
        raise InvalidRequest(f"holder_jwk must be an EC P-256 or an RSA key of at least {MIN_RSA_BITS} bits")
    return key


def _load(jwk: Mapping[str, Any]) -> PublicKey | None:
    """The public key of an EC or RSA JWK, or None when it is another type or malformed."""
    loaders: dict[str, type[ECAlgorithm] | type[RSAAlgorithm]] = {"EC": ECAlgorithm, "RSA": RSAAlgorithm}
    loader = loaders.get(str(jwk.get("kty")))
    if loader is None:
        return None
    try:
        return _public(loader.from_jwk(dict(jwk)))
    except (InvalidKeyError, ValueError, TypeError, KeyError):
        return None


def _public(key: Any) -> PublicKey | None:
    """The public half of an EC or RSA key object (a registered JWK may wrongly hold private members)."""
    if isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        key = key.public_key()
    return key if isinstance(key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)) else None


def _strong_enough(key: PublicKey) -> bool:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return isinstance(key.curve, ec.SECP256R1)
    return key.key_size >= MIN_RSA_BITS


def _same_key(key: PublicKey, other: PublicKey) -> bool:
    return bool(key.public_numbers() == other.public_numbers())  # curve and point, or modulus and exponent


def _is_registered(key: PublicKey, services: IdpServices, client: Client) -> bool:
    """Is ``key`` one of the bank's registered signing keys? A ``jwks_uri`` set is fetched again once when the
    cached copy lacks it (a key the bank has just added), within idp.client_auth's refetch rate limit."""
    if any(_same_key(key, registered) for registered in _registered_keys(services, client)):
        return True
    return bool(client.jwks_uri) and any(
        _same_key(key, registered) for registered in _registered_keys(services, client, refresh=True)
    )


def _registered_keys(services: IdpServices, client: Client, refresh: bool = False) -> list[PublicKey]:
    """The bank's registered signing keys: the set ``idp.client_auth`` checks its assertions against."""
    # A jwks_uri set was fetched moments ago for the client assertion, so it normally comes from the cache.
    jwks = client_jwks(client, services.settings.outbound_allow_private, refresh=refresh)
    found = []
    for jwk in jwks.get("keys", []) if isinstance(jwks, Mapping) else []:
        if isinstance(jwk, Mapping) and jwk.get("use", "sig") == "sig":
            key = _load(jwk)
            if key is not None:
                found.append(key)
    return found
