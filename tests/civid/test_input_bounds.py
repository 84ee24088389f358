"""Integers from paths and query strings past what the database holds are a 422 problem, never a 500 —
on SQLite (OverflowError past 2**63) and on PostgreSQL (out of range past 2**31), and on every route."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from annotated_types import Ge, Interval, Le
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from civid.input_types import INT32_MAX
from civid.settings import Settings
from server.app import create_app
from server.services import build_services
from tests.conftest import add_keys, assert_problem, enrol
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture

PAST_SQLITE = 99999999999999999999999  # over 2**63: SQLite's driver cannot even bind it
PAST_POSTGRES = 2**31  # one past PostgreSQL's integer


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every API route of the app, included routers and mounts opened up (hidden console pages too)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(getattr(route, "original_router", None), "routes", None) or getattr(route, "routes", None)
        if inner:
            yield from _routes(inner)


def _path_and_query_params(dependant: Any) -> Iterator[Any]:
    yield from dependant.path_params
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _path_and_query_params(sub)


def _bounds(field_info: Any) -> tuple[int | None, int | None]:
    """(lowest, highest) allowed by the parameter's annotation and Query/Path constraints."""
    low = high = None
    metadata = list(field_info.metadata)
    for arg in getattr(field_info.annotation, "__args__", ()):  # RowId | None
        metadata += list(getattr(arg, "__metadata__", ()))
    for item in metadata:
        if isinstance(item, (Interval, Ge)) and getattr(item, "ge", None) is not None:
            low = item.ge
        if isinstance(item, (Interval, Le)) and getattr(item, "le", None) is not None:
            high = item.le
    return low, high


def test_every_integer_path_and_query_parameter_of_every_route_is_bounded():
    app = create_app(Settings(data_dir=Path("/nonexistent")))
    integer_params, unbounded = [], []
    for route in _routes(app.routes):
        for param in _path_and_query_params(route.dependant):
            if "int" not in str(param.field_info.annotation):
                continue
            integer_params.append(f"{route.path} {param.name}")
            low, high = _bounds(param.field_info)
            if low is None or high is None or low < 0 or high > INT32_MAX:
                unbounded.append(f"{sorted(route.methods)} {route.path} {param.name}")
    assert len(integer_params) >= 12, integer_params  # the walk reached the console's hidden pages too
    assert not unbounded, unbounded


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_client(request, tmp_path: Path) -> Iterator[tuple[TestClient, Any]]:
    url = request.getfixturevalue("postgres_schema_url") if request.param == "postgresql" else None
    services = build_services(Settings(data_dir=tmp_path / "var", database_url=url))
    keys = add_keys(services)
    with TestClient(create_app(services=services), raise_server_exceptions=False) as client:
        yield client, keys
    services.close()


@pytest.mark.parametrize("number", [PAST_SQLITE, PAST_POSTGRES, 0, -1])
def test_out_of_range_ids_are_a_422_problem_on_every_database(database_client, number):
    client, keys = database_client
    uin = enrol(client, keys.officer, ["obama_2012_portrait.jpg"]).json()["uin"] if number == PAST_SQLITE else "0"
    requests = [
        ("DELETE", f"/v1/api-keys/{number}", keys.admin, None),
        ("GET", f"/v1/audit/events?actor_id={number}", keys.auditor, None),
        ("GET", f"/v1/kyc/status-lists/{number}", {}, None),
    ]
    if number == PAST_SQLITE:  # an existing identity: the passkey lookup is what used to overflow
        requests += [
            ("DELETE", f"/v1/identities/{uin}/passkeys/{number}", keys.officer, None),
            ("POST", f"/v1/identities/{uin}/passkeys/{number}/revoke", keys.officer, {"reason": "lost"}),
        ]
    for method, url, headers, body in requests:
        response = client.request(method, url, headers=headers, json=body)
        problem = assert_problem(response, 422)
        assert problem["type"].endswith("/invalid-input"), (url, problem)
        assert str(INT32_MAX) in problem["detail"] or "greater than or equal" in problem["detail"], (url, problem)


def test_ids_in_range_but_unknown_are_still_a_404(database_client):
    client, keys = database_client
    assert_problem(client.delete(f"/v1/api-keys/{INT32_MAX}", headers=keys.admin), 404)
    assert client.get(f"/v1/audit/events?actor_id={INT32_MAX}", headers=keys.auditor).json() == []
