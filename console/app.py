"""Mounts the console on civid's FastAPI application: its routers, templates and static assets."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from console import admin_pages, audit_pages, batch, cases, enrol, home, i18n_messages, signin
from console.session import SignInRequired, sign_in_redirect
from idp import pages

FOLDER = Path(__file__).parent
ROUTERS = (signin, home, enrol, batch, cases, audit_pages, admin_pages)


def install(app: FastAPI) -> None:
    """Add the console's pages (under /console) and assets (under /static/console)."""
    pages.add_template_folder(FOLDER / "templates")
    i18n_messages.register_all()
    for module in ROUTERS:
        app.include_router(module.router)
    app.mount("/static/console", StaticFiles(directory=FOLDER / "static"), name="console-static")
    app.add_exception_handler(SignInRequired, sign_in_redirect)  # type: ignore[arg-type]
