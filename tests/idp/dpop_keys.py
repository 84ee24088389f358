"""A DPoP client's side for tests (RFC 9449 §4): a key pair and the proofs it signs, every member overridable so
that the negative tests can bend one rule at a time. Thumbprints are computed with joserfc, not civid's code."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc.jwk import JWKRegistry
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

DROP = object()  # an override that leaves the member out


def _generate(alg: str) -> Any:
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(private: Any) -> dict[str, Any]:
    """The public JWK of a private key (what a proof's header carries)."""
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)


def private_jwk(private: Any) -> dict[str, Any]:
    """The private JWK (never to be sent; the negative test sends it)."""
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return ECAlgorithm.to_jwk(private, as_dict=True)
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return OKPAlgorithm.to_jwk(private, as_dict=True)
    return RSAAlgorithm.to_jwk(private, as_dict=True)


def ath(token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()


@dataclass
class DpopKey:
    """A client's DPoP key and the proofs it makes."""

    alg: str = "ES256"
    private: Any = None
    jwk: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        if self.private is None:
            self.private = _generate(self.alg)
        self.jwk = public_jwk(self.private)

    @property
    def jkt(self) -> str:
        """RFC 7638 thumbprint, by joserfc."""
        return JWKRegistry.import_key(self.jwk).thumbprint()

    def proof(
        self,
        htm: str,
        htu: str,
        *,
        token: str | None = None,
        header: dict[str, Any] | None = None,
        signer: Any = None,
        **claims: Any,
    ) -> str:
        """A proof for ``htm htu`` (with ``ath`` of ``token``); ``claims``/``header`` override or (DROP) remove
        members; ``signer`` signs with another key than the header's."""
        payload: dict[str, Any] = {"jti": secrets.token_urlsafe(16), "htm": htm, "htu": htu, "iat": int(time.time())}
        if token is not None:
            payload["ath"] = ath(token)
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not DROP}
        headers: dict[str, Any] = {"typ": "dpop+jwt", "jwk": self.jwk}
        headers.update(header or {})
        headers = {k: v for k, v in headers.items() if v is not DROP}
        return jwt.encode(payload, signer or self.private, algorithm=self.alg, headers=headers)


def issuer_url(services, path: str) -> str:  # type: ignore[no-untyped-def]
    return services.settings.resolved_issuer + path


def oauth_error(response, status: int, error: str) -> dict:  # type: ignore[no-untyped-def]
    """The RFC 6749 error body of ``response``, after checking its status and error code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    return body
