"""Two posts of one wallet response at once (a wallet retrying, a double submit) are processed exactly once: one
is verified, the other refused as already answered, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from models import AuditEvent
from tests.conftest import make_settings
from tests.credentials.presentation_flow import (
    PERSON,
    ask,
    identity,
    issue,
    poll,
    presentations_bank,
    request_object,
    respond,
)
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture


def _open(client, services, bank) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    body = ask(client, services, bank).json()
    _, claims = request_object(client, body["request_uri"])
    return body, claims


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "postgresql":
        return make_settings(tmp_path, database_url=request.getfixturevalue("postgres_schema_url"))
    return make_settings(tmp_path)


def _race(client, state: str, presentation: str) -> list[int]:  # type: ignore[no-untyped-def]
    """Two wallet posts of the same response released together: their status codes."""
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def post() -> None:
        barrier.wait()
        codes.append(respond(client, state, {"pid": presentation}).status_code)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return codes


def test_two_posts_of_one_response_at_once_are_processed_exactly_once(client, services):
    bank = presentations_bank(services)
    for round_number in range(3):
        wallet = issue(services, identity(services, f"40580752{round_number}"))
        body, claims = _open(client, services, bank)
        presentation = wallet.present(list(PERSON), nonce=claims["nonce"], aud=claims["client_id"])
        codes = _race(client, claims["state"], presentation)
        assert sorted(codes) == [200, 400], codes
        assert poll(client, services, bank, body["id"]).json()["status"] == "verified"
    with services.sessions() as db:
        verified = db.scalars(select(AuditEvent).where(AuditEvent.action == "presentation.verified")).all()
        failed = db.scalars(select(AuditEvent).where(AuditEvent.action == "presentation.failed")).all()
    assert len(verified) == 3 and failed == []
