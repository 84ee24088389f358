"""Children and guardians at the desk (issue #16 item 5), on real photos: a minor is enrolled only with a guardian
verified 1:1 (face) against the guardian's record, a small child with the face only and the fingers owed at a
later biometric update, and the guardian is linked to the child when the child's UIN is issued — never when the
verification fails (nothing stored), nor for a child decided a duplicate."""

from __future__ import annotations

import json
import threading
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from enrollment.guardianship import age_on, fingers_due_on, majority_on
from enrollment.uin import generate_uin
from models import AuditEvent, Enrolment, Guardianship, Identity
from server.app import create_app
from server.services import build_services
from tests.conftest import (
    add_keys,
    assert_problem,
    enrol,
    fixture_bytes,
    make_settings,
    person,
    seeded_fixtures,
    stored_counts,
)
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture
from tests.synthetic_fingerprints import impressions, png_bytes


def born_years_ago(years: int) -> str:
    today = date.today()
    return date(today.year - years, today.month, min(today.day, 28)).isoformat()


def populate(client, keys) -> dict[str, str]:
    obama = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], given_name="Barack", family_name="Obama").json()
    biden = enrol(client, keys.officer, ["biden_2010_blue_room.jpg"], given_name="Joseph", family_name="Biden").json()
    assert obama["status"] == biden["status"] == "issued", (obama, biden)
    return {"obama": obama["uin"], "biden": biden["uin"]}


seed, settings, keys, people = seeded_fixtures(populate, "people")


def enrol_child(
    client,
    headers,
    born: str,
    guardian_uin: str | None = None,
    guardian_photo: str | None = "obama_2010_blue_room.jpg",
    photo: str = "collins_nasa_portrait.png",
    fingers: dict[int, bytes] | None = None,
    **form: str,
):
    """POST a child's enrolment with the guardian's UIN and the guardian's face taken at the desk."""
    data = {"demographics": json.dumps(person(given_name="Mike", family_name="Collins", date_of_birth=born)), **form}
    kind = "image/png" if photo.endswith(".png") else "image/jpeg"
    files = [("photos", (photo, fixture_bytes(photo), kind))]
    if guardian_uin is not None:
        data["guardian_uin"] = guardian_uin
    if guardian_uin is not None and guardian_photo is not None:
        files.append(("guardian_photo", (guardian_photo, fixture_bytes(guardian_photo), "image/jpeg")))
    for position, image in (fingers or {}).items():
        files.append(("fingers", (f"finger-{position}.png", image, "image/png")))
    if fingers:
        data["finger_positions"] = json.dumps(list(fingers))
    return client.post("/v1/enrolments", headers=headers, data=data, files=files)


def links(services) -> list[tuple[int, int, str]]:
    with services.sessions() as db:
        rows = db.scalars(select(Guardianship).order_by(Guardianship.id)).all()
        return [(row.guardian_identity_id, row.child_identity_id, row.relationship) for row in rows]


def identity_id(services, uin: str) -> int:
    with services.sessions() as db:
        return db.scalars(select(Identity.id).where(Identity.uin == uin)).one()


def test_a_small_child_enrolled_with_the_verified_guardian_gets_a_uin_a_link_and_owes_fingers(
    client, keys, services, people
):
    born = born_years_ago(3)
    response = enrol_child(client, keys.officer, born, people["obama"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "issued" and body["uin"]
    assert body["guardian_uin"] == people["obama"] and body["fingers_deferred"] is True
    assert body["dedup_modalities"] == ["face"]
    assert links(services) == [(identity_id(services, people["obama"]), identity_id(services, body["uin"]), "parent")]

    child = client.get(f"/v1/identities/{body['uin']}", headers=keys.officer).json()
    assert child["fingers_deferred"] is True
    assert child["fingers_due_on"] == fingers_due_on(date.fromisoformat(born), services.settings.ages).isoformat()
    assert [(g["uin"], g["relationship"]) for g in child["guardians"]] == [(people["obama"], "parent")]
    adult = client.get(f"/v1/identities/{people['obama']}", headers=keys.officer).json()
    assert adult["fingers_deferred"] is False and adult["fingers_due_on"] is None and adult["guardians"] == []

    with services.sessions() as db:
        (linked,) = db.scalars(select(AuditEvent).where(AuditEvent.action == "identity.guardian_linked")).all()
        checks = db.scalars(select(AuditEvent).where(AuditEvent.action == "biometric.verify")).all()
    assert linked.subject_id == body["uin"] and linked.actor_name == "test officer"
    assert linked.detail["guardian"] == people["obama"] and linked.detail["relationship"] == "parent"
    assert [(c.subject_id, c.detail["match"]) for c in checks] == [(people["obama"], True)]


def test_an_older_child_may_give_fingers_and_a_legal_guardian_is_recorded_as_such(client, keys, services, people):
    fingers = {2: png_bytes(impressions(301, 1)[0])}
    response = enrol_child(
        client,
        keys.officer,
        born_years_ago(11),
        people["obama"],
        fingers=fingers,
        guardian_relationship="legal_guardian",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "issued" and body["fingers_deferred"] is False
    assert body["dedup_modalities"] == ["face", "finger"]
    assert [relationship for _, _, relationship in links(services)] == ["legal_guardian"]


def test_the_wrong_guardian_face_is_refused_and_nothing_is_stored(client, keys, services, people):
    before = stored_counts(services)
    response = enrol_child(client, keys.officer, born_years_ago(3), people["obama"], "biden_2010_blue_room.jpg")
    body = assert_problem(response, 403)
    assert body["type"] == "https://civid.dev/problems/guardian-not-verified"
    assert "do not match" in body["detail"] and "nothing was stored" in body["detail"]
    assert stored_counts(services) == before and links(services) == []
    with services.sessions() as db:
        (check,) = db.scalars(select(AuditEvent).where(AuditEvent.action == "biometric.verify")).all()
    assert check.subject_id == people["obama"] and check.detail["match"] is False


def test_a_minor_without_a_guardian_is_refused_and_nothing_is_stored(client, keys, services):
    before = stored_counts(services)
    body = assert_problem(enrol_child(client, keys.officer, born_years_ago(17)), 422)
    assert body["type"].endswith("/guardian-required") and "under 18" in body["detail"]
    assert stored_counts(services) == before


def test_without_a_proof_of_the_guardian_nothing_is_verified_or_stored(client, keys, services, people):
    before = stored_counts(services)
    response = enrol_child(client, keys.officer, born_years_ago(3), people["obama"], guardian_photo=None)
    assert "guardian_photo" in assert_problem(response, 422)["detail"]
    assert stored_counts(services) == before


def test_an_adult_enrols_as_before_and_is_refused_a_guardian(client, keys, services, people):
    refused = enrol_child(client, keys.officer, born_years_ago(18), people["obama"])
    assert "without a guardian" in assert_problem(refused, 422)["detail"]
    response = enrol(client, keys.officer, ["collins_nasa_portrait.png"], date_of_birth=born_years_ago(18))
    assert response.status_code == 201 and response.json()["status"] == "issued", response.text
    assert response.json()["guardian_uin"] is None and response.json()["fingers_deferred"] is False
    assert links(services) == []


def test_a_small_child_gives_no_fingers(client, keys, services, people):
    before = stored_counts(services)
    fingers = {2: png_bytes(impressions(302, 1)[0])}
    response = enrol_child(client, keys.officer, born_years_ago(4), people["obama"], fingers=fingers)
    assert "face only" in assert_problem(response, 422)["detail"]
    assert stored_counts(services) == before


def test_an_unknown_suspended_or_minor_guardian_is_refused_before_any_comparison(client, keys, services, people):
    unknown = generate_uin()
    assert "no identity" in assert_problem(enrol_child(client, keys.officer, born_years_ago(3), unknown), 422)["detail"]
    child = enrol_child(client, keys.officer, born_years_ago(3), people["obama"]).json()
    assert child["status"] == "issued", child
    # The child cannot be the guardian of another child (here the same face again: refused before any search).
    minor = enrol_child(client, keys.officer, born_years_ago(2), child["uin"], "collins_nasa_portrait.png")
    assert "a minor cannot be a guardian" in assert_problem(minor, 422)["detail"]
    with services.sessions.begin() as db:
        db.execute(update(Identity).where(Identity.uin == people["biden"]).values(status="suspended"))
    suspended = enrol_child(client, keys.officer, born_years_ago(3), people["biden"], "biden_2010_blue_room.jpg")
    assert "suspended" in assert_problem(suspended, 422)["detail"]
    with services.sessions() as db:
        checks = db.scalar(select(func.count()).where(AuditEvent.action == "biometric.verify"))
        children = db.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.guardian_identity_id.is_not(None))
        )
    assert checks == 1 and children == 1  # only the first child's guardian was compared


def test_a_child_decided_a_duplicate_gets_no_link_and_one_issued_by_the_adjudicator_does(
    client, keys, services, people
):
    adult = enrol(client, keys.officer, ["collins_nasa_portrait.png"], family_name="Collins").json()
    assert adult["status"] == "issued"
    first = enrol_child(client, keys.officer, born_years_ago(3), people["obama"]).json()
    assert first["status"] == "pending_adjudication" and first["guardian_uin"] == people["obama"], first
    decided = client.post(
        f"/v1/cases/{first['case_id']}/decision",
        headers=keys.adjudicator,
        json={"decision": "duplicate", "comment": "the same person enrolled as an adult"},
    )
    assert decided.status_code == 200, decided.text
    assert links(services) == []

    second = enrol_child(client, keys.officer, born_years_ago(3), people["obama"], family_name="Collins-Junior")
    assert second.json()["status"] == "pending_adjudication", second.text
    issued = client.post(
        f"/v1/cases/{second.json()['case_id']}/decision",
        headers=keys.adjudicator,
        json={"decision": "not_duplicate", "comment": "a look-alike child, checked with the birth certificate"},
    )
    assert issued.status_code == 200, issued.text
    child_uin = issued.json()["enrolment"]["uin"]
    assert links(services) == [(identity_id(services, people["obama"]), identity_id(services, child_uin), "parent")]
    with services.sessions() as db:
        (event,) = db.scalars(select(AuditEvent).where(AuditEvent.action == "identity.guardian_linked")).all()
    assert event.subject_id == child_uin and event.actor_role == "adjudicator"


def test_ages_count_completed_years_and_a_leap_day_birthday_comes_on_the_first_of_march():
    assert age_on(date(2010, 6, 15), date(2028, 6, 14)) == 17
    assert age_on(date(2010, 6, 15), date(2028, 6, 15)) == 18
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert majority_on(date(2008, 2, 29), settings_ages()) == date(2026, 3, 1)


def settings_ages():
    from civid.settings_groups import AgePolicy

    return AgePolicy(face_only_below=5, majority=18)


def test_a_guardian_may_prove_themselves_with_their_fingers(client, keys, services):
    enrolled = {2: png_bytes(impressions(401, 2)[0])}
    adult = enrol(client, keys.officer, ["collins_nasa_portrait.png"], fingers=enrolled, family_name="Collins")
    assert adult.status_code == 201 and adult.json()["status"] == "issued", adult.text

    def child_with_guardian_finger(finger: bytes):
        data = {
            "demographics": json.dumps(person(given_name="Sasha", date_of_birth=born_years_ago(8))),
            "guardian_uin": adult.json()["uin"],
            "guardian_finger_positions": "2",
        }
        files = [
            ("photos", ("c.jpg", fixture_bytes("obama_2009_congress.jpg"), "image/jpeg")),
            ("guardian_fingers", ("g.png", finger, "image/png")),
        ]
        return client.post("/v1/enrolments", headers=keys.officer, data=data, files=files)

    before = stored_counts(services)
    wrong = child_with_guardian_finger(png_bytes(impressions(402, 1)[0]))  # another person's finger
    assert assert_problem(wrong, 403)["type"].endswith("/guardian-not-verified")
    assert stored_counts(services) == before
    accepted = child_with_guardian_finger(png_bytes(impressions(401, 2)[1]))  # another impression of theirs
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["guardian_uin"] == adult.json()["uin"]


def two_desks_at_once(client, keys, services, guardian_uin: str) -> None:
    """Two officers enrol the same child with the same guardian at the same moment: one UIN, one case, one link."""
    barrier = threading.Barrier(2)
    answers: list = [None, None]

    def desk(index: int, headers: dict) -> None:
        barrier.wait()
        answers[index] = enrol_child(client, headers, born_years_ago(3), guardian_uin)

    threads = [threading.Thread(target=desk, args=(i, h)) for i, h in enumerate((keys.officer, keys.officer2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert sorted(a.json()["status"] for a in answers) == ["issued", "pending_adjudication"]
    (issued,) = [a.json() for a in answers if a.json()["status"] == "issued"]
    guardian, child = identity_id(services, guardian_uin), identity_id(services, issued["uin"])
    assert links(services) == [(guardian, child, "parent")]


def test_two_desks_enrolling_the_same_child_at_once_make_one_uin_and_one_link(client, keys, services, people):
    two_desks_at_once(client, keys, services, people["obama"])


def test_two_desks_at_once_on_postgresql(tmp_path, postgres_schema_url):
    services = build_services(make_settings(tmp_path, database_url=postgres_schema_url))
    try:
        keys = add_keys(services)
        with TestClient(create_app(services=services), raise_server_exceptions=False) as client:
            guardian = enrol(client, keys.officer, ["obama_2012_portrait.jpg"]).json()
            assert guardian["status"] == "issued", guardian
            two_desks_at_once(client, keys, services, guardian["uin"])
    finally:
        services.close()


def test_the_fingers_a_small_child_owes_are_taken_at_a_biometric_update(client, keys, services, people):
    child = enrol_child(client, keys.officer, born_years_ago(3), people["obama"]).json()
    assert child["fingers_deferred"] is True
    prints = [impressions(7001, 2)[0], impressions(7002, 2)[0]]
    taken = client.post(
        f"/v1/identities/{child['uin']}/biometrics",
        headers=keys.officer,
        data={"finger_positions": "[2, 7]"},
        files=[
            ("photo", ("c.png", fixture_bytes("collins_nasa_portrait.png"), "image/png")),
            *[("fingers", (f"f{i}.png", png_bytes(p), "image/png")) for i, p in enumerate(prints)],
        ],
    )
    assert taken.status_code == 200, taken.text
    assert taken.json()["fingers_added"] == [2, 7]
    record = client.get(f"/v1/identities/{child['uin']}", headers=keys.officer).json()
    assert record["fingers_deferred"] is False and record["fingers_due_on"] is None
