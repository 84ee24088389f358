"""Mounts the KYC endpoints on civid's FastAPI application (attestations, their status, the status list) and
registers kyc's claims extension with the OpenID provider (``kyc.claims_extension``): idp defines the interface,
kyc plugs into it, so this runs after ``idp.app.install``."""

from __future__ import annotations

from fastapi import FastAPI

from civid.web import pages
from idp import claims_extensions, resident_data
from kyc import attestations, claims_extension, status, status_list
from kyc.resident_data import KycRecords

ROUTERS = (attestations, status, status_list)


def install(app: FastAPI) -> None:
    """Add every KYC route, and ``verified_claims`` to the app's claims extensions (idp must be installed)."""
    for module in ROUTERS:
        app.include_router(module.router)
    pages.add_template_folder(claims_extension.TEMPLATES)  # the account page's section (citizen_data.html)
    claims_extensions.of(app).register(claims_extension.VerifiedClaims())
    resident_data.of(app).register(KycRecords())  # releases, attestations, documents on the resident's pages
