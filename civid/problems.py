"""The one place where errors become ``application/problem+json`` (RFC 9457) responses."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from civid.errors import CividError

log = logging.getLogger(__name__)
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
PROBLEM = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str,
    type_uri: str = "about:blank",
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: object,
) -> JSONResponse:
    """An RFC 9457 problem response; ``headers`` are the ones the error itself calls for (Allow, Retry-After…)."""
    body = {"type": type_uri, "title": title, "status": status, "detail": detail, **extra}
    if instance:
        body["instance"] = instance
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=dict(headers or {}))


ErrorRenderer = Callable[[Request, Any], Response]
"""Turns one kind of civid error into a response of its own shape (an OAuth error's RFC 6749 JSON)."""


def register_renderer(app: FastAPI, error_type: type[CividError], renderer: ErrorRenderer) -> None:
    """Render ``error_type`` (and its subclasses) with ``renderer`` instead of as a problem.

    The package defining a family of errors registers their shape (idp its OAuth errors), so this module
    knows none of them.
    """
    _renderers(app)[error_type] = renderer


def _renderers(app: FastAPI) -> dict[type[CividError], ErrorRenderer]:
    if not hasattr(app.state, "problem_renderers"):
        app.state.problem_renderers = {}
    renderers: dict[type[CividError], ErrorRenderer] = app.state.problem_renderers
    return renderers


def _renderer_for(app: FastAPI, exc: CividError) -> ErrorRenderer | None:
    """The renderer registered for the nearest class of ``exc`` that has one."""
    renderers = _renderers(app)
    return next((renderers[cls] for cls in type(exc).__mro__ if cls in renderers), None)


def allowed_methods(request: Request) -> str:
    """Every method some route accepts at the request's path, for the Allow header of a 405.

    RFC 9110 §15.5.6: Allow lists the methods the resource supports. Starlette names only those of the first
    route matching the path, so a path served by a GET route and a POST route would be answered "Allow: POST".
    """
    methods = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in request.app.router.routes
        )
    ]
    return ", ".join(methods)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(CividError)
    async def _civid(request: Request, exc: CividError) -> Response:
        renderer: Callable[[Request, CividError], Response] | None = getattr(request.app.state, "html_error_page", None)
        if renderer is not None and getattr(request.state, "html_errors", False):
            # The citizen's browser pages (login, consent, account): an HTML page, never JSON.
            return renderer(request, exc)
        if (own := _renderer_for(request.app, exc)) is not None:
            return own(request, exc)
        if exc.status >= 500:
            log.error("%s: %s", type(exc).__name__, exc.detail)
        response = problem(exc.status, exc.title, exc.detail, exc.type_uri, request.url.path, **exc.extra)
        if "retry_after" in exc.extra:  # RFC 9110 §10.2.3, for 429 and 503
            response.headers["Retry-After"] = str(exc.extra["retry_after"])
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": [str(p) for p in e.get("loc", ())], "message": e.get("msg", ""), "type": e.get("type")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(e['location'][1:]) or e['location'][0]}: {e['message']}" for e in errors)
        return problem(
            422, "Invalid input", detail, "https://civid.dev/problems/invalid-input", request.url.path, errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        # Keep the exception's headers: a 401 carries its challenge (RFC 9110 §11.6.1), a 405 the allowed methods.
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        page: Callable[[Request, StarletteHTTPException], Response | None] | None = getattr(
            request.app.state, "html_http_error_page", None
        )
        if page is not None and (html := page(request, exc)) is not None:
            html.headers.update(headers)
            return html  # an unknown address among the console's pages: a page, not JSON
        return problem(exc.status_code, str(exc.detail), str(exc.detail), instance=request.url.path, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Never echo internals (they may include personal data); the log has the traceback.
        log.exception("unhandled error on %s", request.url.path)
        return problem(
            500, "Internal error", "an unexpected error occurred; it has been logged", instance=request.url.path
        )
