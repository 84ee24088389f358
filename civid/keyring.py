"""Encryption of biometric data at rest: AES-256-GCM under a key ring with rotating key ids.

The key ring is a JSON file (mode 0600) created on first run: ``{"active": kid, "keys": {kid: b64}}``.
Each ciphertext is stored with its key id, so after ``rotate()`` new data uses the new key and old data
stays readable; ``civid keys reencrypt-templates`` can then move old rows to the active key. The
associated data binds a ciphertext to its row, so ciphertexts cannot be swapped between people.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from civid.errors import ConfigurationError


@dataclass(frozen=True)
class Sealed:
    """An encrypted blob: which key, the 96-bit nonce, and ciphertext+tag."""

    key_id: str
    nonce: bytes
    ciphertext: bytes


class KeyRing:
    """AES-GCM keys by id, one of them active for new encryptions."""

    def __init__(self, keys: dict[str, bytes], active: str, path: Path | None = None) -> None:
        if active not in keys:
            raise ConfigurationError(f"active template key {active!r} is not in the key ring")
        self._keys = dict(keys)
        self._ciphers: dict[str, AESGCM] = {}
        self.active = active
        self.path = path

    @classmethod
    def load_or_create(cls, path: Path) -> KeyRing:
        """Read the key ring at ``path``; create it with one fresh key on first run."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            kid = _new_kid()
            ring = cls({kid: AESGCM.generate_key(bit_length=256)}, active=kid, path=path)
            ring.save()
            return ring
        try:
            raw = json.loads(path.read_text())
            keys = {kid: base64.b64decode(value) for kid, value in raw["keys"].items()}
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigurationError(f"cannot read the template key ring {path}: {exc}") from exc
        if any(len(key) != 32 for key in keys.values()):
            raise ConfigurationError(f"template key ring {path}: every key must be 256 bits")
        return cls(keys, raw["active"], path)

    def save(self) -> None:
        """Write the ring atomically with owner-only permissions."""
        if self.path is None:
            return
        tmp = self.path.with_suffix(".tmp")
        payload = {"active": self.active, "keys": {k: base64.b64encode(v).decode() for k, v in self._keys.items()}}
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle)
        os.replace(tmp, self.path)

    def rotate(self) -> str:
        """Add a fresh key and make it active; old keys stay for decryption. Returns the new key id."""
        kid = _new_kid()
        self._keys[kid] = AESGCM.generate_key(bit_length=256)
        self.active = kid
        self.save()
        return kid

    def retire(self, kid: str) -> None:
        """Remove a key that no stored data uses any more (the caller checks that); never the active one."""
        if kid == self.active:
            raise ConfigurationError("the active key cannot be retired; rotate first")
        if kid not in self._keys:
            raise ConfigurationError(f"no key {kid!r} in the ring")
        del self._keys[kid]
        self._ciphers.pop(kid, None)
        self.save()

    def _cipher(self, kid: str) -> AESGCM:
        cipher = self._ciphers.get(kid)
        if cipher is None:
            cipher = self._ciphers[kid] = AESGCM(self._keys[kid])
        return cipher

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def seal(self, plaintext: bytes, associated_data: bytes) -> Sealed:
        """Encrypt under the active key with a random 96-bit nonce."""
        nonce = secrets.token_bytes(12)
        ciphertext = self._cipher(self.active).encrypt(nonce, plaintext, associated_data)
        return Sealed(self.active, nonce, ciphertext)

    def open(self, sealed: Sealed, associated_data: bytes) -> bytes:
        """Decrypt and authenticate; a wrong key, row or tampered byte raises ConfigurationError."""
        if sealed.key_id not in self._keys:
            raise ConfigurationError(f"template key {sealed.key_id!r} is not in the key ring")
        try:
            return self._cipher(sealed.key_id).decrypt(sealed.nonce, sealed.ciphertext, associated_data)
        except InvalidTag as exc:
            raise ConfigurationError("a stored template failed authentication (tampered or wrong key)") from exc


def _new_kid() -> str:
    return datetime.now(UTC).strftime("k%Y%m%d") + "-" + secrets.token_hex(3)
