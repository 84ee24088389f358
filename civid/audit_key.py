"""The audit log's own Ed25519 key, which signs checkpoints: a JSON file (mode 0600) like the template key ring.

Kept apart from the OpenID signing keys on purpose: those live in the database (sealed by the template key ring),
and a checkpoint must mean something against whoever controls the database. ``{"active": kid, "keys": {kid: b64
seed}}``; rotation adds a key and makes it active, and the old ones stay so checkpoints they signed still verify.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from civid.errors import ConfigurationError
from civid.signed_note import Note, Verifier, sign, verifier_of

if TYPE_CHECKING:
    from civid.pkcs11_token import Token


class TokenEd25519Key:
    """An Ed25519 key whose private half stays in a PKCS#11 token (CKM_EDDSA), labelled with its key id."""

    def __init__(self, token: Token, label: str, public: Ed25519PublicKey) -> None:
        self.token = token
        self.label = label
        self._public = public

    def sign(self, data: bytes) -> bytes:
        return self.token.sign(self.label, "EdDSA", data)

    def public_key(self) -> Ed25519PublicKey:
        return self._public


class AuditKeys:
    """The checkpoint signing keys under one note name (the log's origin), one of them active."""

    def __init__(
        self, name: str, keys: dict[str, Any], active: str, path: Path | None = None, token: Token | None = None
    ) -> None:
        if active not in keys:
            raise ConfigurationError(f"active audit key {active!r} is not in {path}")
        self.name = name
        self._keys: dict[str, Ed25519PrivateKey | TokenEd25519Key] = dict(keys)
        self.active = active
        self.path = path
        self.token = token  # set: the file holds public keys only, and new keys are made in the token

    @classmethod
    def load_or_create(cls, path: Path, name: str, token: Token | None = None) -> AuditKeys:
        """Read the key file at ``path``; create it with one fresh key on first run (in ``token`` when given)."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            kid = _new_kid()
            created = cls(name, {kid: _new_key(kid, token)}, kid, path, token)
            created.save()
            return created
        try:
            raw = json.loads(path.read_text())
            if raw.get("in_token"):
                if token is None:
                    raise ConfigurationError(
                        f"the audit keys in {path} live in a PKCS#11 token: set CIVID_KEYS_BACKEND=pkcs11"
                    )
                public = {
                    kid: TokenEd25519Key(token, kid, Ed25519PublicKey.from_public_bytes(base64.b64decode(raw_key)))
                    for kid, raw_key in raw["keys"].items()
                }
                if not token.has(raw["active"]):
                    raise ConfigurationError(
                        f"the active audit key {raw['active']!r} is not in PKCS#11 token {token.label!r}"
                    )
                return cls(name, public, raw["active"], path, token)
            keys = {
                kid: Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed)) for kid, seed in raw["keys"].items()
            }
            return cls(name, keys, raw["active"], path, token)  # with a token, the next rotation moves into it
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"cannot read the audit key file {path}: {exc}") from exc

    def save(self) -> None:
        """Write the file atomically with owner-only permissions."""
        if self.path is None:
            return
        payload: dict[str, Any] = {"active": self.active, "keys": {}}
        if any(isinstance(key, TokenEd25519Key) for key in self._keys.values()):
            # In the token: the file names the keys and keeps their public halves (private ones never leave).
            payload["in_token"] = True
            payload["keys"] = {
                kid: base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
                for kid, key in self._keys.items()
            }
        else:
            payload["keys"] = {
                kid: base64.b64encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())).decode()
                for kid, key in self._keys.items()
                if isinstance(key, Ed25519PrivateKey)
            }
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle)
        os.replace(tmp, self.path)

    def rotate(self) -> str:
        """Add a fresh key and sign with it from now on; returns its id."""
        kid = _new_kid()
        self._keys[kid] = _new_key(kid, self.token)
        self.active = kid
        self.save()
        return kid

    def sign(self, text: str) -> Note:
        return sign(text, self.name, self._keys[self.active])

    @property
    def verifier(self) -> Verifier:
        """The active key as a verifier: what an auditor or witness is given to check checkpoints."""
        return verifier_of(self.name, self._keys[self.active])

    @property
    def verifiers(self) -> list[Verifier]:
        """Every key in the file, active first: checkpoints signed before a rotation still verify."""
        order = [self.active] + sorted(kid for kid in self._keys if kid != self.active)
        return [verifier_of(self.name, self._keys[kid]) for kid in order]


def _new_key(kid: str, token: Token | None) -> Ed25519PrivateKey | TokenEd25519Key:
    if token is None:
        return Ed25519PrivateKey.generate()
    return TokenEd25519Key(token, kid, token.create_signing_key(kid, "EdDSA"))


def _new_kid() -> str:
    return datetime.now(UTC).strftime("a%Y%m%d") + "-" + secrets.token_hex(3)
