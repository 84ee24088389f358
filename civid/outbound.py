"""Outbound HTTP to URLs that others name (a relying party's ``jwks_uri`` or ``backchannel_logout_uri``, MOSIP's
data-share ``referenceURL``), to public addresses only.

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
import ssl
import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx


class DisallowedAddress(httpx.ConnectError):
    """The host resolves to an address civid does not fetch from (loopback, private, link-local...)."""


# IPv6 prefixes that carry an IPv4 address in their low bits (NAT64, 6to4, IPv4-compatible and -translated):
# the IPv4 address inside decides, or a DNS64 name could reach 10.0.0.0/8 or 169.254.169.254 through them.
_EMBEDDING_IPV4 = tuple(ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96"))
_6TO4 = ipaddress.ip_network("2002::/16")


def is_public(address: str) -> bool:
    """True for a globally routable unicast address (not loopback, private, link-local, reserved, multicast),
    judging an IPv6 address that embeds an IPv4 one (mapped, NAT64, 6to4...) by the IPv4 address inside."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in _6TO4:
            ip = ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)
        elif any(ip in network for network in _EMBEDDING_IPV4):
            if int(ip) & 0xFFFFFFFF == 0 and ip in _EMBEDDING_IPV4[2]:
                return False  # :: itself, the unspecified address
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.is_global and not ip.is_multicast


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


class _DeadlineStream(httpcore.NetworkStream):
    """A connection that must finish by a deadline: httpx's timeouts bound each read, so a peer sending one
    byte at a time could otherwise hold a call for ever."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def _left(self, timeout: float | None) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the relying party took longer than the whole call may")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, self._left(timeout)), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, connecting only to checked public addresses (unless private ones are
    allowed), each connection bounded by a total deadline."""

    def __init__(self, allow_private: bool, total_s: float) -> None:
        self._inner = httpcore.SyncBackend()
        self._allow_private = allow_private
        self._total_s = total_s

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        deadline = time.monotonic() + self._total_s
        # TLS still verifies the certificate against the URL's host name: httpcore passes it as SNI.
        address = host if self._allow_private else public_address(host, port)
        stream = self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream, deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise DisallowedAddress("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def client(
    allow_private: bool, timeout: float, transport: httpx.BaseTransport | None = None, total_s: float | None = None
) -> httpx.Client:
    """An httpx client for calling a relying party's URL: direct connections (proxies from the environment
    would resolve the name themselves), no redirects, certificates checked (SSL_CERT_FILE honoured), each
    wait at most ``timeout`` and the whole call at most ``total_s`` (default twice ``timeout``)."""
    if transport is None:
        transport = httpx.HTTPTransport(trust_env=True)  # trust_env here: only the CA settings
        # httpx builds its connection pool without a way to pass a network backend; rebuild it with ours.
        transport._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=True),
            network_backend=_GuardedBackend(allow_private, total_s if total_s is not None else 2 * timeout),
        )
    return httpx.Client(transport=transport, trust_env=False, follow_redirects=False, timeout=timeout)
