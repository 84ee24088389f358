"""Grant types a package above idp adds to the token endpoint (RFC 6749 §4.5 "Extension Grants"), and the registry
idp consults: credentials/ adds OpenID4VCI's pre-authorized code grant without idp importing it.

An extension names its ``grant_type`` (an absolute URI), says whether a request may come with no client
authentication at all (OpenID4VCI §6.1: a wallet may redeem a pre-authorized code anonymously), handles the
request, and adds its members to the authorization server metadata. The registry is held per application
(``app.state``), as ``idp.claims_extensions`` is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from sqlalchemy.orm import Session

from civid.settings import Settings
from models import Client

if TYPE_CHECKING:
    from idp.runtime import IdpServices

# (database session, services, authenticated client or None when anonymous, the form) -> token response body
GrantHandler = Callable[[Session, "IdpServices", Client | None, Mapping[str, str]], dict[str, Any]]


@dataclass(frozen=True)
class ExtensionGrant:
    """One extension grant: its type, its handler, whether it admits unauthenticated requests, its metadata."""

    grant_type: str
    handler: GrantHandler
    anonymous: bool = False  # True: client authentication is optional (the handler gets None without it)
    metadata: Callable[[Settings], dict[str, Any]] = field(default=lambda settings: {})


def install(app: FastAPI) -> dict[str, ExtensionGrant]:
    """Give ``app`` its (empty) registry of extension grants."""
    registry: dict[str, ExtensionGrant] = {}
    app.state.extension_grants = registry
    return registry


def register(app: FastAPI, grant: ExtensionGrant) -> None:
    """Offer ``grant`` at this application's token endpoint (and in its metadata)."""
    registry: dict[str, ExtensionGrant] | None = getattr(app.state, "extension_grants", None)
    if registry is None:
        raise RuntimeError("install idp (idp.app.install) before registering extension grants")
    if grant.grant_type in registry:
        raise ValueError(f"grant type {grant.grant_type!r} is already registered")
    registry[grant.grant_type] = grant


def of(app: FastAPI) -> Mapping[str, ExtensionGrant]:
    """The application's extension grants (none when idp was installed without any)."""
    registry: dict[str, ExtensionGrant] | None = getattr(app.state, "extension_grants", None)
    return registry if registry is not None else {}


def metadata(grants: Mapping[str, ExtensionGrant], settings: Settings) -> dict[str, Any]:
    """The members the extension grants add to the authorization server metadata."""
    merged: dict[str, Any] = {}
    for grant in grants.values():
        merged.update(grant.metadata(settings))
    return merged
