"""Selective Disclosure for JWTs (SD-JWT, RFC 9901, formerly draft-ietf-oauth-selective-disclosure-jwt):
the issuer's side, shared by the KYC attestations (kyc/) and the wallet credentials (credentials/). A credential
in this form lets its holder show a third party only some of the claims: each claim becomes a salted Disclosure,
and the signed JWT carries only the digests of the Disclosures (``_sd``) plus decoys, so hidden claims reveal
neither their value nor their count.

The issuer-signed JWT is typed ``dc+sd-jwt`` and carries a ``vct`` (SD-JWT VC, draft-ietf-oauth-sd-jwt-vc,
from -06 on) and a ``cnf`` (RFC 7800) naming the holder's public key (``kyc.holder_binding``; a wallet's
proof key): it is key-bound. civid issues it without a Key Binding JWT (``serialize``: the form ends with
``~``); the holder appends one when presenting ("Key Binding": a JWT typed ``kb+jwt`` over ``aud``, ``nonce``,
``iat`` and ``sd_hash``, the digest of the presented SD-JWT, signed with the key in ``cnf``), and a verifier
that requires key binding refuses a presentation without it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

SD_ALG = "sha-256"  # "Hash Function Claim": the IANA Named Information name of SHA-256
SD_JWT_TYP = "dc+sd-jwt"  # SD-JWT VC, "JOSE Header"
SALT_BYTES = 16  # 128 bits, the minimum "Entropy of Salts" asks for
RESERVED = ("_sd", "...")  # names a Disclosure must never use ("Disclosures for Object Properties")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def digest(encoded_disclosure: str) -> str:
    """base64url(SHA-256(the ASCII bytes of the base64url Disclosure)) ("Hashing Disclosures")."""
    return _b64url(hashlib.sha256(encoded_disclosure.encode("ascii")).digest())


@dataclass(frozen=True)
class Disclosure:
    """One selectively disclosable object property: ``[salt, name, value]``, JSON then base64url."""

    salt: str
    name: str
    value: Any
    encoded: str

    @property
    def digest(self) -> str:
        """What the signed JWT's ``_sd`` array holds for this Disclosure."""
        return digest(self.encoded)


def disclose(name: str, value: Any) -> Disclosure:
    """A Disclosure of one property with a fresh random salt ("Disclosures for Object Properties")."""
    if name in RESERVED:
        raise ValueError(f"{name!r} cannot be selectively disclosed")
    salt = _b64url(secrets.token_bytes(SALT_BYTES))
    # UTF-8 JSON, not canonicalised: the verifier hashes the encoded string it receives, not the JSON.
    raw = json.dumps([salt, name, value], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Disclosure(salt, name, value, _b64url(raw))


def decoy_digest() -> str:
    """A digest of random bytes, standing for no claim ("Decoy Digests")."""
    return _b64url(hashlib.sha256(secrets.token_bytes(32)).digest())


def conceal(members: dict[str, Any], pad_to: int = 0) -> tuple[dict[str, Any], list[Disclosure]]:
    """Make every member of ``members`` selectively disclosable: return ``{"_sd": [digests]}`` (with
    decoys up to ``pad_to`` digests, so the count of real claims does not show) and the Disclosures."""
    disclosures = [disclose(name, value) for name, value in members.items()]
    digests = [d.digest for d in disclosures]
    digests += [decoy_digest() for _ in range(max(0, pad_to - len(digests)))]
    # "Embedding Disclosure Digests": the order must not reveal the claims' original order.
    return {"_sd": sorted(digests)}, disclosures


def serialize(issuer_signed_jwt: str, disclosures: list[Disclosure]) -> str:
    """The SD-JWT as issued: ``<Issuer-signed JWT>~<Disclosure 1>~...~<Disclosure N>~``, without the Key
    Binding JWT the holder adds after the last ``~`` when presenting."""
    return "~".join([issuer_signed_jwt, *(d.encoded for d in disclosures)]) + "~"
