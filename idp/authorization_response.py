"""The authorization response: back to the client's redirect URI with a code or an error.

RFC 6749 §4.1.2 (code, state) and §4.1.2.1 (error, error_description, state), in the query component
(``response_mode=query``, the only mode civid offers), with ``iss`` (RFC 9207 §2) on every response so a
client talking to several providers can tell which one answered (mix-up attacks).
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi.responses import RedirectResponse

from idp.errors import OAuthError


def with_query(uri: str, params: dict[str, str | None]) -> str:
    """``uri`` with ``params`` appended to its query, keeping the query it already has (RFC 6749 §3.1.2)."""
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query and extra else (parts.query or extra)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def redirect(uri: str) -> RedirectResponse:
    """A 303 redirect (a browser follows it with GET, whatever method brought it here)."""
    return RedirectResponse(uri, status_code=303, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def success(redirect_uri: str, code: str, state: str | None, issuer: str) -> RedirectResponse:
    """RFC 6749 §4.1.2 + RFC 9207 §2: ``code``, ``state`` (if the client sent one), ``iss``."""
    return redirect(with_query(redirect_uri, {"code": code, "state": state, "iss": issuer}))


def error(redirect_uri: str, exc: OAuthError, state: str | None, issuer: str) -> RedirectResponse:
    """RFC 6749 §4.1.2.1 + RFC 9207 §2: the error sent back to a validated redirect URI."""
    return redirect(
        with_query(
            redirect_uri, {"error": exc.error, "error_description": exc.description, "state": state, "iss": issuer}
        )
    )
