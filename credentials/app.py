"""Mounts the credentials package on civid's application: the credential keys and status lists, the card verifier
page, the OpenID4VCI issuer (metadata, offers, nonce and credential endpoints, and the pre-authorized code grant at
idp's token endpoint) and the OpenID4VP verifier (a relying party's requests, the wallet's answers). Installed after
idp (its grant registry must exist). The card's lifecycle API is an officer's: the server mounts it with the other
registration routes."""

from __future__ import annotations

from fastapi import FastAPI

from credentials import (
    credential_endpoint,
    issuer_keys,
    issuer_metadata,
    nonces,
    pre_authorized_code,
    presentations,
    status,
    verifier_page,
    wallet_endpoints,
    wallet_offers,
)
from idp import grant_extensions

ROUTERS = (
    issuer_keys,
    status,
    issuer_metadata,
    wallet_offers,
    nonces,
    credential_endpoint,
    presentations,
    wallet_endpoints,  # the response URI has two segments, so it never meets /v1/presentations/{id}
)


def install(app: FastAPI) -> None:
    """Add the credentials routes and register the pre-authorized code grant with idp's token endpoint."""
    for module in ROUTERS:
        app.include_router(module.router)
    verifier_page.install(app)  # /verify: the card's QR checked in the browser, offline too
    grant_extensions.register(app, pre_authorized_code.GRANT)
