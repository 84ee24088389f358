"""Mounts the console on civid's FastAPI application: its routers, templates and static assets."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from civid.web import pages
from console.admin import pages as admin_pages
from console.audit import pages as audit_pages
from console.batch import pages as batch
from console.cases import pages as cases
from console.common import error_pages, plurals
from console.enrol import id_card
from console.enrol import pages as enrol
from console.find import pages as find
from console.home import front_page
from console.home import pages as home
from console.passkeys import codes as passkey_codes
from console.records import pages as records
from console.signin import pages as signin
from console.signin.session import SignInRequired, sign_in_redirect

FOLDER = Path(__file__).parent
ROUTERS = (signin, home, enrol, id_card, find, batch, passkey_codes, cases, records, audit_pages, admin_pages)


def install(app: FastAPI) -> None:
    """Add the console's pages (under /console) and assets (under /static/console)."""
    pages.add_template_folder(FOLDER / "templates")
    plurals.install()
    for module in ROUTERS:
        app.include_router(module.router)
    app.include_router(front_page.router)  # "/": the one page outside /console, pointing into it
    app.mount("/static/console", StaticFiles(directory=FOLDER / "static"), name="console-static")
    # Starlette types a handler as taking any Exception; this one takes the SignInRequired it is registered for.
    app.add_exception_handler(SignInRequired, sign_in_redirect)  # type: ignore[arg-type]
    # Console pages get the console's error pages (installed after the provider's citizen pages, which it wraps).
    app.state.html_error_page = error_pages.wrapping(getattr(app.state, "html_error_page", None))
    app.state.html_http_error_page = error_pages.http_error_page
