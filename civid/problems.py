"""The one place where errors become ``application/problem+json`` (RFC 9457) responses."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from civid.errors import CividError

if TYPE_CHECKING:
    from idp.errors import OAuthError

log = logging.getLogger(__name__)
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
PROBLEM = "application/problem+json"
# Errors about the bearer token rather than the client's credentials (RFC 6750 §3.1, RFC 9470 §3).
BEARER_ERRORS = ("invalid_token", "insufficient_scope", "insufficient_user_authentication")


def problem(status: int, title: str, detail: str, type_uri: str = "about:blank", instance: str | None = None,
            headers: Mapping[str, str] | None = None, **extra: object) -> JSONResponse:
    """An RFC 9457 problem response; ``headers`` are the ones the error itself calls for (Allow, Retry-After…)."""
    body = {"type": type_uri, "title": title, "status": status, "detail": detail, **extra}
    if instance:
        body["instance"] = instance
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=dict(headers or {}))


def oauth_error(request: Request, exc: "OAuthError") -> Response:
    """An OAuth/OIDC error: an HTML page on the citizen's browser pages, else RFC 6749 §5.2 JSON
    (``error``, ``error_description``) with the problem+json fields beside them."""
    extra = dict(exc.extra)
    bare = extra.pop("bare_challenge", False)
    body = {"error": exc.error, "error_description": exc.description, "type": exc.type_uri, "title": exc.error,
            "status": exc.status, "detail": exc.description, **extra}
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    # RFC 6750 §3: a bearer token that does not enable access (insufficient_scope, 403) gets a challenge too.
    if exc.status == 401 or exc.error == "insufficient_scope":
        scheme = "Bearer" if exc.error in BEARER_ERRORS else "Basic"
        challenge = f'{scheme} realm="civid"' + ("" if bare else f', error="{exc.error}"')
        # RFC 9470 §3: a step-up challenge names the authentication that would satisfy it.
        if extra.get("acr_values"):
            challenge += f', acr_values="{extra["acr_values"]}"'
        if extra.get("max_age") is not None:
            challenge += f', max_age={int(extra["max_age"])}'
        headers["WWW-Authenticate"] = challenge
    return JSONResponse(body, status_code=exc.status, headers=headers)


def allowed_methods(request: Request) -> str:
    """Every method some route accepts at the request's path, for the Allow header of a 405.

    RFC 9110 §15.5.6: Allow lists the methods the resource supports. Starlette names only those of the first
    route matching the path, so a path served by a GET route and a POST route would be answered "Allow: POST".
    """
    methods = [method for method in _METHODS
               if any(route.matches({**request.scope, "method": method})[0] == Match.FULL
                      for route in request.app.router.routes)]
    return ", ".join(methods)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(CividError)
    async def _civid(request: Request, exc: CividError) -> Response:
        from idp.errors import OAuthError  # idp builds on civid; imported late to keep civid importable alone

        renderer: Callable[[Request, CividError], Response] | None = getattr(request.app.state, "html_error_page", None)
        if renderer is not None and getattr(request.state, "html_errors", False):
            # The citizen's browser pages (login, consent, account): an HTML page, never JSON.
            return renderer(request, exc)
        if isinstance(exc, OAuthError):
            return oauth_error(request, exc)
        if exc.status >= 500:
            log.error("%s: %s", type(exc).__name__, exc.detail)
        response = problem(exc.status, exc.title, exc.detail, exc.type_uri, request.url.path, **exc.extra)
        if "retry_after" in exc.extra:  # RFC 9110 §10.2.3, for 429 and 503
            response.headers["Retry-After"] = str(exc.extra["retry_after"])
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"location": [str(p) for p in e.get("loc", ())], "message": e.get("msg", ""), "type": e.get("type")}
                  for e in exc.errors()]
        detail = "; ".join(f"{'.'.join(e['location'][1:]) or e['location'][0]}: {e['message']}" for e in errors)
        return problem(422, "Invalid input", detail, "https://civid.dev/problems/invalid-input",
                       request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        # Keep the exception's headers: a 401 carries its challenge (RFC 9110 §11.6.1), a 405 the allowed methods.
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        page: Callable[[Request, StarletteHTTPException], Response | None] | None = getattr(
            request.app.state, "html_http_error_page", None)
        if page is not None and (html := page(request, exc)) is not None:
            html.headers.update(headers)
            return html  # an unknown address among the console's pages: a page, not JSON
        return problem(exc.status_code, str(exc.detail), str(exc.detail), instance=request.url.path,
                       headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Never echo internals (they may include personal data); the log has the traceback.
        log.exception("unhandled error on %s", request.url.path)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged",
                       instance=request.url.path)
