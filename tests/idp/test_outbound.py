"""Outbound HTTP to relying parties (civid/outbound.py): public addresses only, and a whole call bounded in time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from civid import outbound


@pytest.mark.parametrize(
    "address, public",
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        # IPv6 carrying an IPv4 address: NAT64, 6to4, IPv4-compatible and -translated forms are judged by it.
        ("64:ff9b::a9fe:a9fe", False),
        ("64:ff9b::808:808", True),
        ("64:ff9b:1::a00:1", False),
        ("2002:a9fe:a9fe::", False),
        ("2002:808:808::1", True),
        ("::127.0.0.1", False),
        ("::ffff:0:7f00:1", False),
        ("::", False),
    ],
)
def test_public_addresses_are_told_apart_from_internal_ones(address, public):
    assert outbound.is_public(address) is public


def test_a_name_with_any_internal_address_is_refused(monkeypatch):
    # Every resolved address must be public, or the connection could be steered to the internal one.
    answers = [(2, 1, 6, "", ("93.184.215.14", 443)), (2, 1, 6, "", ("10.0.0.7", 443))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: answers)
    with pytest.raises(outbound.DisallowedAddress):
        outbound.public_address("rp.example.bz", 443)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: answers[:1])
    assert outbound.public_address("rp.example.bz", 443) == "93.184.215.14"


class _Dripping:
    """A server on loopback that answers one byte every 0.2 s, for ever (until stopped)."""

    def __init__(self) -> None:
        stopping = self.stopping = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(503)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                while not stopping.is_set():
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def dripping() -> Iterator[_Dripping]:
    server = _Dripping()
    yield server
    server.stopping.set()
    server.server.shutdown()


def test_a_relying_party_answering_a_byte_at_a_time_cannot_hold_a_call_past_its_deadline(dripping):
    # Each read gets a byte well within the 1 s timeout, so only the whole-call deadline ends it.
    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        with outbound.client(True, timeout=1.0, total_s=1.5) as http, http.stream("POST", dripping.url) as response:
            for _ in response.iter_bytes():
                pass
    assert time.monotonic() - started < 3.0
