"""A software WebAuthn authenticator for tests (fido2 ships none): real EC P-256 keys, real authenticator
data and real signatures, checked by the real server. Each knob breaks one thing a real authenticator or
browser would get right (user verification, origin, RP id, counter), so a test can show the server refuses it.

It plays the browser's part too: it builds clientDataJSON (type, challenge, origin) the way
``navigator.credentials.create/get`` would, and returns the credential in WebAuthn's JSON encoding.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import Aaguid, AttestationObject, AttestedCredentialData, AuthenticatorData

FLAG = AuthenticatorData.FLAG
AAGUID = Aaguid(bytes.fromhex("c1d1c1d1000040008000c1d1c1d1c1d1"))


@dataclass
class StoredCredential:
    """A discoverable credential as the authenticator keeps it."""

    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    """A platform authenticator with resident keys and user verification, for one origin."""

    origin: str
    credentials: dict[bytes, StoredCredential] = field(default_factory=dict)
    counter_step: int = 1  # 0 imitates authenticators that never count (always 0)

    def create(
        self,
        options: dict[str, Any],
        *,
        user_verified: bool = True,
        origin: str | None = None,
        rp_id: str | None = None,
        resident_key: bool = True,
    ) -> dict[str, Any]:
        """``navigator.credentials.create`` over the server's creation options (JSON); the response JSON."""
        public_key = options["publicKey"]
        challenge = public_key["challenge"]
        rp = rp_id or public_key["rp"]["id"]
        excluded = {websafe_decode(c["id"]) for c in public_key.get("excludeCredentials") or []}
        if excluded & set(self.credentials):
            raise ValueError("InvalidStateError: this authenticator already holds an excluded credential")
        credential_id = os.urandom(32)
        private_key = ec.generate_private_key(ec.SECP256R1())
        stored = StoredCredential(credential_id, private_key, rp, websafe_decode(public_key["user"]["id"]))
        self.credentials[credential_id] = stored
        attested = AttestedCredentialData.create(
            AAGUID, credential_id, ES256.from_cryptography_key(private_key.public_key())
        )
        flags = FLAG.UP | FLAG.AT | (FLAG.UV if user_verified else 0)
        auth_data = AuthenticatorData.create(_rp_hash(rp), flags, stored.sign_count, attested)
        attestation = AttestationObject.create("none", auth_data, {})
        client_data = _client_data("webauthn.create", challenge, origin or self.origin)
        return {
            "id": websafe_encode(credential_id),
            "rawId": websafe_encode(credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {"credProps": {"rk": resident_key}},
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "attestationObject": websafe_encode(bytes(attestation)),
                "transports": ["internal"],
            },
        }

    def get(
        self,
        options: dict[str, Any],
        credential_id: bytes | None = None,
        *,
        user_verified: bool = True,
        origin: str | None = None,
        rp_id: str | None = None,
        sign_count: int | None = None,
        cross_origin: bool = False,
        tamper_signature: bool = False,
    ) -> dict[str, Any]:
        """``navigator.credentials.get`` (discoverable: the caller picks which credential, as the person would
        in the account chooser; the only one when omitted); the assertion JSON."""
        public_key = options["publicKey"]
        stored = self.credentials[credential_id] if credential_id else next(iter(self.credentials.values()))
        rp = rp_id or public_key.get("rpId") or stored.rp_id
        if sign_count is None:
            stored.sign_count += self.counter_step
            sign_count = stored.sign_count
        flags = FLAG.UP | (FLAG.UV if user_verified else 0)
        auth_data = bytes(AuthenticatorData.create(_rp_hash(rp), flags, sign_count))
        client_data = _client_data("webauthn.get", public_key["challenge"], origin or self.origin, cross_origin)
        signature = stored.private_key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        if tamper_signature:
            signature = stored.private_key.sign(b"something else", ec.ECDSA(hashes.SHA256()))
        return {
            "id": websafe_encode(stored.credential_id),
            "rawId": websafe_encode(stored.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "authenticatorData": websafe_encode(auth_data),
                "signature": websafe_encode(signature),
                "userHandle": websafe_encode(stored.user_handle),
            },
        }


def _rp_hash(rp_id: str) -> bytes:
    return hashlib.sha256(rp_id.encode()).digest()


def _client_data(kind: str, challenge: str, origin: str, cross_origin: bool = False) -> bytes:
    return json.dumps(
        {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": cross_origin}, separators=(",", ":")
    ).encode()
