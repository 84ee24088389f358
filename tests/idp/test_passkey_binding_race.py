"""Codes issued for one person at the same moment (two desks, a double click) leave exactly one usable code:
each new code voids the earlier unused ones, proved on the real PostgreSQL server with concurrent requests."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from civid.audit import as_utc
from civid.settings import Settings
from models import PasskeyBinding, utcnow
from server.app import create_app
from server.services import build_services
from tests.conftest import add_keys, enrol
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture

pytestmark = pytest.mark.postgres
RACERS = 6


def test_concurrent_codes_for_one_person_leave_one_usable(tmp_path: Path, postgres_schema_url: str):
    settings = Settings(data_dir=tmp_path / "var", database_url=postgres_schema_url)
    services = build_services(settings)
    keys = add_keys(services)
    try:
        with TestClient(create_app(services=services)) as client:
            enrolled = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], family_name="Obama")
            assert enrolled.status_code == 201, enrolled.text
            uin = enrolled.json()["uin"]
            barrier, answers = threading.Barrier(RACERS), [None] * RACERS

            def issue(index: int) -> None:
                barrier.wait()
                answers[index] = client.post(
                    f"/v1/identities/{uin}/passkey-bindings", headers=keys.officer if index % 2 else keys.officer2
                )

            threads = [threading.Thread(target=issue, args=(i,)) for i in range(RACERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        assert [a.status_code for a in answers] == [201] * RACERS, [a.text for a in answers]
        with services.sessions() as db:
            rows = db.scalars(select(PasskeyBinding)).all()
            live = [row for row in rows if row.used_at is None and as_utc(row.expires_at) > utcnow()]
        assert len(rows) == RACERS and len(live) == 1, [(r.id, r.expires_at) for r in rows]
        assert live[0].id == max(row.id for row in rows)  # the last one issued is the one that works
    finally:
        services.close()
