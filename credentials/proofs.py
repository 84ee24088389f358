"""The ``jwt`` key proof (OpenID4VCI 1.0 §8.2.1.1 and Appendix F.1): the wallet proves it holds the key the
credential will be bound to.

Header: ``typ: openid4vci-proof+jwt``, ``alg: ES256`` (what the metadata offers; never ``none`` or a MAC), and the
key itself as ``jwk`` — a public EC P-256 key (a JWK holding private members is refused, never echoed); ``kid`` and
``x5c`` are not supported (civid resolves no DIDs and trusts no wallet certificates). Body: ``aud`` the credential
issuer, ``iat`` within ``wallet_proof_max_age_s``, ``nonce`` a c_nonce from the Nonce Endpoint, accepted once;
``iss``, when present, the client the access token was issued to. A bad proof is ``invalid_proof``; a proof whose
only fault is its nonce is ``invalid_nonce``, so the wallet fetches a fresh one and signs again. The nonce is
consumed only after the signature verified: a forged proof cannot burn a wallet's nonce.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlalchemy.orm import Session

from civid.settings import Settings
from credentials import nonces
from credentials.errors import InvalidNonce, InvalidProof
from kyc.holder_binding import PRIVATE_MEMBERS, public_jwk, thumbprint

PROOF_TYP = "openid4vci-proof+jwt"
ALGS = ("ES256",)


@dataclass(frozen=True)
class ProvenKey:
    """The wallet's key, proven: the public JWK to put in ``cnf`` and its RFC 7638 thumbprint."""

    jwk: dict[str, Any]
    thumbprint: str


def _header(proof: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(proof)
    except jwt.InvalidTokenError as exc:
        raise InvalidProof("the key proof is not a JWT") from exc
    if header.get("typ") != PROOF_TYP:
        raise InvalidProof(f"the key proof's typ must be {PROOF_TYP}")
    if header.get("alg") not in ALGS:
        raise InvalidProof(f"the key proof must be signed with {' or '.join(ALGS)}")
    if "kid" in header or "x5c" in header:
        raise InvalidProof("name the key with jwk only (kid and x5c are not supported)")
    return header


def _key(jwk: Any) -> ec.EllipticCurvePublicKey:
    if not isinstance(jwk, dict):
        raise InvalidProof("the key proof's header needs a jwk (a JSON object)")
    if PRIVATE_MEMBERS & set(jwk):
        raise InvalidProof("the key proof's jwk must be a public key: it holds private key members")
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise InvalidProof("the key proof's jwk must be an EC P-256 key")
    try:
        key = ECAlgorithm.from_jwk(jwk)
    except (jwt.InvalidKeyError, ValueError, TypeError, KeyError) as exc:
        raise InvalidProof("the key proof's jwk is malformed") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise InvalidProof("the key proof's jwk must be a public key")
    return key


def verify(db: Session, settings: Settings, proof: Any, client_id: str | None) -> ProvenKey:
    """Check one ``jwt`` key proof and consume its nonce; the proven key (else ``invalid_proof``/``invalid_nonce``)."""
    if not isinstance(proof, str):
        raise InvalidProof("a jwt key proof must be a string")
    header = _header(proof)
    key = _key(header.get("jwk"))
    issuer = settings.resolved_issuer
    try:
        claims = jwt.decode(
            proof,
            key,
            algorithms=list(ALGS),
            audience=issuer,
            options={"require": ["aud", "iat"], "verify_iat": False},
        )
    except jwt.InvalidAudienceError as exc:
        raise InvalidProof(f"the key proof's aud must be the credential issuer {issuer}") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidProof(f"the key proof lacks the {exc.claim!r} claim") from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidProof(f"the key proof is invalid: {exc}") from exc
    iat = claims.get("iat")
    if not isinstance(iat, int) or abs(time.time() - iat) > settings.wallet_proof_max_age_s:
        raise InvalidProof(f"the key proof's iat must be within {settings.wallet_proof_max_age_s} s of now")
    if client_id is not None and "iss" in claims and claims["iss"] != client_id:
        raise InvalidProof("the key proof's iss must be the client_id the access token was issued to")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise InvalidProof("the key proof must carry a c_nonce from the nonce endpoint")  # §8.3.1.2
    if not nonces.consume(db, nonce):
        raise InvalidNonce("the key proof's c_nonce is unknown, expired or already used: fetch a new one")
    jwk = public_jwk(key)
    return ProvenKey(jwk, thumbprint(jwk))
