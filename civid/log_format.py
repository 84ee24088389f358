"""How civid's processes log: JSON lines (or text) that carry the request id, and never a secret.

One line per record: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``request_id`` (the id of the
HTTP request being answered, civid/request_id.py; absent outside one), the process id, and an exception's
traceback when there is one. JSON is the default in production (a log pipeline parses it), text in development
(a person reads it); ``CIVID_LOG_FORMAT`` chooses.

Redaction is the second line of defence: code never logs a template, photo, document number, token or secret, and
the filter below blanks what looks like one anyway — an Authorization header value, a civid API key, a JWT (ID,
access and logout tokens, DPoP proofs, client assertions), a query parameter that carries a code or token (uvicorn's
access log prints the path with its query), and any long base64 run (a photo, a template or a sealed blob).
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime
from typing import Any

from civid.request_id import current_request_id

REDACTED = "[redacted]"
# (pattern, replacement): what names the secret (a scheme, a parameter) stays, so a line still says what was there.
_PATTERNS = (
    (re.compile(r"(?i)\b(?P<keep>(?:bearer|basic|dpop)\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\g<keep>" + REDACTED),
    (re.compile(r"\bcivid_[A-Za-z0-9_-]{20,}"), REDACTED),  # civid's API keys (civid/auth.py KEY_PREFIX)
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),  # a JWS or JWT
    (
        re.compile(
            r"(?i)(?P<keep>\b(?:code|refresh_token|access_token|id_token|logout_token|client_secret|"
            r"client_assertion|password|pin|token|secret|key|tx_code|pre-authorized_code|binding_code|"
            r"document_number|number)=)[^&\s\"']+"
        ),
        r"\g<keep>" + REDACTED,
    ),
    (re.compile(r"[A-Za-z0-9+/_-]{80,}={0,2}"), REDACTED),  # a photo, template or ciphertext in base64
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Blank secrets in a record's message (its arguments merged in first, so none escapes through them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": os.getpid(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            line["request_id"] = request_id
        if record.exc_text or record.exc_info:
            line["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(line, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def logging_config(json_lines: bool) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the root logger and uvicorn's (theirs too: the access log prints paths)."""
    formatter = {"()": JsonFormatter} if json_lines else {"format": TEXT_FORMAT, "defaults": {"request_id": "-"}}
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "civid",
        "filters": ["request_id", "redact"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}, "redact": {"()": RedactingFilter}},
        "formatters": {"civid": formatter},
        "handlers": {"civid": handler},
        "root": {"level": "INFO", "handlers": ["civid"]},
        "loggers": {
            name: {"level": "INFO", "handlers": ["civid"], "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure(json_lines: bool) -> None:
    import logging.config

    logging.config.dictConfig(logging_config(json_lines))
