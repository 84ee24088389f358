"""The same Idempotency-Key sent several times at once (a double click, a client retrying after a timeout)
enrols the person once, and every one of those requests gets that enrolment back — never a 500, never a
second enrolment — through a real service on SQLite and through two service processes on PostgreSQL.
Two different requests under one key at once enrol one of them and refuse the other (422)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from civid.settings import Settings
from models import AuditEvent, Enrolment, Identity
from server.services import build_services
from tests.conftest import Keys, add_keys, fixture_bytes, person
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture
from tests.server import ServerProcess, postgres_nodes

# One person per round, so each round issues one UIN when it is idempotent.
ROUNDS = [
    ("obama_2012_portrait.jpg", "Obama"),
    ("biden_2010_blue_room.jpg", "Biden"),
    ("collins_nasa_portrait.png", "Collins"),
]


def _at_once(
    servers: list[ServerProcess], headers: dict, key: str, people: list[tuple[str, str]]
) -> list[httpx.Response]:
    """One enrolment per (photo, family name) under ``key``, released together, spread over ``servers``."""
    copies = len(people)
    barrier = threading.Barrier(copies)
    responses: list = [None] * copies

    def send(index: int) -> None:
        server = servers[index % len(servers)]
        photo, family_name = people[index]
        kind = "image/png" if photo.endswith(".png") else "image/jpeg"
        with httpx.Client(timeout=180) as http:
            http.get(server.url + "/healthz")
            barrier.wait()
            responses[index] = http.post(
                server.url + "/v1/enrolments",
                headers={**headers, "Idempotency-Key": key},
                data={"demographics": json.dumps(person(family_name=family_name))},
                files=[("photos", (photo, fixture_bytes(photo), kind))],
            )

    threads = [threading.Thread(target=send, args=(i,)) for i in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return responses


def _rounds(settings: Settings, servers: list[ServerProcess], keys: Keys, copies: int, label: str) -> None:
    answers, failed_rounds = [], []
    for number, (photo, family_name) in enumerate(ROUNDS):
        key = f"{label}-round-{number}"
        responses = _at_once(servers, keys.officer, key, [(photo, family_name)] * copies)
        answers += [r.status_code for r in responses]
        bodies = [r.json() if r.status_code == 201 else {} for r in responses]
        if (
            [r.status_code for r in responses] != [201] * copies
            or len({b["id"] for b in bodies}) != 1
            or {b["status"] for b in bodies} != {"issued"}
            or len({b["uin"] for b in bodies}) != 1
        ):
            failed_rounds.append([r.text[:200] for r in responses])
    services = build_services(settings, open_gallery=False)
    try:
        with services.sessions() as session:
            enrolments = session.scalar(select(func.count()).select_from(Enrolment)) or 0
            identities = session.scalar(select(func.count()).select_from(Identity)) or 0
            issued_events = (
                session.scalar(
                    select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "enrolment.issued")
                )
                or 0
            )
    finally:
        services.close()
    print(
        f"{label}: {len(ROUNDS)} rounds x {copies} requests = {len(answers)} sent, statuses "
        f"{ {code: answers.count(code) for code in sorted(set(answers))} }, {len(failed_rounds)} rounds failed, "
        f"{enrolments} enrolments, {identities} UINs, {issued_events} issued events"
    )
    assert failed_rounds == [], failed_rounds
    assert enrolments == identities == issued_events == len(ROUNDS)


def test_one_key_sent_at_once_to_one_sqlite_service_enrols_once_and_answers_each_with_it(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "var")
    services = build_services(settings, open_gallery=False)
    keys = add_keys(services)
    services.close()
    server = ServerProcess({"CIVID_DATA_DIR": str(settings.data_dir)}, tmp_path / "server.log").start()
    try:
        _rounds(settings, [server], keys, copies=3, label="sqlite")
        # Two different people under one key at once: one is enrolled, the other refused (never both).
        mixed = _at_once(
            [server],
            keys.officer,
            "sqlite-mixed",
            [("obama_2009_congress.jpg", "Obama"), ("biden_2010_blue_room.jpg", "Soetoro")],
        )
    finally:
        server.stop()
    assert sorted(r.status_code for r in mixed) == [201, 422], [r.text[:300] for r in mixed]
    refused = next(r.json() for r in mixed if r.status_code == 422)
    assert refused["idempotency_key"] == "sqlite-mixed"
    services = build_services(settings, open_gallery=False)
    try:
        with services.sessions() as session:
            assert (
                session.scalar(
                    select(func.count()).select_from(Enrolment).where(Enrolment.idempotency_key == "sqlite-mixed")
                )
                == 1
            )
    finally:
        services.close()


@pytest.mark.postgres
def test_one_key_sent_at_once_to_two_postgres_services_enrols_once_and_answers_each_with_it(
    tmp_path: Path, postgres_schema_url: str
):
    with postgres_nodes(tmp_path, postgres_schema_url) as (settings, keys, servers):
        _rounds(settings, servers, keys, copies=4, label="postgres")
