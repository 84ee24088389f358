"""The first admin API key of a fresh database, written to a file only its owner can read."""

from __future__ import annotations

import os

from sqlalchemy import select

from civid.audit import SYSTEM
from civid.auth import create_api_key
from models import ApiKey
from server.services import Services


def ensure_bootstrap_admin(services: Services) -> str | None:
    """On a fresh database create one admin API key and write it to a 0600 file; return that path."""
    with services.sessions.begin() as session:
        if session.scalars(select(ApiKey.id).limit(1)).first() is not None:
            return None
        _, secret = create_api_key(session, "bootstrap admin", "admin", SYSTEM)
    path = services.settings.resolved_admin_key_file
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return str(path)
