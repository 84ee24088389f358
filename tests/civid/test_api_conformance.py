"""Schemathesis over the whole OpenAPI document, bounded: every operation, with generated valid and invalid
input and each role's API key, answers only statuses and media types the document declares, in the declared
shapes (problem+json for errors), and never a server error.

Bounded so that it fits in CI: a fixed number of examples per operation and mode, a fixed seed
(``derandomize``), no shrinking, and a time budget after which the remaining operations get one example each.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.failures import FailureGroup

from civid.audit import SYSTEM
from civid.auth import create_api_key
from server.app import create_app
from server.services import build_services
from tests.conftest import add_keys, enrol, make_settings

EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 5}
PINNED_EXAMPLES = 4  # with a real UIN, enrolment or case in the path, to reach past 404 to the 200 shapes
BUDGET_S = 150  # past this, each remaining operation is still called, once
# The API key sent to each operation, by path prefix (first match): the role that may call it.
ROLES = (
    ("/v1/api-keys", "admin"),
    ("/v1/clients", "admin"),
    ("/v1/signing-keys", "admin"),
    ("/v1/audit", "auditor"),
    ("/v1/cases", "adjudicator"),
    ("/v1/identify", "adjudicator"),
    ("/register", "registrar"),
    ("/v1/", "officer"),
)
# Positive data may still be refused: a form field's JSON, a photo's bytes, a UIN's check digit are beyond what
# a schema can say. Every other default check applies.
EXCLUDED_CHECKS = [positive_data_acceptance]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """A service with a key per role, one issued identity and one open case; the schema loaded from its app."""
    services = build_services(make_settings(tmp_path_factory.mktemp("schemathesis")))
    with services.sessions.begin() as db:
        for n in range(12):  # low ids are what generators try first: let them hit keys nobody uses
            create_api_key(db, f"spare {n}", "officer", SYSTEM)
    keys = add_keys(services)
    with services.sessions.begin() as db:
        _, registrar = create_api_key(db, "test registrar", "registrar", SYSTEM)
    app = create_app(services=services)
    with TestClient(app) as client:
        issued = enrol(client, keys.officer, ["obama_2012_portrait.jpg"]).json()
        pending = enrol(client, keys.officer2, ["obama_2010_blue_room.jpg"]).json()
    assert issued["status"] == "issued" and pending["status"] == "pending_adjudication", (issued, pending)
    headers = {role: getattr(keys, role) for role in ("officer", "adjudicator", "auditor", "admin")}
    headers["registrar"] = {"Authorization": f"Bearer {registrar}"}
    yield {
        "schema": schemathesis.openapi.from_asgi("/openapi.json", app),
        "headers": headers,
        "pinned": {"uin": issued["uin"], "enrolment_id": issued["id"], "case_id": pending["case_id"]},
    }
    services.close()


def _headers(path: str, headers: dict[str, dict[str, str]]) -> dict[str, str]:
    return next((headers[role] for prefix, role in ROLES if path.startswith(prefix)), {})


def _destructive(operation: Any) -> bool:
    """Revoking keys, disabling clients, rotating keys: run last, so they cannot lock the others out."""
    return operation.method.upper() == "DELETE" or operation.path.endswith(("/revoke", "/disable", "/rotate"))


def test_every_operation_answers_only_what_the_document_declares_and_never_a_server_error(world):
    operations = sorted(
        (result.ok() for result in world["schema"].get_all_operations()),
        key=lambda op: (_destructive(op), op.path, op.method),
    )
    started = time.monotonic()
    calls: dict[str, int] = {}
    statuses: dict[int, int] = {}
    failures: list[str] = []

    def exercise(operation: Any, mode: GenerationMode, examples: int, pinned: dict[str, str] | None) -> None:
        headers = _headers(operation.path, world["headers"])
        label = f"{operation.method.upper()} {operation.path}"

        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=pinned))
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any) -> None:
            calls[label] = calls.get(label, 0) + 1
            try:
                response = case.call_and_validate(headers=headers, excluded_checks=EXCLUDED_CHECKS)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            # A check failed (FailureGroup), or the app raised (a 500 through the ASGI transport): keep going,
            # and report every operation at the end.
            except (Exception, FailureGroup) as exc:
                failures.append(f"{label} ({mode.value}): {exc}"[:3000])

        try:
            call()
        except Unsatisfiable:
            pass  # e.g. no invalid input exists for an operation without parameters

    for operation in operations:
        over_budget = time.monotonic() - started > BUDGET_S
        has_input = bool(operation.path_parameters or operation.query or operation.body)
        for mode, examples in EXAMPLES.items():
            if mode == GenerationMode.NEGATIVE and not has_input:
                continue
            exercise(operation, mode, 1 if over_budget else examples, None)
        pinned = {name: world["pinned"][name] for name in world["pinned"] if f"{{{name}}}" in operation.path}
        if pinned and not over_budget:
            exercise(operation, GenerationMode.POSITIVE, PINNED_EXAMPLES, pinned)
    elapsed = time.monotonic() - started
    print(
        f"\nschemathesis: {sum(calls.values())} requests to {len(calls)} of {len(operations)} operations "
        f"in {elapsed:.0f} s; statuses {dict(sorted(statuses.items()))}"
    )
    assert len(calls) == len(operations), sorted(set(f"{o.method.upper()} {o.path}" for o in operations) - set(calls))
    assert not failures, f"{len(failures)} failing cases:\n\n" + "\n\n".join(failures[:5])
