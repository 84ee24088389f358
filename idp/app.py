"""Mounts the OpenID provider on civid's FastAPI application: one router per endpoint module, and the login
methods of ``idp.acr.BUILT_IN`` (each brings its own router)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from civid import problems
from civid.deps import CoreServices
from civid.web import i18n, pages
from idp import (
    account,
    account_children,
    account_history,
    account_locks,
    account_vids,
    acr,
    admin_routes,
    authorize,
    claims_extensions,
    consent_page,
    discovery,
    grant_extensions,
    introspection,
    jwks,
    login,
    login_methods,
    logout,
    my_data,
    par,
    registration,
    release_batch,
    resident_data,
    revocation,
    token,
    uin_recovery_page,
    userinfo,
)
from idp.error_response import oauth_error
from idp.errors import OAuthError
from idp.login_methods import LoginMethods
from idp.resident_records import EnrolmentRecords
from idp.resident_sources import Authentication

STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"
HOUSEKEEPING_EVERY_S = 3600
log = logging.getLogger("civid.idp")
# Matched in this order, router by router (FastAPI tries each in turn): the token endpoint and UserInfo, which
# relying parties call hundreds of times a second, first — matching /userinfo behind every other route cost about
# a millisecond per answer. No two routes here or elsewhere overlap, so the order decides nothing else.
ROUTERS = (
    token,
    userinfo,
    discovery,
    jwks,
    authorize,
    par,
    login,
    consent_page,
    account,
    account_history,  # the resident's authentication history and data download (idp.my_data)
    my_data,
    account_children,  # a guardian acting for their children until they come of age
    account_locks,
    account_vids,
    logout,
    uin_recovery_page,  # a lost UIN sent to the record's contacts after a face and date-of-birth check
    introspection,
    revocation,
    registration,
    admin_routes,
)


def install(app: FastAPI, methods: LoginMethods = acr.BUILT_IN) -> None:
    """Add every IdP route, the login ``methods``, the templates of its pages and their static assets (served by
    civid itself: no CDN), and the app's empty registry of claims extensions (``idp.claims_extensions``), for
    packages installed after idp. More login methods may be registered afterwards (``idp.login_methods.register``)."""
    pages.add_template_folder(TEMPLATES)
    i18n.catalogues()  # read the .po files now: a broken catalogue stops start-up, not a citizen's page
    claims_extensions.install(app)
    grant_extensions.install(app)
    release_batch.install(app)
    resident_data.install(app, (Authentication(), EnrolmentRecords()))
    for module in ROUTERS:
        app.include_router(module.router)
    login_methods.install(app, methods)
    app.mount("/static/idp", StaticFiles(directory=STATIC), name="idp-static")
    app.state.html_error_page = pages.error_page
    problems.register_renderer(app, OAuthError, oauth_error)


async def housekeeping(services: CoreServices, methods: LoginMethods = acr.BUILT_IN) -> None:
    """Prune expired challenges (of every login method in ``methods``), requests, codes and assertion ids every
    hour while the service runs."""
    from idp.housekeeping import prune

    def once() -> dict[str, int]:
        with services.sessions.begin() as db:
            return prune(db, services.settings, methods)

    while True:
        try:
            removed = await asyncio.to_thread(once)
            if any(removed.values()):
                log.info("pruned expired identity-provider records: %s", removed)
        except Exception:  # a failed pass must not stop the service; the next one retries
            log.exception("identity-provider housekeeping failed")
        await asyncio.sleep(HOUSEKEEPING_EVERY_S)
