"""A test wallet for civid's OpenID4VCI issuer: its own EC P-256 key (PyJWT and cryptography, not civid's code), key
proofs, the pre-authorized code and credential requests, and the independent ``sd-jwt`` package as the holder that
parses what it received and the verifier that checks a presentation against ``/.well-known/jwt-vc-issuer``."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from jwcrypto.jwk import JWK
from jwt.algorithms import ECAlgorithm
from sd_jwt.holder import SDJWTHolder
from sd_jwt.verifier import SDJWTVerifier

from tests.conftest import Keys

PRE_AUTHORIZED = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
CONFIGURATION_ID = "civid_pid_sd_jwt"


@dataclass
class Wallet:
    """A wallet's key pair and the requests it makes."""

    private: Any = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    @property
    def public_jwk(self) -> dict[str, Any]:
        full = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {name: full[name] for name in ("kty", "crv", "x", "y")}

    def proof(self, audience: str, nonce: str | None, *, header: dict[str, Any] | None = None, **claims: Any) -> str:
        """A key proof (OpenID4VCI Appendix F.1); ``header`` and ``claims`` override (None drops a claim)."""
        body: dict[str, Any] = {"aud": audience, "iat": int(time.time()), "nonce": nonce}
        body.update(claims)
        headers = {"typ": "openid4vci-proof+jwt", "jwk": self.public_jwk}
        headers.update(header or {})
        return jwt.encode(
            {k: v for k, v in body.items() if v is not None},
            self.private,
            algorithm="ES256",
            headers={k: v for k, v in headers.items() if v is not None},
        )


def make_offer(client: TestClient, keys: Keys, uin: str) -> dict[str, Any]:
    """The officer's offer for ``uin`` (the response body: credential_offer, offer_link, tx_code, ...)."""
    response = client.post(f"/v1/identities/{uin}/wallet-offers", headers=keys.officer)
    assert response.status_code == 201, response.text
    return response.json()


def pre_authorized_code(offer: dict[str, Any]) -> str:
    return offer["credential_offer"]["grants"][PRE_AUTHORIZED]["pre-authorized_code"]


def redeem(client: TestClient, code: str, tx_code: str | None):  # type: ignore[no-untyped-def]
    """The anonymous token request of the pre-authorized code flow (OpenID4VCI §6.1)."""
    form = {"grant_type": PRE_AUTHORIZED, "pre-authorized_code": code}
    if tx_code is not None:
        form["tx_code"] = tx_code
    return client.post("/token", data=form)


def c_nonce(client: TestClient) -> str:
    response = client.post("/nonce")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store", response.text
    return response.json()["c_nonce"]


def request_credential(  # type: ignore[no-untyped-def]
    client: TestClient, access_token: str, proof: str | None, scheme: str = "Bearer", **members: Any
):
    """POST /credential for the PID with one jwt key proof (``members`` replace or add request members)."""
    body: dict[str, Any] = {"credential_configuration_id": CONFIGURATION_ID}
    if proof is not None:
        body["proofs"] = {"jwt": [proof]}
    body.update(members)
    return client.post("/credential", json=body, headers={"Authorization": f"{scheme} {access_token}"})


def issuer_jwks(client: TestClient) -> dict[str, Any]:
    """civid's credential keys, found as a verifier would: /.well-known/jwt-vc-issuer, then its jwks_uri."""
    metadata = client.get("/.well-known/jwt-vc-issuer").json()
    path = metadata["jwks_uri"].removeprefix(str(client.base_url))
    return client.get(path).json()


def holder_view(issued: str) -> SDJWTHolder:
    """The sd-jwt package's holder over an issued credential (it parses and indexes the disclosures)."""
    return SDJWTHolder(issued)


def present(issued: str, wallet: Wallet, disclose: dict[str, Any], *, nonce: str, aud: str) -> str:
    """A presentation of the ``disclose`` claims with a KB-JWT signed by the wallet's key."""
    holder = SDJWTHolder(issued)
    holder.create_presentation(
        disclose, nonce=nonce, aud=aud, holder_key=JWK.from_pyca(wallet.private), sign_alg="ES256"
    )
    return holder.sd_jwt_presentation


def verify_presentation(client: TestClient, presentation: str, *, nonce: str | None, aud: str | None) -> dict[str, Any]:
    """A verifier's check with the sd-jwt package: civid's signature (the key by kid from the issuer's JWKS), the
    disclosures' digests and, when nonce and aud are expected, the KB-JWT against ``cnf``."""
    jwks = issuer_jwks(client)

    def issuer_key(issuer: str, header: dict[str, Any]) -> JWK:
        assert issuer == str(client.base_url) or issuer.startswith("http")
        return JWK(**next(k for k in jwks["keys"] if k["kid"] == header["kid"]))

    return SDJWTVerifier(presentation, issuer_key, expected_aud=aud, expected_nonce=nonce).get_verified_payload()


def fresh_nonce_value() -> str:
    return secrets.token_urlsafe(16)
