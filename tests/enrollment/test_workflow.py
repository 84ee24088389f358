"""The enrolment path end to end through the HTTP API, on real photos and the real models."""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select, text

import enrollment.dedup_decision
from civid.uin import verhoeff_valid
from enrollment.templates import open_descriptor, photo_aad
from enrollment.uin import generate_uin
from models import AuditEvent, DedupCase, FaceTemplate, Identity, Photo
from tests.conftest import enrol


def test_first_enrolment_issues_a_valid_uin(client, keys, services):
    response = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], given_name="Barack", family_name="Obama")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "issued"
    assert len(body["uin"]) == 10 and verhoeff_valid(body["uin"])
    assert body["quality"][0]["passed"] and body["quality"][0]["faces_found"] == 1
    assert response.headers["location"] == f"/v1/enrolments/{body['id']}"
    assert len(services.gallery) == 1
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Identity)) == 1
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "enrolment.issued" in actions


def test_second_enrolment_of_same_face_opens_case_without_uin(client, keys, services):
    first = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], given_name="Barack", family_name="Obama").json()
    second = enrol(client, keys.officer2, ["obama_2010_blue_room.jpg"], given_name="Barry", family_name="Soetoro")
    assert second.status_code == 201, second.text
    body = second.json()
    assert body["status"] == "pending_adjudication"
    assert body["uin"] is None and body["case_id"]
    assert body["candidates"][0]["uin"] == first["uin"]
    assert body["candidates"][0]["face_score"] >= services.settings.dedup_threshold
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Identity)) == 1
        assert session.scalar(select(func.count()).select_from(DedupCase)) == 1


def test_different_people_each_get_their_own_uin(client, keys):
    uins = set()
    for photo, name in (
        ("obama_2012_portrait.jpg", "Obama"),
        ("biden_2010_blue_room.jpg", "Biden"),
        ("collins_nasa_portrait.png", "Collins"),
    ):
        body = enrol(client, keys.officer, [photo], family_name=name).json()
        assert body["status"] == "issued", body
        uins.add(body["uin"])
    assert len(uins) == 3


def test_template_bytes_at_rest_are_not_the_plain_vector(client, keys, services):
    body = enrol(client, keys.officer, ["obama_2012_portrait.jpg"]).json()
    with services.sessions() as session:
        row = session.scalars(select(FaceTemplate)).one()
        raw = session.execute(text("SELECT ciphertext FROM face_templates")).scalar_one()
    vector = services.gallery.vectors([row.id])[0]  # what the 1:N search uses
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    plain = vector.astype("<f4").tobytes()
    assert plain not in bytes(raw) and plain[:16] not in bytes(raw)
    assert len(raw) == 128 * 4 + 16  # AES-GCM: the plaintext's length plus a 16-byte tag
    assert row.key_id == services.keyring.active and len(row.nonce) == 12
    # Only the key ring opens it, and only for this enrolment's photo.
    assert np.array_equal(open_descriptor(services.keyring, row, body["id"]), vector)


def test_photos_are_not_kept_when_keep_photos_is_off(tmp_path):
    from fastapi.testclient import TestClient

    from server.app import create_app
    from server.services import build_services
    from tests.conftest import add_keys, make_settings

    # keep_photos is on by default (adjudicators compare faces); a deployment may turn it off.
    services = build_services(make_settings(tmp_path, keep_photos=False))
    keys = add_keys(services)
    with TestClient(create_app(services=services)) as client:
        assert enrol(client, keys.officer, ["obama_2012_portrait.jpg"]).json()["status"] == "issued"
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Photo)) == 0
    services.close()


def test_kept_photos_are_encrypted_and_bound_to_their_enrolment(tmp_path):
    from fastapi.testclient import TestClient

    from civid.keyring import Sealed
    from server.app import create_app
    from server.services import build_services
    from tests.conftest import add_keys, fixture_bytes, make_settings

    services = build_services(make_settings(tmp_path, keep_photos=True))
    keys = add_keys(services)
    with TestClient(create_app(services=services)) as client:
        body = enrol(client, keys.officer, ["obama_2012_portrait.jpg"]).json()
    with services.sessions() as session:
        photo = session.scalars(select(Photo)).one()
    original = fixture_bytes("obama_2012_portrait.jpg")
    assert original[:64] not in photo.ciphertext
    sealed = Sealed(photo.key_id, photo.nonce, photo.ciphertext)
    assert services.keyring.open(sealed, photo_aad(body["id"], 0)) == original
    services.close()


def test_issuance_draws_again_when_the_random_uin_is_already_taken(client, keys, services, monkeypatch):
    taken = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], family_name="Obama").json()["uin"]
    fresh = next(u for u in iter(generate_uin, None) if u != taken)
    draws = iter([taken, taken, fresh])
    monkeypatch.setattr(enrollment.dedup_decision, "generate_uin", lambda: next(draws))

    body = enrol(client, keys.officer, ["biden_2010_blue_room.jpg"], family_name="Biden").json()
    assert body["status"] == "issued", body
    assert body["uin"] == fresh
    assert next(draws, None) is None  # both collisions were seen and skipped, not written
    with services.sessions() as session:
        assert sorted(session.scalars(select(Identity.uin)).all()) == sorted([taken, fresh])
