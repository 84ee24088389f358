"""The OpenAPI document says what civid really answers: problem+json errors, OAuth request bodies, UIN format."""

from __future__ import annotations

from pathlib import Path

import pytest

from civid.settings import Settings
from server.app import create_app


@pytest.fixture(scope="module")
def document() -> dict:
    return create_app(Settings(data_dir=Path("/nonexistent"))).openapi()


def _operations(document: dict):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def test_every_operation_declares_its_4xx_responses_as_problem_json(document):
    assert document["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status", "detail"]
    missing = [
        f"{method} {path}"
        for method, path, operation in _operations(document)
        if "application/problem+json" not in operation["responses"].get("4XX", {}).get("content", {})
    ]
    assert not missing, missing
    assert "HTTPValidationError" not in document["components"]["schemas"]  # FastAPI's shape, never sent


def test_invalid_input_is_declared_as_a_problem_with_its_field_errors(document):
    response = document["paths"]["/v1/api-keys"]["post"]["responses"]["422"]
    assert response["content"] == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert "errors" in document["components"]["schemas"]["Problem"]["properties"]


def test_oauth_endpoints_declare_json_errors_and_pages_html_errors(document):
    token_errors = document["paths"]["/token"]["post"]["responses"]["4XX"]["content"]
    assert token_errors["application/json"]["schema"] == {"$ref": "#/components/schemas/OAuthError"}
    page = document["paths"]["/consent/{uid}"]["get"]["responses"]
    assert "text/html" in page["4XX"]["content"] and "text/html" in page["200"]["content"] and "3XX" in page


@pytest.mark.parametrize(
    "path, field", [("/token", "grant_type"), ("/par", "response_type"), ("/revoke", "token"), ("/introspect", "token")]
)
def test_form_encoded_oauth_endpoints_declare_their_bodies(document, path, field):
    body = document["paths"][path]["post"]["requestBody"]
    schema = body["content"]["application/x-www-form-urlencoded"]["schema"]
    assert body["required"] is True and field in schema["required"], schema
    assert {"client_id", "client_assertion"} <= set(schema["properties"])
    assert schema["additionalProperties"] is True  # RFC 6749 §3.1: unknown parameters are ignored


def test_dynamic_client_registration_declares_its_json_body(document):
    schema = document["paths"]["/register"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "redirect_uris" in schema["required"] and "grant_types" in schema["properties"]


def test_every_uin_path_parameter_has_the_uin_pattern(document):
    uins = [
        (f"{method} {path}", p["schema"].get("pattern"))
        for method, path, operation in _operations(document)
        for p in operation.get("parameters", [])
        if p["name"] == "uin" and p["in"] == "path"
    ]
    assert len(uins) >= 6, uins
    assert {pattern for _, pattern in uins} == {"^[1-9][0-9]{9}$"}, uins


def test_integer_ids_declare_their_range(document):
    (key_id,) = document["paths"]["/v1/api-keys/{key_id}"]["delete"]["parameters"]
    assert (key_id["schema"]["minimum"], key_id["schema"]["maximum"]) == (1, 2**31 - 1)
