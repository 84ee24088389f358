"""Biometric update through the API (real photos, synthetic fingers): a new photo of the same person replaces the
face (the old template leaves the gallery, verification and identification still find him, once); another
person's face is refused 1:1 with nothing changed; a finger of someone else at a position never enrolled (after
the person's face verifies) is refused 1:N naming no one, and so is a face matching a pending application; a
healed finger is added, a finger re-captured; a suspended identity and bad input are refused with nothing stored.
Races: test_biometric_update_race.py."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from civid.uin import verhoeff_check_digit
from models import AuditEvent, Enrolment, FaceTemplate, FingerTemplate, Identity, Notification
from tests.conftest import assert_problem, enrol, fixture_bytes, seeded_fixtures
from tests.enrollment.test_verification import assert_no_vector
from tests.synthetic_fingerprints import impressions, png_bytes

OBAMA_FINGERS = {1: 111}
BIDEN_FINGERS = {2: 211, 7: 212}
_MAIL = {"smtp_host": "127.0.0.1", "smtp_port": 2525}  # never reached: the outbox only queues


def finger(seed: int, impression: int) -> bytes:
    return png_bytes(impressions(seed, impression + 1)[impression])


def populate(client, keys) -> dict[str, str]:
    people = {}
    for name, photo, fingers in (
        ("obama", "obama_2012_portrait.jpg", OBAMA_FINGERS),
        ("biden", "biden_2010_blue_room.jpg", BIDEN_FINGERS),
    ):
        body = enrol(
            client,
            keys.officer,
            [photo],
            fingers={p: finger(s, 0) for p, s in fingers.items()},
            given_name=name.title(),
            family_name=name.title(),
            email=f"{name}@example.org",
        ).json()
        assert body["status"] == "issued", body
        people[name] = body["uin"]
    return people


seed, settings, keys, people = seeded_fixtures(populate, "people", **_MAIL)


def update(client, headers, uin: str, photo: str | None = None, fingers: dict[int, bytes] | None = None):
    files = [("fingers", (f"finger-{p}.png", image, "image/png")) for p, image in (fingers or {}).items()]
    if photo is not None:
        files.append(("photo", (photo, fixture_bytes(photo), "image/jpeg")))
    data = {"finger_positions": json.dumps(list(fingers))} if fingers else {}
    return client.post(f"/v1/identities/{uin}/biometrics", headers=headers, data=data, files=files)


def templates(services, uin: str) -> tuple[list[tuple[int, bool]], dict[int, int]]:
    """The identity's face templates (id, in gallery) and finger template ids by position."""
    with services.sessions() as db:
        record = db.scalars(
            select(Enrolment).join(Identity, Enrolment.identity_id == Identity.id).where(Identity.uin == uin)
        ).one()
        faces = db.execute(
            select(FaceTemplate.id, FaceTemplate.in_gallery)
            .where(FaceTemplate.enrolment_id == record.id)
            .order_by(FaceTemplate.id)
        ).all()
        fingers = db.execute(
            select(FingerTemplate.position, FingerTemplate.id).where(FingerTemplate.enrolment_id == record.id)
        ).all()
    return [(i, g) for i, g in faces], {p: i for p, i in fingers}


def events(services, action: str) -> list[AuditEvent]:
    with services.sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_a_new_photo_of_the_same_person_replaces_the_face(client, keys, services, people):
    (old_id, _), *_ = templates(services, people["obama"])[0]
    response = update(client, keys.officer, people["obama"], photo="obama_2010_blue_room.jpg")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "applied" and body["face_replaced"] is True
    assert body["fingers_replaced"] == body["fingers_added"] == []
    [face] = body["checks"]
    assert face["modality"] == "face" and face["match"] is True and face["score"] >= face["threshold"]
    faces, _ = templates(services, people["obama"])
    assert faces == [(old_id, False), (faces[1][0], True)]
    held = set(services.gallery.ids().tolist())
    assert old_id not in held and faces[1][0] in held

    verified = client.post(
        "/v1/verify",
        headers=keys.officer,
        data={"uin": people["obama"]},
        files={"photo": ("p.jpg", fixture_bytes("obama_2012_portrait.jpg"), "image/jpeg")},
    )
    assert verified.status_code == 200 and verified.json()["match"] is True, verified.text
    found = client.post(
        "/v1/identify",
        headers=keys.adjudicator,
        files={"photo": ("p.jpg", fixture_bytes("obama_2010_blue_room.jpg"), "image/jpeg")},
    ).json()
    assert [c["uin"] for c in found["candidates"]] == [people["obama"]]  # once, by the new template

    [done] = events(services, "identity.biometrics_updated")
    assert done.subject_id == people["obama"]
    assert done.detail["modalities"] == ["face"] and done.detail["face_replaced"] is True
    assert_no_vector(done.detail)
    with services.sessions() as db:  # the person is told their biometrics were re-captured
        told = db.scalars(select(Notification).where(Notification.kind == "identity_updated")).all()
    assert [n.address for n in told] == ["obama@example.org"] and "(face photo)" in told[0].body


def test_another_persons_face_is_refused_one_to_one_and_nothing_changes(client, keys, services, people):
    before = templates(services, people["obama"])
    response = update(client, keys.officer, people["obama"], photo="biden_2010_blue_room.jpg")
    body = assert_problem(response, 422)
    assert body["type"].endswith("/biometric-mismatch")
    assert body["checks"][0]["match"] is False
    assert templates(services, people["obama"]) == before
    [refused] = events(services, "identity.biometric_update_refused")
    assert refused.detail["reason"] == "biometric_mismatch" and refused.detail["modalities"] == ["face"]
    assert events(services, "identity.biometrics_updated") == []


def test_another_persons_finger_at_a_new_position_is_refused_as_a_suspected_duplicate(client, keys, services, people):
    # Realistic fraud: the holder's own face verifies, and someone else's fingers are offered as fingers never
    # enrolled (2 and 7), with the holder's own finger 1. The 1:1 step has nothing to compare 2 and 7 with; the
    # 1:N step finds Biden's (two fingers: one alone never reaches the dedup threshold, finger_llr_cap).
    before = templates(services, people["obama"])
    offered = {1: finger(111, 1), 2: finger(211, 1), 7: finger(212, 1)}
    response = update(client, keys.officer, people["obama"], photo="obama_2010_blue_room.jpg", fingers=offered)
    body = assert_problem(response, 409)
    assert body["type"].endswith("/duplicate-suspected") and body["modalities"] == ["fingers 1, 2, 7", "fingers 2, 7"]
    assert people["biden"] not in response.text
    assert templates(services, people["obama"]) == before
    [refused] = events(services, "identity.biometric_update_refused")
    assert refused.detail["reason"] == "duplicate_suspected"
    assert refused.detail["matched"] == [{"uin": people["biden"], "searches": body["modalities"]}]


def test_a_face_matching_a_pending_application_is_refused_until_its_case_is_decided(client, keys, services, people):
    # The face step of 1:N: someone applied again with Obama's face under another name (a case is open). Until an
    # adjudicator decides it, no update of Obama's face goes through: the application is someone else's record.
    applied = enrol(client, keys.officer2, ["obama_2012_portrait.jpg"], given_name="Barry", family_name="Soetoro")
    assert applied.json()["status"] == "pending_adjudication", applied.text
    before = templates(services, people["obama"])
    response = update(client, keys.officer, people["obama"], photo="obama_2010_blue_room.jpg")
    body = assert_problem(response, 409)
    assert body["modalities"] == ["face"] and applied.json()["id"] not in response.text
    assert templates(services, people["obama"]) == before
    [refused] = events(services, "identity.biometric_update_refused")
    assert refused.detail["matched"] == [{"enrolment": applied.json()["id"], "searches": ["face"]}]


def test_a_healed_finger_is_added_with_a_verified_face_and_an_enrolled_finger_recaptured(
    client, keys, services, people
):
    added = update(client, keys.officer, people["obama"], photo="obama_2010_blue_room.jpg", fingers={7: finger(113, 0)})
    assert added.status_code == 200, added.text
    assert added.json()["fingers_added"] == [7] and added.json()["face_replaced"] is True
    _, fingers = templates(services, people["obama"])
    old_thumb = fingers[1]

    recaptured = update(client, keys.adjudicator, people["obama"], fingers={1: finger(111, 1)})
    assert recaptured.status_code == 200, recaptured.text
    assert recaptured.json()["fingers_replaced"] == [1] and recaptured.json()["face_replaced"] is False
    _, fingers = templates(services, people["obama"])
    assert set(fingers) == {1, 7} and fingers[1] != old_thumb
    held = set(services.fingers.ids().tolist())
    assert old_thumb not in held and {fingers[1], fingers[7]} <= held
    verified = client.post(
        "/v1/verify",
        headers=keys.officer,
        data={"uin": people["obama"], "finger_positions": "[7]"},
        files={"fingers": ("f.png", finger(113, 1), "image/png")},
    )
    assert verified.status_code == 200 and verified.json()["match"] is True, verified.text
    with services.sessions() as db:
        record = db.scalars(
            select(Enrolment)
            .join(Identity, Enrolment.identity_id == Identity.id)
            .where(Identity.uin == people["obama"])
        ).one()
        assert [r["position"] for r in record.fingerprints] == [1, 7]


def test_a_new_finger_without_a_verifying_face_or_a_wrong_enrolled_finger_is_refused(client, keys, services, people):
    before = templates(services, people["obama"])
    alone = assert_problem(update(client, keys.officer, people["obama"], fingers={7: finger(113, 0)}), 422)
    assert alone["type"].endswith("/biometric-mismatch") and "never enrolled" in alone["detail"]
    wrong = assert_problem(update(client, keys.officer, people["obama"], fingers={1: finger(211, 1)}), 422)
    assert wrong["type"].endswith("/biometric-mismatch")
    assert templates(services, people["obama"]) == before
    assert len(events(services, "identity.biometric_update_refused")) == 2


def test_a_suspended_identity_and_bad_input_are_refused_with_nothing_stored(client, keys, services, people):
    uin = people["obama"]
    before = templates(services, uin)
    with services.sessions() as db:
        audited = db.scalar(select(func.count()).select_from(AuditEvent))
    assert_problem(update(client, keys.officer, uin), 422)  # nothing presented
    assert_problem(update(client, keys.officer, "4058075260", photo="obama_2010_blue_room.jpg"), 422)  # check digit
    unknown = "405807526" + verhoeff_check_digit("405807526")
    assert_problem(update(client, keys.officer, unknown, photo="obama_2010_blue_room.jpg"), 404)
    assert_problem(update(client, keys.auditor, uin, photo="obama_2010_blue_room.jpg"), 403)
    not_an_image = client.post(
        f"/v1/identities/{uin}/biometrics",
        headers=keys.officer,
        files={"photo": ("p.jpg", b"not a jpeg at all", "image/jpeg")},
    )
    assert assert_problem(not_an_image, 415)["type"].endswith("/unsupported-media-type")
    mismatched = client.post(
        f"/v1/identities/{uin}/biometrics",
        headers=keys.officer,
        data={"finger_positions": "[1, 7]"},
        files={"fingers": ("f.png", finger(111, 1), "image/png")},
    )
    assert_problem(mismatched, 422)
    with services.sessions.begin() as db:
        assert db.scalar(select(func.count()).select_from(AuditEvent)) == audited  # nothing looked at, nothing told
        db.scalars(select(Identity).where(Identity.uin == uin)).one().status = "suspended"
    suspended = assert_problem(update(client, keys.officer, uin, photo="obama_2010_blue_room.jpg"), 409)
    assert "suspended" in suspended["detail"]
    assert templates(services, uin) == before
