"""Errors become problem+json without losing what the exception said, its headers included."""

from __future__ import annotations

from tests.conftest import assert_problem


def test_method_not_allowed_is_a_405_problem_with_the_allow_header(client, keys):
    # RFC 9110 §15.5.6: a 405 MUST carry Allow, listing the methods the resource supports.
    response = client.put("/v1/api-keys", headers=keys.admin, json={})
    body = assert_problem(response, 405)
    assert body["instance"] == "/v1/api-keys"
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "POST"}


def test_method_not_allowed_on_a_path_with_a_parameter_names_its_methods(client, keys):
    response = client.get("/v1/api-keys/1", headers=keys.admin)
    assert_problem(response, 405)
    assert response.headers["allow"] == "DELETE"
