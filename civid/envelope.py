"""Envelope encryption for the template key ring: AES-256-GCM data keys, as in ``civid.keyring``, stored only
wrapped by a master key that lives in a PKCS#11 token (``civid.pkcs11_token``).

The ring file (mode 0600) holds ``{"master": label, "active": kid, "keys": {kid: b64 wrapped}}``. At start every
data key is unwrapped once into memory, so sealing and opening a template never reach the HSM; whoever copies the
data folder without the token holds only wrapped keys. Re-wrapping under a new master key (``civid keys
rotate-master``) rewrites the file and touches no template: only the data keys move.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from civid.errors import ConfigurationError
from civid.keyring import KeyRing, _new_kid
from civid.pkcs11_token import Token, new_label

MASTER_PREFIX = "civid-master"


def is_wrapped(path: Path) -> bool:
    """Whether the ring file at ``path`` is one this module wrote (it names its master key)."""
    try:
        return path.exists() and "master" in json.loads(path.read_text())
    except (OSError, ValueError):
        return False


class WrappedKeyRing(KeyRing):
    """A key ring whose file holds each data key wrapped by the token's master key ``master``."""

    def __init__(
        self, keys: dict[str, bytes], active: str, token: Token, master: str, path: Path | None = None
    ) -> None:
        super().__init__(keys, active, path)
        self.token = token
        self.master = master
        self._wrapped: dict[str, bytes] = {}  # kid -> blob under ``master``: saving does not re-ask the token

    @classmethod
    def load(cls, path: Path, token: Token) -> WrappedKeyRing:
        """Unwrap every data key in ``path``; a missing master key or a foreign token is a ConfigurationError."""
        try:
            raw = json.loads(path.read_text())
            master = raw["master"]
            wrapped = {kid: base64.b64decode(blob) for kid, blob in raw["keys"].items()}
            active = raw["active"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"cannot read the wrapped template key ring {path}: {exc}") from exc
        keys = {kid: token.unwrap(master, blob) for kid, blob in wrapped.items()}
        ring = cls(keys, active, token, master, path)
        ring._wrapped = wrapped
        return ring

    @classmethod
    def create(cls, path: Path, token: Token, imported: KeyRing | None = None) -> WrappedKeyRing:
        """The create ceremony: a fresh master key in the token wrapping the keys of ``imported`` (the file key
        ring this deployment used so far, so existing data keeps opening) or one fresh data key."""
        master = new_label(MASTER_PREFIX)
        token.create_master_key(master)
        if imported is not None:
            keys, active = {kid: imported._keys[kid] for kid in imported.key_ids}, imported.active
        else:
            active = _new_kid()
            keys = {active: AESGCM.generate_key(bit_length=256)}
        path.parent.mkdir(parents=True, exist_ok=True)
        ring = cls(keys, active, token, master, path)
        if imported is not None:
            ring.save()
            return ring
        try:
            ring.save(exclusive=True)
        except FileExistsError:
            # Another process of this deployment made the ring first (workers starting together): use its ring,
            # or the two would seal under keys only one of them wrote down.
            token.destroy(master)
            return cls.load(path, token)
        return ring

    def save(self, exclusive: bool = False) -> None:
        """Write the wrapped keys atomically (owner-only); only keys not yet wrapped reach the token.
        ``exclusive``: only if no ring file exists yet (FileExistsError otherwise)."""
        if self.path is None:
            return
        for kid, key in self._keys.items():
            if kid not in self._wrapped:
                self._wrapped[kid] = self.token.wrap(self.master, key)
        for kid in set(self._wrapped) - set(self._keys):
            del self._wrapped[kid]
        payload = {
            "master": self.master,
            "active": self.active,
            "keys": {kid: base64.b64encode(blob).decode() for kid, blob in sorted(self._wrapped.items())},
        }
        tmp = self.path.with_name(f"{self.path.name}.{secrets.token_hex(6)}.tmp")  # one per writer
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle)
        if exclusive:
            try:
                os.link(tmp, self.path)  # atomic, and fails when the file exists
            finally:
                tmp.unlink()
        else:
            os.replace(tmp, self.path)

    def rewrap(self, new_master: str | None = None) -> tuple[str, str]:
        """Wrap every data key under a new master key (made now unless given) and save; no template is
        decrypted. Returns (old master, new master); the old one stays in the token until retired."""
        old = self.master
        master = new_master or new_label(MASTER_PREFIX)
        if new_master is None:
            self.token.create_master_key(master)
        self.master = master
        self._wrapped = {}
        self.save()
        return old, master


def load_keyring(path: Path, token: Token | None) -> KeyRing:
    """The ring for this deployment: wrapped when a token is configured, else the file key ring (the default).
    A wrapped ring without a token, or a plain one with a token, is refused in words saying what to do."""
    if token is None:
        if is_wrapped(path):
            raise ConfigurationError(
                f"the template key ring {path} is wrapped by an HSM master key: set CIVID_KEYS_BACKEND=pkcs11 and "
                "the token's module, label and PIN; without the token nothing in this data folder decrypts"
            )
        return KeyRing.load_or_create(path)
    if not path.exists():
        return WrappedKeyRing.create(path, token)
    if not is_wrapped(path):
        raise ConfigurationError(
            f"the template key ring {path} is a plain key file: run `civid keys hsm-create` to wrap it into the token"
        )
    return WrappedKeyRing.load(path, token)
