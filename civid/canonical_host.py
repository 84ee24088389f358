"""Browser pages are served at the issuer's host only: a page opened at ``http://127.0.0.1:8000`` while the
issuer is ``http://localhost:8000`` is redirected there.

Why: WebAuthn binds a passkey to the relying-party id (the issuer's host) and checks the page's origin
(WebAuthn Level 2 §7.1 step 9, §5.1.3), and cookies are kept per host, so at any other address passkeys fail
and sign-ins start over. Only browser navigations are redirected (GET or HEAD asking for text/html): a portal's
or bank's back-channel call (/token, /v1/…) answers wherever it arrives, and a POST body is never replayed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from civid.settings import Settings

DEFAULT_PORTS = {"http": 80, "https": 443}


def _netloc(host: str, scheme: str) -> str:
    """``host[:port]`` lower-cased, without the scheme's default port (``localhost:80`` is ``localhost``)."""
    host = host.strip().lower()
    default = DEFAULT_PORTS.get(scheme)
    if default and host.endswith(f":{default}"):
        host = host[: -len(f":{default}")]
    return host


class CanonicalHost:
    """ASGI middleware: redirect browser navigations that arrive on another host to the issuer's (307)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        issuer = urlsplit(settings.resolved_issuer)
        self.scheme = issuer.scheme
        self.origin = f"{issuer.scheme}://{issuer.netloc}"
        self.netloc = _netloc(issuer.netloc, issuer.scheme)
        self.enabled = settings.redirect_to_issuer_host
        self.forwarded_host = settings.trust_forwarded_for  # behind a proxy, the public host is in X-Forwarded-Host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.enabled and scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            headers = Headers(scope=scope)
            host = (headers.get("x-forwarded-host") if self.forwarded_host else None) or headers.get("host", "")
            host = host.split(",")[0]
            if host and _netloc(host, self.scheme) != self.netloc and "text/html" in headers.get("accept", ""):
                query = scope.get("query_string", b"").decode("latin-1")
                target = self.origin + scope.get("path", "/") + (f"?{query}" if query else "")
                await RedirectResponse(target, status_code=307, headers={"Cache-Control": "no-store"})(
                    scope, receive, send)
                return
        await self.app(scope, receive, send)
