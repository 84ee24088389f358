"""Several server processes (``civid serve --workers N``): each holds its own face gallery and finger index, and
each follows every adjudication decision committed by any of them at its next catch-up.

Worker A is the ``services`` fixture (its HTTP client decides); worker B is a second services object built on
the same database and data folder, as a second worker process is. A decision moves only old template rows
(below the watermark), so without following decisions B would keep searching what A's decision took out and
never find what a change put back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from enrollment.fingerprint import open_features
from enrollment.templates import open_descriptor
from models import Enrolment, FaceTemplate, FingerTemplate
from server.app import create_app
from server.services import Services, build_services
from tests.conftest import add_keys, enrol, make_settings, seeded_fixtures
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture
from tests.synthetic_fingerprints import impressions, png_bytes

OBAMA_FINGERS = {2: 101, 7: 102}  # ISO position: seed of the synthetic finger


def fingers_of(impression: int) -> dict[int, bytes]:
    return {
        position: png_bytes(impressions(seed, impression + 1)[impression]) for position, seed in OBAMA_FINGERS.items()
    }


def open_a_case(client, keys) -> tuple[dict, dict]:
    """Obama enrolled (issued), then again from another photo and other impressions of his fingers: an open case."""
    first = enrol(
        client,
        keys.officer,
        ["obama_2012_portrait.jpg"],
        fingers=fingers_of(0),
        given_name="Barack",
        family_name="Obama",
    ).json()
    second = enrol(
        client,
        keys.officer2,
        ["obama_2010_blue_room.jpg"],
        fingers=fingers_of(1),
        given_name="Barry",
        family_name="Soetoro",
    ).json()
    assert first["status"] == "issued" and second["status"] == "pending_adjudication", second
    return first, second


seed, settings, keys, opened = seeded_fixtures(open_a_case, "opened")


@pytest.fixture
def worker_b(services: Services) -> Iterator[Services]:
    """Another worker on the same database (built after A, so A's start is done)."""
    built = build_services(services.settings)
    yield built
    built.close()


def decide(client, keys, case_id: str, decision: str, **extra) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/v1/cases/{case_id}/decision",
        headers=keys.adjudicator,
        json={"decision": decision, "comment": "checked the birth record", **extra},
    )
    assert response.status_code == 200, response.text


def change(client, keys, case_id: str, decision: str, **extra) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/v1/cases/{case_id}/decision/change",
        headers=keys.adjudicator,
        json={"decision": decision, "comment": "new evidence", **extra},
    )
    assert response.status_code == 200, response.text


def catch_up(worker: Services) -> None:
    with worker.sessions() as session:
        worker.gallery.catch_up(session)
        worker.fingers.catch_up(session)


def found(worker: Services, enrolment_id: str) -> tuple[set[int], set[int]]:
    """The applicant's face and finger template ids that the worker's searches for the applicant return
    (probes: the applicant's own stored templates)."""
    with worker.sessions() as session:
        enrolment = session.scalars(select(Enrolment).where(Enrolment.public_id == enrolment_id)).one()
        faces = session.scalars(select(FaceTemplate).where(FaceTemplate.enrolment_id == enrolment.id)).all()
        fingers = session.scalars(select(FingerTemplate).where(FingerTemplate.enrolment_id == enrolment.id)).all()
        assert faces and fingers
        face_ids, finger_ids = {f.id for f in faces}, {f.id for f in fingers}
        face_hits = set()
        for face in faces:
            probe = open_descriptor(worker.keyring, face, enrolment_id)
            face_hits |= {hit.template_id for hit in worker.gallery.search(probe[None, :], 10)[0]}
        finger_hits = set()
        for finger in fingers:
            probe = open_features(worker.keyring, finger, enrolment_id)
            finger_hits |= {template_id for template_id, _ in worker.fingers.search(probe, 10)}
    return face_hits & face_ids, finger_hits & finger_ids


def applicant_templates(worker: Services, enrolment_id: str) -> tuple[set[int], set[int]]:
    with worker.sessions() as session:
        enrolment = session.scalars(select(Enrolment).where(Enrolment.public_id == enrolment_id)).one()
        faces = session.scalars(select(FaceTemplate.id).where(FaceTemplate.enrolment_id == enrolment.id)).all()
        fingers = session.scalars(select(FingerTemplate.id).where(FingerTemplate.enrolment_id == enrolment.id)).all()
    return set(faces), set(fingers)


def test_a_duplicate_decision_by_one_worker_takes_the_templates_out_of_the_others(
    client, keys, services, worker_b, opened
):
    first, second = opened
    everything = applicant_templates(services, second["id"])
    assert found(worker_b, second["id"]) == everything  # an open case: the applicant is in every gallery

    decide(client, keys, second["case_id"], "duplicate", duplicate_of=first["uin"])
    assert found(services, second["id"]) == (set(), set())
    catch_up(worker_b)
    assert found(worker_b, second["id"]) == (set(), set())
    assert not everything[0] & set(worker_b.gallery.ids().tolist())
    assert not everything[1] & set(worker_b.fingers.ids().tolist())


def test_a_first_not_duplicate_decision_leaves_the_templates_where_they_are(client, keys, services, worker_b, opened):
    second = opened[1]
    everything = applicant_templates(services, second["id"])
    decide(client, keys, second["case_id"], "not_duplicate")
    catch_up(worker_b)
    assert found(worker_b, second["id"]) == everything
    assert len(worker_b.gallery) == len(services.gallery) and len(worker_b.fingers) == len(services.fingers)


def test_a_change_to_not_duplicate_by_one_worker_makes_the_templates_searchable_in_the_others(
    client, keys, services, opened
):
    first, second = opened
    decide(client, keys, second["case_id"], "duplicate", duplicate_of=first["uin"])
    worker_b = build_services(services.settings)  # started while the applicant was out of the gallery
    try:
        assert found(worker_b, second["id"]) == (set(), set())
        change(client, keys, second["case_id"], "not_duplicate")
        catch_up(worker_b)
        assert found(worker_b, second["id"]) == applicant_templates(services, second["id"])
        assert found(services, second["id"]) == applicant_templates(services, second["id"])
    finally:
        worker_b.close()


def test_a_change_to_duplicate_by_one_worker_takes_the_templates_out_of_the_others(client, keys, services, opened):
    first, second = opened
    decide(client, keys, second["case_id"], "not_duplicate")
    worker_b = build_services(services.settings)
    try:
        assert found(worker_b, second["id"]) == applicant_templates(services, second["id"])
        change(client, keys, second["case_id"], "duplicate", duplicate_of=first["uin"])
        catch_up(worker_b)
        assert found(worker_b, second["id"]) == (set(), set())
        # ... and back again: every change is followed, not only the first one seen.
        change(client, keys, second["case_id"], "not_duplicate")
        catch_up(worker_b)
        assert found(worker_b, second["id"]) == applicant_templates(services, second["id"])
    finally:
        worker_b.close()


def test_a_fresh_start_follows_no_old_decision(client, keys, services, opened):
    """A start reconciles with the database, so the decisions before it are not replayed at its first catch-up."""
    first, second = opened
    decide(client, keys, second["case_id"], "duplicate", duplicate_of=first["uin"])
    change(client, keys, second["case_id"], "not_duplicate")
    worker_b = build_services(services.settings)
    try:
        with worker_b.sessions() as session:  # a replayed change to not duplicate would re-add its templates
            assert worker_b.gallery.catch_up(session) == 0 and worker_b.fingers.catch_up(session) == 0
        assert found(worker_b, second["id"]) == applicant_templates(services, second["id"])
    finally:
        worker_b.close()


@pytest.mark.postgres
def test_two_workers_on_postgresql_follow_each_others_decisions(tmp_path: Path, postgres_schema_url: str):
    """What ``civid serve --workers 2`` runs: two processes on one PostgreSQL database, each with its own indexes."""
    settings = make_settings(tmp_path, database_url=postgres_schema_url)
    worker_a = build_services(settings)
    try:
        keys = add_keys(worker_a)
        with TestClient(create_app(services=worker_a), raise_server_exceptions=False) as client:
            first, second = open_a_case(client, keys)
            worker_b = build_services(settings)
            try:
                everything = applicant_templates(worker_a, second["id"])
                decide(client, keys, second["case_id"], "duplicate", duplicate_of=first["uin"])
                catch_up(worker_b)
                assert found(worker_b, second["id"]) == (set(), set())
                change(client, keys, second["case_id"], "not_duplicate")
                catch_up(worker_b)
                assert found(worker_b, second["id"]) == everything
                change(client, keys, second["case_id"], "duplicate", duplicate_of=first["uin"])
                catch_up(worker_b)
                assert found(worker_b, second["id"]) == (set(), set())
            finally:
                worker_b.close()
    finally:
        worker_a.close()


def test_a_register_pair_decided_duplicate_by_one_worker_leaves_every_gallery(client, keys, services, worker_b):
    """A register-pair case (``civid abis dedup-bulk``) reuses the applicant's enrolment id; its decision is followed
    by the other workers as an enrolment case's is, and so is a change of it."""
    import numpy as np

    from civid.audit import Actor
    from enrollment import dedup_bulk
    from matcher.bulk_pairs import ScanOptions
    from models import CaseKind, DedupCase
    from tests.enrollment.bulk_register import fingers_of as register_fingers
    from tests.enrollment.bulk_register import near, register, unit

    rng = np.random.default_rng(11)
    face = unit(rng, 1)[0]
    earlier = register(services, face[None, :], {0: register_fingers(services, 300, 0, (2, 7))})[0]
    later = register(services, near(face, 0.98, rng)[None, :], {0: register_fingers(services, 300, 1, (2, 7))})[0]
    with services.sessions.begin() as session:  # names the API's Demographics accept (the register's carry digits)
        for enrolment_id, name in ((earlier, "Ada"), (later, "Adah")):
            session.get(Enrolment, enrolment_id).given_name = name  # type: ignore[union-attr]
    actor = Actor(None, "test", "admin")
    options = dedup_bulk.BulkOptions(ScanOptions(min_score=services.settings.dedup_threshold), llr_threshold=3.0)
    dedup_bulk.execute(services, actor, dedup_bulk.start_run(services, actor, options))
    with services.sessions() as session:
        case = session.scalars(
            select(DedupCase).where(DedupCase.kind == CaseKind.REGISTER_PAIR, DedupCase.enrolment_id == later)
        ).one()
        later_id = session.get(Enrolment, later).public_id  # type: ignore[union-attr]
        earlier_identity = session.get(Enrolment, earlier).identity_id  # type: ignore[union-attr]
    catch_up(worker_b)
    everything = applicant_templates(services, later_id)
    assert everything[0] and everything[1] and found(worker_b, later_id) == everything

    decide(client, keys, case.public_id, "duplicate")  # its only candidate (the register's UINs carry no check digit)
    catch_up(worker_b)
    assert found(worker_b, later_id) == (set(), set())
    assert not everything[0] & set(worker_b.gallery.ids().tolist())
    assert not everything[1] & set(worker_b.fingers.ids().tolist())
    with services.sessions() as session:
        assert session.get(Enrolment, later).identity_id == earlier_identity  # type: ignore[union-attr]

    change(client, keys, case.public_id, "not_duplicate")
    catch_up(worker_b)
    assert found(worker_b, later_id) == everything
