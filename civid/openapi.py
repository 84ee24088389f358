"""The OpenAPI document, completed in one place: error responses, their media types, and the request bodies
that routes read themselves.

FastAPI describes only what it validates: each operation's success and a 422 in its own ``HTTPValidationError``
shape, which civid never sends. Here every operation gets what civid really answers — 4xx problems
(``application/problem+json``, RFC 9457 §3), OAuth errors as JSON (RFC 6749 §5.2) on the protocol endpoints,
an HTML page on the citizen's browser pages — and the bodies of the OAuth endpoints, which parse their own
form-encoded or JSON input (``idp.form``) and so are invisible to FastAPI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

PROBLEM = "application/problem+json"
OAUTH_JSON = "application/json"
HTML = "text/html"
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_OAUTH_REF = {"$ref": "#/components/schemas/OAuthError"}

# RFC 9457 §3.1 members; ``errors`` (per field) on invalid input, other members by problem type (§3.2).
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "required": ["type", "title", "status", "detail"],
    "description": "An RFC 9457 problem: `type` names the kind of error, `detail` says what to fix.",
    "properties": {
        "type": {
            "type": "string",
            "description": "A URI naming the problem type, e.g. "
            "https://civid.dev/problems/invalid-input (or about:blank)",
        },
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "The request's path"},
        "errors": {
            "type": "array",
            "description": "On invalid input: each field at fault",
            "items": {
                "type": "object",
                "required": ["location", "message"],
                "properties": {
                    "location": {"type": "array", "items": {"type": "string"}},
                    "message": {"type": "string"},
                    "type": {"type": ["string", "null"]},
                },
            },
        },
    },
    "additionalProperties": True,
}
# RFC 6749 §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2; civid adds the problem members beside ``error``.
OAUTH_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "OAuthError",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "examples": ["invalid_grant"]},
        "error_description": {"type": "string"},
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
    "additionalProperties": True,
}

# The OAuth back channel and the APIs that take client credentials answer errors as RFC 6749 §5.2 JSON.
OAUTH_PREFIXES = (
    "/token",
    "/par",
    "/introspect",
    "/revoke",
    "/register",
    "/userinfo",
    "/v1/kyc/attestations",
    "/v1/clients",
    "/v1/civil-registry/events",
    "/v1/civil-registry/birth-status",
    "/v1/presentations",
    "/credential",  # OpenID4VCI's credential and nonce endpoints (credentials/)
    "/nonce",
)
# The citizen's browser pages: an HTML page (errors too, but for invalid parameters), or a redirect to the next
# step or back to the relying party (RFC 6749 §4.1.2). A page added elsewhere fails the schemathesis test until
# it is named here.
PAGES = frozenset(
    {
        "/authorize",
        "/authorize/resume/{uid}",
        "/login",
        "/login/{uid}",
        "/login/face",
        "/login/{uid}/face",
        "/consent/{uid}",
        "/logout",
        "/account",
        "/account/passkeys/{passkey_id}/revoke",
        "/account/consents/{consent_uid}/revoke",
        "/account/history",
        "/account/history.csv",
        "/account/my-data.json",
        "/account/my-data.pdf",
        "/account/children/{child_id}/history",
        "/account/children/{child_id}/my-data.json",
        "/account/children/{child_id}/my-data.pdf",
        "/account/methods/{method}",
        "/account/vids",
        "/account/vids/{vid_id}/revoke",
        "/recover-uin",
        "/passkeys/bind",
        "/verify",
    }
)
# The resident's downloads among the pages (idp.account_history, idp.my_data): their own media type when signed
# in, the login page (HTML, after the redirect) when not.
DOWNLOADS = {
    "/account/history.csv": ("text/csv", {"type": "string"}),
    "/account/my-data.json": ("application/json", {"type": "object"}),
    "/account/my-data.pdf": ("application/pdf", {"type": "string", "format": "binary"}),
    "/account/children/{child_id}/my-data.json": ("application/json", {"type": "object"}),
    "/account/children/{child_id}/my-data.pdf": ("application/pdf", {"type": "string", "format": "binary"}),
}


@dataclass(frozen=True)
class RequestBody:
    """A body a route reads itself (so FastAPI cannot see it), described by a pydantic model."""

    method: str
    path: str
    media_type: str
    model: type[BaseModel]
    description: str = ""


def error_media(path: str) -> tuple[str, ...]:
    """The media types a 4xx from ``path`` may have."""
    if path in PAGES:
        return (HTML, PROBLEM)
    if path.startswith(OAUTH_PREFIXES):
        return (OAUTH_JSON, PROBLEM)
    return (PROBLEM,)


def _content(media: Iterable[str]) -> dict[str, Any]:
    schemas = {PROBLEM: _PROBLEM_REF, OAUTH_JSON: _OAUTH_REF, HTML: {"type": "string"}}
    return {m: {"schema": schemas[m]} for m in media}


def amend(document: dict[str, Any], bodies: Iterable[RequestBody] = ()) -> dict[str, Any]:
    """Add the error responses of every operation and the declared request bodies to ``document``."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["OAuthError"] = OAUTH_ERROR_SCHEMA
    schemas.pop("HTTPValidationError", None)  # FastAPI's 422 shape: civid answers a Problem instead
    schemas.pop("ValidationError", None)
    for body in bodies:
        operation = document["paths"][body.path][body.method.lower()]
        model_schema = body.model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in model_schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        operation["requestBody"] = {
            "required": True,
            "description": body.description,
            "content": {body.media_type: {"schema": model_schema}},
        }
    for path, operations in document.get("paths", {}).items():
        media = error_media(path)
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if path in PAGES:
                for status in [code for code in responses if code.startswith("2")]:
                    responses[status]["content"] = _content([HTML])
                    if path in DOWNLOADS:
                        media_type, schema = DOWNLOADS[path]
                        responses[status]["content"][media_type] = {"schema": schema}
                responses["3XX"] = {
                    "description": "Redirect: to sign in, to the next step, or back to the "
                    "relying party with a code or an error (RFC 6749 §4.1.2)"
                }
            # Every 4xx is a problem whose `type` tells the client what went wrong (RFC 9457 §3.1.1), so one
            # range declares them all; 422 by name, as FastAPI declared it in a shape civid never sends.
            if "422" in responses or operation.get("parameters") or "requestBody" in operation:
                responses["422"] = {
                    "description": "Invalid input: the `errors` member names each field at fault",
                    "content": _content(media),
                }
            responses["4XX"] = {
                "description": "Refused: unauthenticated (401), forbidden (403), not found (404), "
                "method not allowed (405, with `Allow`), conflict (409), too large (413), "
                "unsupported media type (415), too many attempts (429, with `Retry-After`)",
                "content": _content(media),
            }
    return document


def install(app: FastAPI, bodies: Iterable[RequestBody] = ()) -> None:
    """Serve the completed document at /openapi.json (built once per set of routes)."""
    declared = tuple(bodies)
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()  # FastAPI's own cache: the same dict until the routes change
        if "Problem" not in document.get("components", {}).get("schemas", {}):
            amend(document, declared)
        return document

    # FastAPI's documented way to extend the document is to replace app.openapi; mypy sees a method assigned.
    app.openapi = openapi  # type: ignore[method-assign]
