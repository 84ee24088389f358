"""Mounts the KYC endpoints on civid's FastAPI application: attestations, their status, the status list."""

from __future__ import annotations

from fastapi import FastAPI

from kyc import attestations, status, status_list

ROUTERS = (attestations, status, status_list)


def install(app: FastAPI) -> None:
    """Add every KYC route."""
    for module in ROUTERS:
        app.include_router(module.router)
