"""The id of the HTTP request being answered: returned to the caller, written into its log lines and audit events.

Made here for each request (a random 128-bit hex id), or taken from a proxy's ``X-Request-ID`` when
``CIVID_TRUST_REQUEST_ID`` says a proxy in front sets it (a caller could otherwise label its requests with another
request's id); a value that is not 8–64 characters of ``[A-Za-z0-9._-]`` is never taken. A context variable carries
it: Starlette copies the context into the thread that runs a sync endpoint, so its logs and events see it too.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
_WELL_FORMED = re.compile(r"[A-Za-z0-9._-]{8,64}")
_current: ContextVar[str | None] = ContextVar("civid_request_id", default=None)


def current_request_id() -> str | None:
    return _current.get()


class RequestId:
    """ASGI middleware: give each request an id, answer it in ``X-Request-ID``."""

    def __init__(self, app: ASGIApp, trust_inbound: bool = False) -> None:
        self.app = app
        self.trust_inbound = trust_inbound

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        inbound = dict(scope.get("headers", [])).get(HEADER.encode(), b"").decode("latin-1")
        request_id = inbound if self.trust_inbound and _WELL_FORMED.fullmatch(inbound) else secrets.token_hex(16)
        token = _current.set(request_id)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER.encode()]
                message["headers"] = [*headers, (HEADER.encode(), request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            _current.reset(token)
