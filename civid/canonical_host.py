"""Browser pages are served at the issuer's host only: a page opened at ``http://127.0.0.1:8000`` while the
issuer is ``http://localhost:8000`` is redirected there.

Why: WebAuthn binds a passkey to the relying-party id (the issuer's host) and checks the page's origin
(WebAuthn Level 2 §7.1 step 9, §5.1.3), and cookies are kept per host, so at any other address passkeys fail
and sign-ins start over. Only browser navigations are redirected (GET or HEAD asking for text/html): a portal's
or bank's back-channel call (/token, /v1/…) answers wherever it arrives, and a POST body is never replayed.

Why not every other host: behind a proxy, the Host civid sees is often not the browser's (nginx sends the
upstream's address, a container network its service name). Redirecting on it would send the browser to the
issuer, whose proxy sends the same Host again: a 307 loop. So without a trusted X-Forwarded-Host only a request
that cannot have come through a proxy in front of the issuer is redirected: one at a loopback address on the
issuer's own port while the issuer is a loopback name (the developer's ``make run``; a proxy there would need
the same port). With ``CIVID_TRUST_FORWARDED_HOST`` the nearest proxy's X-Forwarded-Host says which host the
browser asked for; after the redirect it says the issuer's, so that cannot loop either.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from starlette.datastructures import Headers
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from civid.settings import Settings

DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 3986 §3.3 pchar and "/" (and "%", so that what the client encoded stays encoded): the rest is escaped.
PATH_SAFE = "/:@!$&'()*+,;=%-._~"
QUERY_SAFE = PATH_SAFE + "?"  # RFC 3986 §3.4


class HostPort(NamedTuple):
    host: str
    port: int | None


def _host_port(netloc: str, scheme: str) -> HostPort | None:
    """The lower-cased host (IPv6 without brackets) and port (the scheme's default if none); None if malformed."""
    try:
        parts = urlsplit(f"//{netloc.strip()}")
        return HostPort((parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(scheme))
    except ValueError:  # a port that is not a number
        return None


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine: ``localhost`` (RFC 6761 §6.3), a loopback or unspecified address."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def startup_warning(settings: Settings) -> str | None:
    """What to log once at start-up when the redirect is on but cannot act on a request's Host alone."""
    issuer = urlsplit(settings.resolved_issuer)
    if not settings.redirect_to_issuer_host or is_loopback((issuer.hostname or "").lower()):
        return None
    if settings.trust_forwarded_host:
        return (
            f"pages asked for at another host than the issuer {settings.resolved_issuer} are redirected by the "
            "last X-Forwarded-Host (CIVID_TRUST_FORWARDED_HOST): the proxy in front of civid must set it on "
            "every request, or a client chooses the host"
        )
    return (
        f"the issuer {settings.resolved_issuer} is not on this machine, so a page asked for at another host is "
        "served there, not redirected (behind a proxy that rewrites Host a redirect would loop): set "
        "CIVID_TRUST_FORWARDED_HOST=true behind a proxy that sets X-Forwarded-Host, or "
        "CIVID_REDIRECT_TO_ISSUER_HOST=false to silence this"
    )


class CanonicalHost:
    """ASGI middleware: redirect browser navigations that arrive on another host to the issuer's (307)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        issuer = urlsplit(settings.resolved_issuer)
        self.scheme = issuer.scheme
        self.origin = f"{issuer.scheme}://{issuer.netloc}"
        self.issuer = _host_port(issuer.netloc, issuer.scheme)
        self.forwarded_host = settings.trust_forwarded_host
        # Without a trusted forwarded host only a loopback issuer can ever redirect (see _elsewhere): knowing that
        # now keeps the header parsing off every page request of a deployment where no redirect can happen.
        self.enabled = (
            settings.redirect_to_issuer_host
            and self.issuer is not None
            and (self.forwarded_host or is_loopback(self.issuer.host))
        )

    def _elsewhere(self, headers: Headers) -> bool:
        """Whether the browser asked for another host than the issuer's, and a redirect cannot loop."""
        forwarded = headers.get("x-forwarded-host") if self.forwarded_host else None
        if forwarded:
            # The last value is the nearest proxy's; any before it came from the client (or farther proxies).
            seen = _host_port(forwarded.split(",")[-1], self.scheme)
            return seen is not None and seen != self.issuer
        seen, issuer = _host_port(headers.get("host", ""), self.scheme), self.issuer
        return (
            seen is not None
            and issuer is not None
            and seen.host != ""
            and seen != issuer
            and seen.port == issuer.port
            and is_loopback(seen.host)
            and is_loopback(issuer.host)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.enabled and scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            headers = Headers(scope=scope)
            if "text/html" in headers.get("accept", "") and self._elsewhere(headers):
                # The path as the client encoded it: decoded, /a%3Fb would turn into /a?b (a query string).
                raw_path = scope.get("raw_path") or scope.get("path", "/").encode()
                query = scope.get("query_string", b"")
                target = (
                    self.origin
                    + quote(raw_path, safe=PATH_SAFE)
                    + (f"?{quote(query, safe=QUERY_SAFE)}" if query else "")
                )
                await RedirectResponse(target, status_code=307, headers={"Cache-Control": "no-store"})(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)
