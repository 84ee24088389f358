"""The body of a back-channel OAuth request: ``application/x-www-form-urlencoded`` only, each parameter once.

RFC 6749 §3.2 (token endpoint) and §4.1.3 send parameters form-encoded in the body; §3.1/§3.2 forbid a
parameter appearing more than once. RFC 7662 §2.1, RFC 7009 §2.1 and RFC 9126 §2.1 use the same encoding.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import Request

from idp.errors import InvalidRequest

FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 64 * 1024  # a token request is a few hundred bytes; a PAR request a few kilobytes


async def oauth_form(request: Request) -> dict[str, str]:
    """FastAPI dependency: the request's form parameters; ``invalid_request`` for any other body."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM:
        raise InvalidRequest(f"the request body must be {FORM}")  # RFC 6749 §3.2
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InvalidRequest("the request body is too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise InvalidRequest("the request body is not UTF-8") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise InvalidRequest(f"parameter {name!r} appears more than once")  # RFC 6749 §3.2
        form[name] = value
    # RFC 6749 §3.2: parameters sent without a value are treated as omitted.
    return {name: value for name, value in form.items() if value != ""}
