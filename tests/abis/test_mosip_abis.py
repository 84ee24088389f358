"""civid as MOSIP's ABIS, end to end over HTTP: MOSIP's own example requests (tests/abis/fixtures), CBEFF XML
served by a local data share, public-domain test photos and synthetic fingerprints (tests/synthetic_fingerprints.py).

Two references of one person (two photos of Obama, two impressions of the same synthetic fingers) and one of
another (Biden, other fingers) are inserted once for the module; each test then asks what MOSIP would ask."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from abis import datashare
from abis.messages import AbisFailure, FailureReason
from civid.audit import SYSTEM, verify_chain
from civid.auth import create_api_key
from models import AbisReference, AbisTemplate, AuditEvent
from server.app import create_app
from server.services import Services, build_services
from tests.abis.mosip import DataShare, cbeff, data_share, face_bir, finger_bir, message
from tests.conftest import add_keys, make_settings

OBAMA_FINGERS = {2: 101, 7: 102}
BIDEN_FINGERS = {2: 201, 7: 202}


def person_cbeff(photo: str, fingers: dict[int, int], impression: int, jpeg2000: bool = False) -> bytes:
    return cbeff(
        face_bir(photo, jpeg2000=jpeg2000),
        *(finger_bir(seed, impression, position, jpeg2000=jpeg2000) for position, seed in fingers.items()),
    )


class World:
    def __init__(self, services: Services, client: TestClient, share: DataShare, key: dict[str, str]) -> None:
        self.services, self.client, self.share, self.key = services, client, share, key
        self.ids: dict[str, str] = {}

    def send(self, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = self.client.post("/v1/abis", json=body, headers=self.key if headers is None else headers)
        assert response.status_code == 200, response.text
        return response.json()

    def insert(self, name: str, document: bytes) -> dict[str, Any]:
        self.ids[name] = str(uuid.uuid4())
        url = self.share.publish(document)
        return self.send(message("insert", referenceId=self.ids[name], referenceURL=url))

    def identify(self, name: str, **fields: Any) -> dict[str, Any]:
        fields.setdefault("gallery", None)
        fields.setdefault("flags", None)
        body = {k: v for k, v in message("identify", referenceId=self.ids[name], **fields).items() if v is not None}
        return self.send(body)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    with data_share() as share:
        settings = make_settings(
            tmp_path_factory.mktemp("abis"), abis_datashare_urls=[share.prefix], abis_datashare_allow_private=True
        )
        services = build_services(settings)
        with services.sessions.begin() as session:
            _, secret = create_api_key(session, "MOSIP queue bridge", "abis", SYSTEM)
        with TestClient(create_app(services=services), raise_server_exceptions=False) as client:
            world = World(services, client, share, {"Authorization": f"Bearer {secret}"})
            world.keys = add_keys(services)  # type: ignore[attr-defined]
            for name, document in (
                ("obama_a", person_cbeff("obama_2012_portrait.jpg", OBAMA_FINGERS, 0)),
                ("obama_b", person_cbeff("obama_2010_blue_room.jpg", OBAMA_FINGERS, 1, jpeg2000=True)),
                ("biden", person_cbeff("biden_2010_blue_room.jpg", BIDEN_FINGERS, 0)),
            ):
                answer = world.insert(name, document)
                assert answer["returnValue"] == "1", (name, answer)
            yield world
        services.close()


def candidates(answer: dict[str, Any]) -> list[str]:
    assert answer["returnValue"] == "1", answer
    listed = answer["candidateList"]
    assert listed["count"] == str(len(listed["candidates"]))
    return [c["referenceId"] for c in listed["candidates"]]


def test_insert_answers_in_mosips_shape_and_stores_sealed_templates(world: World) -> None:
    answer = world.insert("collins", cbeff(face_bir("collins_nasa_portrait.png")))
    assert set(answer) == {"id", "requestId", "responsetime", "returnValue"}
    assert answer["id"] == "mosip.abis.insert" and answer["returnValue"] == "1"
    assert answer["responsetime"].endswith("Z") and len(answer["responsetime"]) == 24
    with world.services.sessions() as session:
        reference = session.scalars(
            select(AbisReference).where(AbisReference.reference_id == world.ids["obama_b"])
        ).one()
        rows = session.scalars(select(AbisTemplate).where(AbisTemplate.reference_pk == reference.id)).all()
    assert sorted((r.modality, r.position) for r in rows) == [("face", 0), ("finger", 2), ("finger", 7)]
    assert all(r.key_id == world.services.keyring.active and len(r.nonce) == 12 for r in rows)


def test_identify_finds_the_mate_and_not_the_other_person(world: World) -> None:
    answer = world.identify("obama_b")
    assert candidates(answer) == [world.ids["obama_a"]]
    best = answer["candidateList"]["candidates"][0]
    assert {m["biometricType"] for m in best["modalities"]} == {"FID", "FIR"}
    assert float(best["analytics"]["llr"]) >= world.services.settings.dedup_llr_threshold
    assert candidates(world.identify("biden")) == []


def test_identify_searches_only_the_given_gallery(world: World) -> None:
    only_biden = {"referenceIds": [{"referenceId": world.ids["biden"]}, {"referenceId": str(uuid.uuid4())}]}
    assert candidates(world.identify("obama_b", gallery=only_biden)) == []
    with_mate = {"referenceIds": [{"referenceId": world.ids["obama_a"]}]}
    assert candidates(world.identify("obama_b", gallery=with_mate)) == [world.ids["obama_a"]]


def test_target_fpir_raises_the_threshold_by_its_decibels(world: World) -> None:
    strict = world.identify("obama_b", flags={"targetFPIR": "30", "maxResults": "10"})
    llr = float(strict["candidateList"]["candidates"][0]["analytics"]["llr"])
    threshold = float(strict["candidateList"]["analytics"]["threshold"])
    assert threshold > 3.0 and llr >= threshold  # 30 -> LLR 3 plus log10 of the gallery searched
    beyond = world.identify("obama_b", flags={"targetFPIR": str(round(10 * llr) + 10)})
    assert candidates(beyond) == []
    assert len(candidates(world.identify("obama_b", flags={"maxResults": "1"}))) == 1


def test_a_second_insert_of_one_reference_id_is_refused_with_reason_10(world: World) -> None:
    url = world.share.publish(person_cbeff("biden_2010_blue_room.jpg", BIDEN_FINGERS, 1))
    answer = world.send(message("insert", referenceId=world.ids["biden"], referenceURL=url))
    assert (answer["returnValue"], answer["failureReason"]) == ("2", "10")


def test_delete_removes_the_reference_from_identify_and_the_count(world: World) -> None:
    assert world.insert("obama_c", person_cbeff("obama_2012_portrait.jpg", OBAMA_FINGERS, 2))["returnValue"] == "1"
    count = int(world.send(message("referenceCount"))["count"])
    assert world.ids["obama_c"] in candidates(world.identify("obama_b"))
    answer = world.send(message("delete", referenceId=world.ids["obama_c"]))
    assert answer == {**answer, "id": "mosip.abis.delete", "returnValue": "1"}
    assert world.ids["obama_c"] not in candidates(world.identify("obama_b"))
    assert int(world.send(message("referenceCount"))["count"]) == count - 1
    with world.services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AbisReference)) == count - 1
    again = world.send(message("delete", referenceId=world.ids["obama_c"]))
    assert (again["returnValue"], again["failureReason"]) == ("2", "12")


def test_reference_count_ping_and_pending_jobs(world: World) -> None:
    with world.services.sessions() as session:
        held = session.scalar(select(func.count()).select_from(AbisReference))
    count = world.send(message("referenceCount"))
    assert (count["id"], count["returnValue"], count["count"]) == ("mosip.abis.referenceCount", "1", str(held))
    assert world.send(message("ping"))["returnValue"] == "1"
    pending = world.send(message("pendingJobs"))
    assert (pending["returnValue"], pending["jobscount"]) == ("1", "0")


def test_unknown_reference_id_is_reason_12(world: World) -> None:
    answer = world.send(message("identify", referenceId=str(uuid.uuid4()), gallery=None) | {"gallery": {}})
    assert (answer["id"], answer["returnValue"], answer["failureReason"]) == ("mosip.abis.identify", "2", "12")


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"<BIR><BIR><BDBInfo>", "16"),  # not well-formed
        (b"<notcbeff/>", "16"),
        (cbeff(), "11"),  # a BIR with no BDB
        (
            b'<?xml version="1.0"?><!DOCTYPE BIR [<!ENTITY x SYSTEM "file:///etc/passwd">]><BIR>&x;</BIR>',
            "16",  # an external entity is never resolved: the document is refused
        ),
        (cbeff(face_bir("collins_nasa_portrait.png").replace("<BDB>", "<BDB>AAAA")), "16"),  # a BDB that is no record
    ],
)
def test_a_bad_cbeff_is_refused_with_mosips_reason(world: World, document: bytes, reason: str) -> None:
    answer = world.insert("bad", document)
    assert (answer["returnValue"], answer["failureReason"]) == ("2", reason)
    with world.services.sessions() as session:
        assert (
            session.scalars(select(AbisReference).where(AbisReference.reference_id == world.ids["bad"])).first() is None
        )


def test_a_reference_whose_samples_all_fail_quality_is_reason_18(world: World) -> None:
    import cv2
    import numpy as np

    from abis import iso_images
    from tests.abis.mosip import _bir

    blank = np.full((300, 300), 200, np.uint8)
    ok, png = cv2.imencode(".png", blank)
    record = iso_images.encode_finger(png.tobytes(), 300, 300, 2)
    answer = world.insert("blank", cbeff(_bir("Finger", 7, "Right IndexFinger", record)))
    assert (answer["returnValue"], answer["failureReason"]) == ("2", "18")


def test_unreachable_or_expired_data_share_is_reason_7_or_17(world: World) -> None:
    missing = world.send(message("insert", referenceId=str(uuid.uuid4()), referenceURL=world.share.prefix + "gone"))
    assert missing["failureReason"] == "7"  # the data share's own "Data share not found" error body
    world.share.documents["/v1/datashare/get/expired"] = (
        b'{"errors":[{"errorCode":"DAT-SER-006","message":"Data share usage expired"}]}'
    )
    expired = world.send(message("insert", referenceId=str(uuid.uuid4()), referenceURL=world.share.prefix + "expired"))
    assert expired["failureReason"] == "17"
    closed = world.share.prefix.replace(str(world.share.port), "1")  # nothing listens on port 1
    settings = world.services.settings.model_copy(update={"abis_datashare_urls": [closed]})
    with pytest.raises(AbisFailure) as refused:
        datashare.fetch(closed + "x", settings)
    assert refused.value.reason == FailureReason.UNABLE_TO_FETCH_BIOMETRICS


def test_a_reference_url_outside_the_data_share_or_to_a_private_address_is_never_fetched(world: World) -> None:
    before = len(world.share.requested)
    elsewhere = f"http://127.0.0.1:{world.share.port}/admin/secrets"  # same host, outside the data share's path
    lookalike = f"http://127.0.0.1.nip.io:{world.share.port}/v1/datashare/get/x"
    for url in (elsewhere, lookalike, "http://169.254.169.254/latest/meta-data/", "file:///etc/passwd"):
        answer = world.send(message("insert", referenceId=str(uuid.uuid4()), referenceURL=url))
        assert (answer["returnValue"], answer["failureReason"]) == ("2", "7"), url
    # An allowed prefix that resolves to a private address is refused at connect time unless private ones are allowed.
    url = world.share.publish(cbeff(face_bir("collins_nasa_portrait.png")))
    strict = world.services.settings.model_copy(update={"abis_datashare_allow_private": False})
    with pytest.raises(AbisFailure) as refused:
        datashare.fetch(url, strict)
    assert refused.value.reason == FailureReason.UNABLE_TO_FETCH_BIOMETRICS and "non-public" in refused.value.detail
    assert len(world.share.requested) == before  # the data share never saw any of these


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"requestId": None}, "6"),
        ({"requesttime": None}, "9"),
        ({"requesttime": "29/03/2020 07:01"}, "15"),
        ({"version": "0.9"}, "13"),
        ({"id": "mosip.abis.conversion"}, "14"),
        ({"referenceId": None}, "5"),
        ({"referenceURL": None}, "8"),
        ({"referenceURL": 42}, "4"),
    ],
)
def test_a_malformed_message_gets_mosips_failure_reason(world: World, change: dict, reason: str) -> None:
    body = {k: v for k, v in (message("insert") | change).items() if v is not None}
    answer = world.send(body)
    assert (answer["returnValue"], answer["failureReason"]) == ("2", reason)
    assert answer.get("requestId") == body.get("requestId")


def test_a_body_that_is_not_json_is_reason_4(world: World) -> None:
    response = world.client.post("/v1/abis", content=b"not json", headers=world.key)
    assert response.status_code == 200
    assert (response.json()["returnValue"], response.json()["failureReason"]) == ("2", "4")


def test_only_an_abis_key_may_call(world: World) -> None:
    assert world.client.post("/v1/abis", json=message("ping")).status_code == 401
    officer = world.client.post("/v1/abis", json=message("ping"), headers=world.keys.officer)  # type: ignore[attr-defined]
    assert officer.status_code == 403
    assert officer.headers["content-type"].startswith("application/problem+json")


def test_every_request_is_audited_on_the_chain(world: World) -> None:
    body = message("ping")
    world.send(body)
    failed = message("delete", referenceId=str(uuid.uuid4()))
    world.send(failed)
    world.services.audit_log.sequencer.now()  # every event on the log, not only those the thread reached yet
    with world.services.sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("abis.%"))).all()
        assert verify_chain(session)[1] is None
    by_request = {e.detail.get("request_id"): e for e in events}
    assert by_request[body["requestId"]].action == "abis.ping"
    assert by_request[body["requestId"]].actor_role == "abis"
    assert by_request[failed["requestId"]].detail["failure_reason"] == "12"
    inserts = [e for e in events if e.action == "abis.insert" and e.detail["return_value"] == "1"]
    assert {e.subject_id for e in inserts} >= {world.ids["obama_a"], world.ids["obama_b"], world.ids["biden"]}


def test_the_data_share_is_read_with_the_auth_managers_token_renewed_when_refused(tmp_path) -> None:
    from abis.mosip_auth import MosipToken

    with data_share() as share:
        share.credentials = ("mosip-abis-client", "abc123")
        url = share.publish(b"<BIR/>")
        secret = tmp_path / "secret-key"
        secret.write_text("abc123\n")
        settings = make_settings(
            tmp_path,
            abis_datashare_urls=[share.prefix],
            abis_datashare_allow_private=True,
            abis_mosip_auth_url=share.auth_url,
            abis_mosip_client_id="mosip-abis-client",
            abis_mosip_secret_key_file=secret,
        )
        token = MosipToken(settings)
        assert datashare.fetch(url, settings, token) == b"<BIR/>"
        assert datashare.fetch(url, settings, token) == b"<BIR/>"
        assert share.sign_ins == 1  # the token is kept
        share.valid_token = "expired by MOSIP"
        assert datashare.fetch(url, settings, token) == b"<BIR/>"
        assert share.sign_ins == 2  # refused once (KER-ATH-401), signed in again
        with pytest.raises(AbisFailure) as unsigned:
            datashare.fetch(url, settings)  # without the token: the data share's KER-ATH-401 is reason 7
        assert unsigned.value.reason == FailureReason.UNABLE_TO_FETCH_BIOMETRICS
        secret.write_text("wrong")
        with pytest.raises(AbisFailure) as refused:
            datashare.fetch(url, settings, MosipToken(settings))
        assert (
            refused.value.reason == FailureReason.UNABLE_TO_FETCH_BIOMETRICS and "credentials" in refused.value.detail
        )


def test_two_concurrent_inserts_of_one_reference_id_store_it_once(world: World) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from abis.routes import abis_of

    reference_id = str(uuid.uuid4())
    bodies = [
        message("insert", referenceId=reference_id, referenceURL=world.share.publish(cbeff(face_bir(photo))))
        for photo in ("collins_nasa_portrait.png", "biden_2010_blue_room.jpg")
    ]
    abis = abis_of(world.client.app)  # type: ignore[arg-type]
    actor = SYSTEM
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda body: abis.handle(body, actor), bodies))
    assert sorted((a["returnValue"], a.get("failureReason")) for a in answers) == [("1", None), ("2", "10")]
    with world.services.sessions() as session:
        stored = session.scalars(select(AbisReference).where(AbisReference.reference_id == reference_id)).all()
        assert len(stored) == 1
        assert session.scalar(select(func.count()).where(AbisTemplate.reference_pk == stored[0].id)) == 1
    world.send(message("delete", referenceId=reference_id))


def test_reference_templates_follow_a_key_rotation_and_still_match(world: World) -> None:
    # Last in the module: it rotates the module's key ring.
    from abis.references import reencrypt

    old = world.services.keyring.active
    world.services.keyring.rotate()
    with world.services.sessions.begin() as session:
        moved = reencrypt(world.services.keyring, session)
    with world.services.sessions() as session:
        keys = set(session.scalars(select(AbisTemplate.key_id)))
        held = session.scalar(select(func.count()).select_from(AbisTemplate))
    assert moved == held and keys == {world.services.keyring.active} and old not in keys
    world.services.keyring.retire(old)
    assert candidates(world.identify("obama_b")) == [world.ids["obama_a"]]
