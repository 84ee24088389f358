"""Encryption of biometric data at rest: AES-256-GCM under a key ring with rotating key ids.

The key ring is a JSON file (mode 0600) created on first run: ``{"active": kid, "keys": {kid: b64}}``.
Each ciphertext is stored with its key id, so after ``rotate()`` new data uses the new key and old data
stays readable; ``civid keys reencrypt-templates`` can then move old rows to the active key. The
associated data binds a ciphertext to its row, so ciphertexts cannot be swapped between people.

With an HSM (civid/pkcs11_token.py) the ring is an envelope: the file holds each data key only wrapped by a master
key inside the token, ``{"active": kid, "wrapped_by": label, "keys": {kid: b64(nonce ‖ wrapped)}}``, and the keys
are unwrapped once at load — a copy of the file without the token opens nothing, and the token is not asked per
template. ``rewrap`` moves the ring under another master key without touching a single template.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from civid.errors import ConfigurationError


@dataclass(frozen=True)
class Sealed:
    """An encrypted blob: which key, the 96-bit nonce, and ciphertext+tag."""

    key_id: str
    nonce: bytes
    ciphertext: bytes


class MasterKeys(Protocol):
    """Where wrapped data keys are opened: a PKCS#11 token (civid.pkcs11_token.Token)."""

    def ensure_master_key(self, label: str) -> None: ...
    def wrap(self, label: str, data: bytes, aad: bytes) -> bytes: ...
    def unwrap(self, label: str, blob: bytes, aad: bytes) -> bytes: ...


def _wrap_aad(kid: str) -> bytes:
    return b"civid/template-key/v1/" + kid.encode()


class KeyRing:
    """AES-GCM keys by id, one of them active for new encryptions."""

    def __init__(
        self,
        keys: dict[str, bytes],
        active: str,
        path: Path | None = None,
        master: MasterKeys | None = None,
        wrapped_by: str | None = None,
    ) -> None:
        if active not in keys:
            raise ConfigurationError(f"active template key {active!r} is not in the key ring")
        self._keys = dict(keys)
        self._ciphers: dict[str, AESGCM] = {}
        self.active = active
        self.path = path
        self.master = master
        self.wrapped_by = wrapped_by  # the token's master key label, or None: a plain file ring

    @classmethod
    def load_or_create(cls, path: Path, master: MasterKeys | None = None, master_label: str | None = None) -> KeyRing:
        """Read the key ring at ``path``; create it with one fresh key on first run (wrapped by the token's
        ``master_label`` key when ``master`` is given)."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            kid = _new_kid()
            label = master_label if master is not None else None
            if master is not None and label is not None:
                master.ensure_master_key(label)
            ring = cls({kid: AESGCM.generate_key(bit_length=256)}, kid, path, master, label)
            ring.save()
            return ring
        try:
            raw = json.loads(path.read_text())
            stored = {kid: base64.b64decode(value) for kid, value in raw["keys"].items()}
            wrapped_by = raw.get("wrapped_by")
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigurationError(f"cannot read the template key ring {path}: {exc}") from exc
        if wrapped_by is not None and master is None:
            raise ConfigurationError(
                f"the template key ring {path} is wrapped by the HSM master key {wrapped_by!r}: set "
                "CIVID_PKCS11_MODULE, CIVID_PKCS11_TOKEN_LABEL and the PIN; without the token it opens nothing"
            )
        if wrapped_by is None and master is not None:
            raise ConfigurationError(
                f"the template key ring {path} holds its keys in the clear while a PKCS#11 token is configured: "
                "put it under the token with 'civid keys rewrap'"
            )
        keys = (
            {kid: master.unwrap(wrapped_by, blob, _wrap_aad(kid)) for kid, blob in stored.items()}
            if (master is not None and wrapped_by is not None)
            else stored
        )
        if any(len(key) != 32 for key in keys.values()):
            raise ConfigurationError(f"template key ring {path}: every key must be 256 bits")
        return cls(keys, raw["active"], path, master, wrapped_by)

    def rewrap(self, master: MasterKeys, label: str) -> None:
        """Store every data key wrapped by the token's ``label`` key instead (a plain ring goes under the token);
        no template is decrypted or re-sealed: only the data keys' envelopes change."""
        master.ensure_master_key(label)
        self.master, self.wrapped_by = master, label
        self.save()

    def _stored(self, kid: str, key: bytes) -> str:
        if self.wrapped_by is None or self.master is None:
            return base64.b64encode(key).decode()
        return base64.b64encode(self.master.wrap(self.wrapped_by, key, _wrap_aad(kid))).decode()

    def save(self) -> None:
        """Write the ring atomically with owner-only permissions."""
        if self.path is None:
            return
        tmp = self.path.with_suffix(".tmp")
        payload: dict[str, object] = {
            "active": self.active,
            "keys": {k: self._stored(k, v) for k, v in self._keys.items()},
        }
        if self.wrapped_by is not None:
            payload["wrapped_by"] = self.wrapped_by
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
