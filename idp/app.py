"""Mounts the OpenID provider on civid's FastAPI application: one router per endpoint module."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from civid import problems
from idp import pages
from idp.error_response import oauth_error
from idp.errors import OAuthError
from idp import (account, authorize, consent_page, discovery, face_login, jwks, login, logout, par, passkeys,
                 registration, token, userinfo, introspection, revocation, admin_routes)

STATIC = Path(__file__).parent / "static"
HOUSEKEEPING_EVERY_S = 3600
log = logging.getLogger("civid.idp")
ROUTERS = (discovery, jwks, authorize, par, login, face_login, consent_page, passkeys, account, logout, token, userinfo,
           introspection, revocation, registration, admin_routes)


def install(app: FastAPI) -> None:
    """Add every IdP route and the static assets of its pages (served by civid itself: no CDN)."""
    for module in ROUTERS:
        app.include_router(module.router)
    app.mount("/static/idp", StaticFiles(directory=STATIC), name="idp-static")
    app.state.html_error_page = pages.error_page
    problems.register_renderer(app, OAuthError, oauth_error)


async def housekeeping(services) -> None:  # type: ignore[no-untyped-def]
    """Prune expired challenges, requests, codes and assertion ids every hour while the service runs."""
    from idp.housekeeping import prune

    def once() -> dict[str, int]:
        with services.sessions.begin() as db:
            return prune(db, services.settings)

    while True:
        try:
            removed = await asyncio.to_thread(once)
            if any(removed.values()):
                log.info("pruned expired identity-provider records: %s", removed)
        except Exception:  # a failed pass must not stop the service; the next one retries
            log.exception("identity-provider housekeeping failed")
        await asyncio.sleep(HOUSEKEEPING_EVERY_S)
