"""CSRF protection of civid's own forms (citizen pages and the officer console alike).

A *browser* cookie (a random id, HttpOnly and SameSite=Lax, Secure with the ``__Host-`` prefix when the issuer
is https) is set on the first page; every form and fetch carries a token bound to it (HMAC under the server's
cookie key: ``CoreServices.idp_secrets``, a ``civid.deps.MacKey``), which an attacker's page cannot compute.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response

from civid.deps import get_services
from civid.errors import Forbidden


class CsrfRejected(Forbidden):
    """A state-changing request without this browser's CSRF token."""

    code = "csrf"
    message_catalogue = "error"


def cookie_name(request: Request, name: str) -> str:
    """``name`` with the ``__Host-`` prefix when cookies are Secure (bound to this host, path ``/``)."""
    return ("__Host-" if request.app.state.services.settings.resolved_cookie_secure else "") + name


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    """Set one of civid's own cookies: HttpOnly, SameSite=Lax, path ``/``, Secure when the issuer is https."""
    secure = request.app.state.services.settings.resolved_cookie_secure
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax", secure=secure)


def _browser_id(request: Request, response: Response | None) -> str | None:
    name = cookie_name(request, "civid_browser")
    value: str | None = request.cookies.get(name) or getattr(request.state, "browser_id", None)
    if value is None and response is not None:
        value = secrets.token_urlsafe(32)
        request.state.browser_id = value
        set_cookie(request, response, name, value, max_age=None)
    return value


def csrf_token(request: Request, response: Response) -> str:
    """The CSRF token for this browser (sets the browser cookie on ``response`` if it has none)."""
    browser = _browser_id(request, response)
    return get_services(request).idp_secrets.mac("csrf", browser or "")


def check_csrf(request: Request, presented: str | None) -> None:
    """Refuse a state-changing request whose token does not match this browser (form field or header)."""
    presented = presented or request.headers.get("x-csrf-token")
    browser = _browser_id(request, None)
    expected = get_services(request).idp_secrets.mac("csrf", browser) if browser else None
    if not presented or expected is None or not hmac.compare_digest(presented, expected):
        raise CsrfRejected("the form's security token is missing or does not match; reload the page and try again")
