"""Real HTTP servers on loopback for what civid fetches from relying parties: a JWKS (private_key_jwt with a
jwks_uri) and any fixed answer (a sector_identifier_uri that is not what it should be)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any


class LoopbackServer:
    """Answers every GET at ``url`` with what ``answer()`` returns (status, content type or None, body); counts
    the fetches."""

    path = "/"

    def __init__(self) -> None:
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.fetches += 1
                status, content_type, body = outer.answer()
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}{self.path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self) -> tuple[int, str | None, bytes]:
        raise NotImplementedError

    def stop(self) -> None:
        self.server.shutdown()


class JwksServer(LoopbackServer):
    """Serves ``jwks`` (replaceable, to model a key rotation) at ``url``."""

    path = "/jwks.json"

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        super().__init__()

    def answer(self) -> tuple[int, str | None, bytes]:
        return 200, "application/jwk-set+json", json.dumps(self.jwks).encode()


class FixedAnswerServer(LoopbackServer):
    """Answers every GET at ``…/sector.json`` with ``status`` and ``body`` as given (not necessarily JSON)."""

    path = "/sector.json"

    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body
        super().__init__()

    def answer(self) -> tuple[int, str | None, bytes]:
        return self.status, None, self.body
