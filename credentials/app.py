"""Mounts the credentials package on civid's application: the credential keys and status lists, and the OpenID4VCI
issuer (metadata, offers, nonce and credential endpoints, and the pre-authorized code grant at idp's token
endpoint). Installed after idp (its grant registry must exist)."""

from __future__ import annotations

from fastapi import FastAPI

from credentials import (
    credential_endpoint,
    issuer_keys,
    issuer_metadata,
    nonces,
    pre_authorized_code,
    status,
    wallet_offers,
)
from idp import grant_extensions

ROUTERS = (issuer_keys, status, issuer_metadata, wallet_offers, nonces, credential_endpoint)


def install(app: FastAPI) -> None:
    """Add the credentials routes and register the pre-authorized code grant with idp's token endpoint."""
    for module in ROUTERS:
        app.include_router(module.router)
    grant_extensions.register(app, pre_authorized_code.GRANT)
