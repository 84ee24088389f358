"""Outbound HTTP to relying parties (their ``jwks_uri``, their ``backchannel_logout_uri``), to public
addresses only.

A client's metadata names a URL that civid's server then fetches. Whoever may register clients (an
admin, or a ``registrar`` through Dynamic Client Registration) could otherwise point it at the
loopback interface, the registration network's private addresses or a cloud metadata address, and use
civid as a proxy into them (server-side request forgery). So the host is resolved here and the
connection goes to the checked address itself: a name that resolves to a public address when checked
and to a private one when connecting (DNS rebinding) cannot slip through. Connections are direct: a
proxy from the environment would resolve the name itself, unchecked. Redirects are not followed.

``CIVID_OUTBOUND_ALLOW_PRIVATE=true`` lifts the rule, for a relying party on a private network or on a
developer's machine.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx


class DisallowedAddress(httpx.ConnectError):
    """The host resolves to an address civid does not fetch from (loopback, private, link-local...)."""


def is_public(address: str) -> bool:
    """True for a globally routable unicast address (not loopback, private, link-local, reserved, multicast)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def literal_address(host: str | None) -> str | None:
    """The IP address a URL's host spells literally (``[::1]`` included), or None for a name."""
    try:
        return str(ipaddress.ip_address((host or "").strip("[]")))
    except ValueError:
        return None


def public_address(host: str, port: int) -> str:
    """Resolve ``host`` and return an address to connect to; DisallowedAddress if any address is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpx.ConnectError(f"cannot resolve {host}") from exc
    addresses = [str(info[4][0]) for info in infos]
    refused = [a for a in addresses if not is_public(a)]
    if refused or not addresses:
        # Every address must be public: a name with one public and one private address is refused too.
        raise DisallowedAddress(f"{host} resolves to a non-public address")
    return addresses[0]


class _PublicOnlyBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, connecting only to checked public addresses."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        # TLS still verifies the certificate against the URL's host name: httpcore passes it as SNI.
        return self._inner.connect_tcp(public_address(host, port), port, timeout, local_address, socket_options)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise DisallowedAddress("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def client(allow_private: bool, timeout: float, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An httpx client for calling a relying party's URL: direct connections (proxies from the environment
    would resolve the name themselves), no redirects, certificates checked (SSL_CERT_FILE honoured)."""
    if transport is None:
        transport = httpx.HTTPTransport(trust_env=True)  # trust_env here: only the CA settings
        if not allow_private:
            # httpx builds its connection pool without a way to pass a network backend; rebuild it with ours.
            transport._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(trust_env=True),
                                                      network_backend=_PublicOnlyBackend())
    return httpx.Client(transport=transport, trust_env=False, follow_redirects=False, timeout=timeout)
