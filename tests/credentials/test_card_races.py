"""Two desks issuing a card to the same person at the same moment: exactly one active card, on SQLite and on
PostgreSQL; the other desk gets a 409 and leaves nothing behind (no card, no status slot, no audit event)."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from models import CredentialStatus, IdCard
from server.app import create_app
from server.services import build_services
from tests.conftest import add_keys, enrol, make_settings
from tests.credentials.card_helpers import events, issue
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture


def two_desks_at_once(client, keys, services) -> None:  # type: ignore[no-untyped-def]
    uin = enrol(client, keys.officer, ["collins_nasa_portrait.png"], given_name="Eileen", family_name="Collins").json()[
        "uin"
    ]
    barrier = threading.Barrier(2)
    answers: list = [None, None]

    def desk(index: int, headers: dict) -> None:
        barrier.wait()
        answers[index] = issue(client, headers, uin)

    threads = [threading.Thread(target=desk, args=(i, h)) for i, h in enumerate((keys.officer, keys.officer2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(IdCard).where(IdCard.state == "active")) == 1
        assert db.scalar(select(func.count()).select_from(IdCard)) == 1
        assert db.scalar(select(func.count()).select_from(CredentialStatus)) == 1
    assert len(events(services, "card.issued")) == 1


def test_two_desks_issuing_at_once_make_one_card(client, keys, services):
    two_desks_at_once(client, keys, services)


def test_two_desks_issuing_at_once_on_postgresql(tmp_path, postgres_schema_url):  # noqa: F811 - fixture
    services = build_services(make_settings(tmp_path, database_url=postgres_schema_url))
    try:
        keys = add_keys(services)
        with TestClient(create_app(services=services), raise_server_exceptions=False) as client:
            two_desks_at_once(client, keys, services)
    finally:
        services.close()
