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


def test_a_registered_renderer_answers_for_its_error_and_subclasses_and_others_stay_problems():
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse
    from fastapi.testclient import TestClient

    from civid import problems
    from civid.errors import CividError, NotFound

    class FamilyError(CividError):
        status = 409

    class Member(FamilyError):
        pass

    app = FastAPI()
    problems.install(app)
    problems.register_renderer(app, FamilyError, lambda request, exc: PlainTextResponse("own: " + exc.detail, 409))

    @app.get("/member")
    def member() -> None:
        raise Member("a member of the family")

    @app.get("/other")
    def other() -> None:
        raise NotFound("nothing here")

    with TestClient(app) as client:
        own = client.get("/member")
        assert own.status_code == 409 and own.text == "own: a member of the family"
        assert_problem(client.get("/other"), 404)
