"""Server-rendered pages (Jinja2) of the citizen pages and the console: rendering, language, security headers,
the error page. Each page package adds its own template folder (``add_template_folder``); templates say their
words with ``jinja2.ext.i18n``'s ``_('key', name=value)`` and ``ngettext('key', 'key', n)`` in the request's
language (``civid.web.i18n``).

Every page is served with a strict Content-Security-Policy (scripts and styles only from civid itself, no
inline script, no framing), no caching, and no referrer, so nothing on a login page can leak or be embedded.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from civid import audit
from civid.errors import CividError
from civid.web import csrf, i18n

_loader = FileSystemLoader([])
# The i18n extension gives templates ``_``, which calls the ``gettext`` of the render context: the request's
# language, filling ``{name}`` placeholders as the Python code does (``i18n.template_callables``).
_env = Environment(
    loader=_loader,
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)


def add_template_folder(folder: Path) -> None:
    """Let a package's pages (the citizen pages, the officer console) render with the same layout, language and
    headers."""
    if str(folder) not in _loader.searchpath:
        _loader.searchpath.append(str(folder))


def add_template_global(name: str, value: Any) -> None:
    """Offer ``value`` to every template as ``name`` (the console's ``num``)."""
    _env.globals[name] = value


SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; form-action 'self' http: https:; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}


def language(request: Request, ui_locales: list[str] | None = None) -> str:
    """The page language: an explicit ``lang`` choice, the client's ``ui_locales``, then the browser's."""
    explicit = request.query_params.get("lang") or request.cookies.get("civid_lang")
    preferences = ([explicit] if explicit else []) + list(ui_locales or [])
    preferences += i18n.from_accept_language(request.headers.get("accept-language"))
    return i18n.choose(preferences)


def when(moment: datetime | None) -> str | None:
    """A stored time as people read it on civid's pages (UTC, and saying so); None for no time."""
    return audit.as_utc(moment).strftime("%Y-%m-%d %H:%M UTC") if moment else None


def _origin(url: str) -> str:
    """scheme://host[:port] of ``url``: where passkeys work (the page's origin must be the issuer's)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _language_links() -> list[tuple[str, str]]:
    """Every language with its own name (``lang.name`` in that language), for the language switcher."""
    return [(code, i18n.translate("lang.name", code)) for code in i18n.languages()]


def html_page(request: Request) -> None:
    """Mark this request as a browser page: errors render as HTML, not JSON (a FastAPI dependency)."""
    request.state.html_errors = True


def render(
    request: Request, template: str, status: int = 200, *, ui_locales: list[str] | None = None, **context: Any
) -> HTMLResponse:
    """Render ``template`` in the request's language with a CSRF token and the security headers."""
    lang = language(request, ui_locales)
    services = request.app.state.services
    response = HTMLResponse("", status_code=status, headers=SECURITY_HEADERS)
    token = csrf.csrf_token(request, response)
    body = _env.get_template(template).render(
        request=request,
        lang=lang,
        **i18n.template_callables(lang),
        languages=_language_links(),
        csrf_token=token,
        issuer=services.settings.resolved_issuer,
        issuer_origin=_origin(services.settings.resolved_issuer),
        **context,
    )
    response.body = response.render(body)
    response.headers["content-length"] = str(len(response.body))
    if request.query_params.get("lang") in i18n.languages():
        response.set_cookie(
            "civid_lang",
            request.query_params["lang"],
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=services.settings.resolved_cookie_secure,
        )
    return response


def error_page(request: Request, exc: CividError) -> HTMLResponse:
    """The page a citizen sees when something cannot go back to a portal (bad client, bad redirect URI...); an
    error whose class names its sentences in the error catalogue (``message_catalogue = "error"``: ``error.<code>``)
    says it in the citizen's language."""
    code = getattr(exc, "error", None) or exc.type_slug
    key = exc.message_key("error")
    message_key = key if key and i18n.has(key) else None
    headers = {}
    retry_after = exc.extra.get("retry_after") if exc.extra else None
    response = render(
        request,
        "error.html",
        status=exc.status,
        code=code,
        detail=exc.detail,
        message_key=message_key,
        message_values=exc.params,
        retry_after=retry_after,
    )
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    response.headers.update(headers)
    return response
