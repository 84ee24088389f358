"""A portal's back-channel endpoint (logout tokens, Security Event Tokens) served over real HTTP on loopback:
records every POST it receives."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass(frozen=True)
class ReceivedLogout:
    path: str
    content_type: str
    form: dict[str, list[str]]
    body: str = ""  # as it came (a Security Event Token is posted bare, not as a form)

    @property
    def logout_token(self) -> str:
        return self.form["logout_token"][0]


class LogoutReceiver:
    """Answers each POST with ``status`` (after ``delay_s``) and records it; ``url`` is its endpoint."""

    def __init__(self, status: int = 200, delay_s: float = 0.0) -> None:
        self.status = status
        self.delay_s = delay_s
        self.received: list[ReceivedLogout] = []
        self._arrived = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                with outer._arrived:
                    outer.received.append(
                        ReceivedLogout(self.path, self.headers.get("Content-Type", ""), parse_qs(body), body)
                    )
                    outer._arrived.notify_all()
                time.sleep(outer.delay_s)
                self.send_response(outer.status)
                self.send_header("Cache-Control", "no-store")  # Back-Channel Logout §2.8
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/oidc/backchannel-logout"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedLogout]:
        """Block until ``count`` POSTs have arrived (or ``timeout``); return what arrived."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
