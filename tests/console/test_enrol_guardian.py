"""Enrolling a child at the console: the guardian's UIN and their photo taken at the desk, verified 1:1 before
anything of the child is stored; a small child without finger rows; a wrong guardian face, a minor without a
guardian, or a child's finger images refused in the officer's language with nothing stored."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from models import Enrolment, Guardianship, Identity
from tests.conftest import fixture_bytes, seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS, enrol_staff
from tests.console.test_enrol import count, document_fields, open_form, person_fields
from tests.synthetic_fingerprints import impressions, png_bytes

seed, settings, keys, people = seeded_fixtures(enrol_staff, "people", **CONSOLE_SETTINGS)


def three_years_ago() -> str:
    today = date.today()
    return today.replace(year=today.year - 3, day=min(today.day, 28)).isoformat()


def send(client, guardian_uin: str | None, guardian_photo: str | None, fingers=None, **headers):  # type: ignore[no-untyped-def]
    csrf, key = open_form(client)
    data = {
        "csrf_token": csrf,
        "idempotency_key": key,
        **person_fields(given_name="Ana", family_name="Biden", date_of_birth=three_years_ago(), sex="F"),
        **document_fields(),
    }
    if guardian_uin:
        data |= {"guardian_uin": guardian_uin, "guardian_relationship": "parent"}
    files = [("photo", ("child.png", fixture_bytes("collins_nasa_portrait.png"), "image/png"))]
    if guardian_photo:
        files.append(("guardian_photo", ("g.jpg", fixture_bytes(guardian_photo), "image/jpeg")))
    for position, image in (fingers or {}).items():
        files.append((f"finger_{position}", (f"f{position}.png", image, "image/png")))
    return client.post("/console/enrol", data=data, files=files, follow_redirects=False, headers=headers)


def test_a_small_child_is_enrolled_with_the_guardian_verified_at_the_desk(officer, services, people):
    form = officer.get("/console/enrol")
    assert 'id="guardian_uin"' in form.text and "Guardian (a minor only)" in form.text
    done = send(officer, people.adjudicator.uin, "biden_2010_blue_room.jpg")
    assert done.status_code == 303, re.findall(r"<li><a href=[^>]*>([^<]*)</a>", done.text)
    outcome = officer.get(done.headers["location"])
    assert outcome.status_code == 200
    with services.sessions() as db:
        child = db.scalars(select(Enrolment).where(Enrolment.given_name == "Ana")).one()
        assert child.status == "issued" and child.fingers_deferred and child.fingerprints in (None, [])
        [link] = db.scalars(select(Guardianship)).all()
        guardian = db.scalars(select(Identity).where(Identity.uin == people.adjudicator.uin)).one()
        assert (link.guardian_identity_id, link.child_identity_id) == (guardian.id, child.identity_id)


def test_a_wrong_guardian_face_or_no_guardian_is_refused_in_the_officers_language(officer, services, people):
    wrong = send(officer, people.adjudicator.uin, "obama_2010_blue_room.jpg")
    assert wrong.status_code == 403 and "does not match the record of that UIN" in wrong.text
    none = send(officer, None, None, **{"Accept-Language": "es"})
    assert none.status_code == 422 and "se registra con un tutor" in none.text
    no_photo = send(officer, people.adjudicator.uin, None)
    assert no_photo.status_code == 422 and "they prove who they are at the desk" in no_photo.text
    fingers = {2: png_bytes(impressions(9001, 2)[0])}
    with_fingers = send(officer, people.adjudicator.uin, "biden_2010_blue_room.jpg", fingers=fingers)
    assert with_fingers.status_code == 422 and "enrolled with the face only" in with_fingers.text
    assert count(services, Enrolment, Enrolment.given_name == "Ana") == 0
    assert count(services, Guardianship) == 0
