"""Two officers enrolling the same person at the same moment must not yield two UINs — proved on the
real PostgreSQL server, with concurrent requests to one service and to two separate service processes —
and two adjudicators deciding one case at the same moment must not both decide it."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import IntegrityError

from civid.audit import SYSTEM
from civid.auth import create_api_key
from civid.settings import Settings
from models import CaseDecision, DedupCase, Enrolment, EnrolmentStatus, Identity
from models.db import DEDUP_LOCK_KEY
from server.app import create_app
from server.services import build_services
from tests.conftest import add_keys, fixture_bytes, person
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture
from tests.server import ServerProcess

pytestmark = pytest.mark.postgres

SAME_PERSON = ("obama_2012_portrait.jpg", "obama_2010_blue_room.jpg")


def _files(photo: str) -> list:
    kind = "image/png" if photo.endswith(".png") else "image/jpeg"
    return [("photos", (photo, fixture_bytes(photo), kind))]


def _race(senders: list) -> list:
    """Run the senders in threads released together by a barrier; return their responses."""
    barrier = threading.Barrier(len(senders))
    results: list = [None] * len(senders)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = senders[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(senders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def _assert_one_uin_one_case(
    settings: Settings, responses: list, people_so_far: int = 1, earlier_cases: int = 0
) -> None:
    bodies = [r.json() for r in responses]
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    statuses = sorted(b["status"] for b in bodies)
    assert statuses == ["issued"] + ["pending_adjudication"] * (len(bodies) - 1), statuses
    issued = next(b for b in bodies if b["status"] == "issued")
    for body in bodies:
        if body["status"] == "pending_adjudication":
            assert issued["id"] in [c["enrolment_id"] for c in body["candidates"]]
    services = build_services(settings, open_gallery=False)
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Identity)) == people_so_far
        assert session.scalar(select(func.count()).select_from(DedupCase)) == earlier_cases + len(bodies) - 1
        assert (
            session.scalar(
                select(func.count()).select_from(Enrolment).where(Enrolment.status == EnrolmentStatus.ISSUED)
            )
            == people_so_far
        )
    services.close()


def test_concurrent_duplicate_enrolments_in_one_service_yield_one_uin(tmp_path: Path, postgres_schema_url: str):
    settings = Settings(data_dir=tmp_path / "var", database_url=postgres_schema_url)
    services = build_services(settings)
    keys = add_keys(services)
    with TestClient(create_app(services=services)) as client:

        def sender(headers: dict, photo: str):
            return lambda: client.post(
                "/v1/enrolments",
                headers=headers,
                files=_files(photo),
                data={"demographics": json.dumps(person(family_name="Obama"))},
            )

        responses = _race(
            [
                sender(keys.officer, SAME_PERSON[0]),
                sender(keys.officer2, SAME_PERSON[1]),
                sender(keys.officer, SAME_PERSON[1]),
            ]
        )
    services.close()
    _assert_one_uin_one_case(settings, responses)


def test_concurrent_duplicate_enrolments_on_two_service_processes_yield_one_uin(
    tmp_path: Path, postgres_schema_url: str
):
    """Each process has its own in-memory gallery: insert-then-identify, the decision's row locks and catch-up
    keep them honest."""
    shared_keys = tmp_path / "template-keys.json"
    settings = Settings(data_dir=tmp_path / "setup", database_url=postgres_schema_url, template_keys_file=shared_keys)
    services = build_services(settings)
    keys = add_keys(services)
    services.close()
    servers = [
        ServerProcess(
            {
                "CIVID_DATA_DIR": str(tmp_path / f"node{i}"),
                "CIVID_DATABASE_URL": postgres_schema_url,
                "CIVID_TEMPLATE_KEYS_FILE": str(shared_keys),
            },
            tmp_path / f"node{i}.log",
        ).start()
        for i in range(2)
    ]
    try:

        def sender(server: ServerProcess, headers: dict, photo: str):
            return lambda: httpx.post(
                server.url + "/v1/enrolments",
                headers=headers,
                files=_files(photo),
                timeout=120,
                data={"demographics": json.dumps(person(family_name="Obama"))},
            )

        # Round 0: the test holds what was the global dedup lock while four enrolments of one face run on both
        # nodes. None waits for it (insert-then-identify takes no global lock), and still one UIN is issued.
        gate = create_engine(postgres_schema_url)
        results: list = [None] * 4
        with gate.connect() as connection:
            transaction = connection.begin()
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DEDUP_LOCK_KEY})
            threads = [
                threading.Thread(
                    target=lambda i=i, server=server: results.__setitem__(
                        i, sender(server, keys.officer if i % 2 else keys.officer2, "obama_2012_portrait.jpg")()
                    )
                )
                for i, server in enumerate(servers * 2)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(180)
            assert all(r is not None for r in results), "an enrolment waited for the old global dedup lock"
            waiting = connection.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            ).scalar()
            assert waiting == 0
            transaction.commit()
        gate.dispose()
        _assert_one_uin_one_case(settings, results, people_so_far=1)

        # Several officers per node, so the nodes' critical sections overlap in time; three rounds,
        # one person each (without the cross-process lock a round yields two UINs more often than not).
        rounds = [("biden_2010_blue_room.jpg",) * 2, ("collins_nasa_portrait.png",) * 2]
        for number, photos in enumerate(rounds, start=2):
            responses = _race(
                [
                    sender(server, headers, photo)
                    for server in servers
                    for headers, photo in (
                        (keys.officer, photos[0]),
                        (keys.officer2, photos[1]),
                        (keys.officer, photos[1]),
                    )
                ]
            )
            _assert_one_uin_one_case(settings, responses, people_so_far=number, earlier_cases=3 + 5 * (number - 2))
        # A later enrolment on either node sees every earlier one of that person.
        last = sender(servers[1], keys.officer, SAME_PERSON[0])().json()
        assert last["status"] == "pending_adjudication"
        assert len(last["candidates"]) == 4
    finally:
        for server in servers:
            server.stop()


def test_two_adjudicators_deciding_one_case_at_once_record_one_decision(tmp_path: Path, postgres_schema_url: str):
    services = build_services(Settings(data_dir=tmp_path / "var", database_url=postgres_schema_url))
    keys = add_keys(services)
    with services.sessions.begin() as session:
        _, secret = create_api_key(session, "test adjudicator2", "adjudicator", SYSTEM)
    adjudicators = (keys.adjudicator, {"Authorization": f"Bearer {secret}"})
    with TestClient(create_app(services=services)) as client:
        for headers, photo in ((keys.officer, SAME_PERSON[0]), (keys.officer2, SAME_PERSON[1])):
            enrolled = client.post(
                "/v1/enrolments",
                headers=headers,
                files=_files(photo),
                data={"demographics": json.dumps(person(family_name="Obama"))},
            ).json()
        case_id = enrolled["case_id"]

        def sender(headers: dict, path: str, decision: str):
            return lambda: client.post(
                f"/v1/cases/{case_id}/{path}",
                headers=headers,
                json={"decision": decision, "comment": f"{decision}, at the same moment"},
            )

        decided = _race(
            [sender(adjudicators[0], "decision", "duplicate"), sender(adjudicators[1], "decision", "not_duplicate")]
        )
        assert sorted(r.status_code for r in decided) == [200, 409], [r.text for r in decided]
        winner = next(r.json() for r in decided if r.status_code == 200)
        flip = "not_duplicate" if winner["decision"] == "duplicate" else "duplicate"
        changed = _race([sender(headers, "decision/change", flip) for headers in adjudicators])
        assert sorted(r.status_code for r in changed) == [200, 422], [r.text for r in changed]
    with services.sessions() as session:
        case = session.scalars(select(DedupCase).where(DedupCase.public_id == case_id)).one()
        rows = list(
            session.scalars(select(CaseDecision).where(CaseDecision.case_id == case.id).order_by(CaseDecision.sequence))
        )
        assert [(r.sequence, r.outcome) for r in rows] == [(1, winner["decision"]), (2, flip)]
        assert rows[1].replaces_id == rows[0].id
        # The constraint behind the locks: a second decision 1 is refused by the database itself.
        session.add(CaseDecision(case_id=case.id, sequence=1, outcome=flip, comment="forged", decided_by_name="x"))
        with pytest.raises(IntegrityError):
            session.flush()
    services.close()
