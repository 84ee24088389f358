"""1:1 verification and 1:N identification through the HTTP API, with their audit events."""

from __future__ import annotations

import json

import cv2
import numpy as np
from sqlalchemy import select

from civid.uin import verhoeff_check_digit
from models import AuditEvent
from tests.conftest import (
    assert_problem,
    enrol,
    fixture_bytes,
    jpeg_bytes,
    load_rgb,
    seeded_fixtures,
    without_request_id,
)


def enrol_obama(client, keys) -> str:
    body = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], given_name="Barack", family_name="Obama").json()
    assert body["status"] == "issued", body
    return body["uin"]


seed, settings, keys, obama = seeded_fixtures(enrol_obama, "obama")


def photo_file(name: str) -> dict:
    kind = "image/png" if name.endswith(".png") else "image/jpeg"
    return {"photo": (name, fixture_bytes(name), kind)}


def verify(client, headers, uin: str, files: dict):
    return client.post("/v1/verify", headers=headers, data={"uin": uin}, files=files)


def events(services, action: str) -> list[AuditEvent]:
    with services.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def assert_no_vector(detail: dict) -> None:
    """An audit detail holds identifiers and scores, never a descriptor (a list of 128 numbers)."""

    def walk(value: object) -> None:
        if isinstance(value, list):
            assert len(value) < 128 or not all(isinstance(v, (int, float)) for v in value)
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(detail)
    assert len(json.dumps(detail)) < 500


# --- 1:1 -------------------------------------------------------------------------------------------


def test_same_person_from_another_photo_verifies_as_a_match(client, keys, services, obama):
    response = verify(client, keys.officer, obama, photo_file("obama_2010_blue_room.jpg"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["uin"] == obama and body["match"] is True
    assert body["score"] >= body["threshold"] == services.settings.verify_threshold
    assert body["quality"]["passed"] is True


def test_another_person_does_not_verify(client, keys, obama):
    response = verify(client, keys.adjudicator, obama, photo_file("biden_2010_blue_room.jpg"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["match"] is False and body["score"] < body["threshold"]


def test_verify_accepts_the_uin_typed_with_spaces(client, keys, obama):
    spaced = f"{obama[:4]} {obama[4:7]} {obama[7:]}"
    response = verify(client, keys.officer, spaced, photo_file("obama_2010_blue_room.jpg"))
    assert response.status_code == 200 and response.json()["uin"] == obama


def test_unknown_uin_with_a_valid_check_digit_is_a_404(client, keys, obama):
    body = "123456789" if obama[:9] != "123456789" else "987654321"
    unknown = body + verhoeff_check_digit(body)
    problem = assert_problem(verify(client, keys.officer, unknown, photo_file("obama_2010_blue_room.jpg")), 404)
    assert unknown in problem["detail"]


def test_uin_with_a_wrong_check_digit_is_a_422(client, keys, obama):
    wrong = obama[:-1] + str((int(obama[-1]) + 1) % 10)
    problem = assert_problem(verify(client, keys.officer, wrong, photo_file("obama_2010_blue_room.jpg")), 422)
    assert problem["type"].endswith("/invalid-uin")


def test_probe_photo_without_a_face_is_a_422_problem(client, keys, services, obama):
    noise = np.random.default_rng(3).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    response = verify(client, keys.officer, obama, {"photo": ("n.jpg", jpeg_bytes(noise), "image/jpeg")})
    problem = assert_problem(response, 422)
    assert "no face" in problem["detail"]
    assert problem["quality"]["faces_found"] == 0
    assert events(services, "biometric.verify") == []


def test_probe_photo_that_is_not_an_image_is_a_415_problem(client, keys, obama):
    assert_problem(verify(client, keys.officer, obama, {"photo": ("x.jpg", b"%PDF-1.4\n" * 100, "image/jpeg")}), 415)


def test_blurred_probe_is_refused_rather_than_compared(client, keys, obama):
    blurred = cv2.GaussianBlur(load_rgb("obama_2010_blue_room.jpg"), (0, 0), 3)
    response = verify(client, keys.officer, obama, {"photo": ("b.jpg", jpeg_bytes(blurred), "image/jpeg")})
    problem = assert_problem(response, 422)
    assert [i["code"] for i in problem["quality"]["issues"]] == ["blurred"]


def test_each_verification_writes_an_audit_event_without_the_vector(client, keys, services, obama):
    verify(client, keys.officer, obama, photo_file("obama_2010_blue_room.jpg"))
    verify(client, keys.officer, obama, photo_file("biden_2010_blue_room.jpg"))
    recorded = events(services, "biometric.verify")
    assert [(e.subject_id, e.detail["match"]) for e in recorded] == [(obama, True), (obama, False)]
    assert all(e.actor_name == "test officer" for e in recorded)
    for event in recorded:
        assert set(without_request_id(event.detail)) == {
            "match",
            "modalities",
            "face_score",
            "finger_scores",
            "via_vid",
        }
        assert_no_vector(event.detail)


def test_a_duplicate_attempts_photo_never_becomes_a_template_of_the_identity(client, keys, obama):
    second = enrol(client, keys.officer2, ["obama_2010_blue_room.jpg"]).json()
    decided = client.post(
        f"/v1/cases/{second['case_id']}/decision",
        headers=keys.adjudicator,
        json={"decision": "duplicate", "comment": "same person"},
    )
    assert decided.status_code == 200, decided.text
    body = verify(client, keys.officer, obama, photo_file("obama_2010_blue_room.jpg")).json()
    # Compared with the record's 2012 portrait only: the attempt's own photo would score 1.0 against itself.
    assert body["match"] is True and body["score"] < 0.99


# --- 1:N -------------------------------------------------------------------------------------------


def test_identify_ranks_the_enrolled_person_first(client, keys, services, obama):
    enrol(client, keys.officer, ["biden_2010_blue_room.jpg"], given_name="Joseph", family_name="Biden")
    enrol(client, keys.officer, ["collins_nasa_portrait.png"], given_name="Eileen", family_name="Collins")
    response = client.post("/v1/identify", headers=keys.adjudicator, files=photo_file("obama_2010_blue_room.jpg"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["gallery_size"] == 3
    assert body["candidates"][0]["rank"] == 1
    assert body["candidates"][0]["uin"] == obama and body["candidates"][0]["family_name"] == "Obama"
    assert all(c["score"] >= body["threshold"] for c in body["candidates"])


def test_identify_finds_no_candidate_for_a_stranger(client, keys, obama):
    enrol(client, keys.officer, ["collins_nasa_portrait.png"], family_name="Collins")
    response = client.post("/v1/identify", headers=keys.adjudicator, files=photo_file("biden_2010_blue_room.jpg"))
    assert response.status_code == 200, response.text
    assert response.json()["candidates"] == []


def test_identify_does_not_report_a_pending_applicant(client, keys, obama):
    enrol(client, keys.officer2, ["obama_2010_blue_room.jpg"])  # opens a case
    body = client.post("/v1/identify", headers=keys.adjudicator, files=photo_file("obama_2010_blue_room.jpg")).json()
    assert [c["uin"] for c in body["candidates"]] == [obama]


def test_identify_refuses_max_candidates_out_of_range(client, keys, obama):
    response = client.post(
        "/v1/identify",
        headers=keys.adjudicator,
        data={"max_candidates": "0"},
        files=photo_file("obama_2010_blue_room.jpg"),
    )
    assert_problem(response, 422)


def test_each_identification_writes_an_audit_event_without_the_vector(client, keys, services, obama):
    client.post("/v1/identify", headers=keys.adjudicator, files=photo_file("obama_2010_blue_room.jpg"))
    client.post("/v1/identify", headers=keys.adjudicator, files=photo_file("biden_2010_blue_room.jpg"))
    recorded = events(services, "biometric.identify")
    assert [without_request_id(e.detail) for e in recorded] == [
        {"candidates": 1, "uins": [obama]},
        {"candidates": 0, "uins": []},
    ]
    assert all(e.actor_role == "adjudicator" for e in recorded)
    for event in recorded:
        assert_no_vector(event.detail)
