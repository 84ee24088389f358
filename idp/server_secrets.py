"""The OP's own secrets: the salt of pairwise subject identifiers and the key of cookies and CSRF tokens.

Kept in a JSON file (mode 0600) beside the template key ring, created on first run. Losing the pairwise
salt would change every citizen's subject at every portal, so it is backed up with the key ring.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from civid.errors import ConfigurationError


@dataclass(frozen=True)
class ServerSecrets:
    pairwise_salt: bytes
    cookie_key: bytes

    @classmethod
    def load_or_create(cls, path: Path) -> ServerSecrets:
        """Read the secrets file; create it with fresh 256-bit values on first run."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            created = cls(secrets.token_bytes(32), secrets.token_bytes(32))
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(
                    {
                        "pairwise_salt": base64.b64encode(created.pairwise_salt).decode(),
                        "cookie_key": base64.b64encode(created.cookie_key).decode(),
                    },
                    handle,
                )
            return created
        try:
            raw = json.loads(path.read_text())
            return cls(base64.b64decode(raw["pairwise_salt"]), base64.b64decode(raw["cookie_key"]))
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigurationError(f"cannot read the identity provider's secrets {path}: {exc}") from exc

    def mac(self, purpose: str, value: str) -> str:
        """A URL-safe HMAC-SHA256 of ``value`` for one purpose (CSRF tokens, signed cookie values)."""
        digest = hmac.new(self.cookie_key, f"{purpose}|{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sha256_hex(value: str) -> str:
    """How codes, refresh tokens, session ids and client secrets are stored (256-bit random values)."""
    return hashlib.sha256(value.encode()).hexdigest()
