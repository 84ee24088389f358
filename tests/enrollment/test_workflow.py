"""The enrolment path end to end through the HTTP API, on real photos and the real models."""

from __future__ import annotations

from sqlalchemy import func, select

from enrollment.uin import verhoeff_valid
from models import AuditEvent, DedupCase, FaceTemplate, Identity
from tests.conftest import enrol


def test_first_enrolment_issues_a_valid_uin(client, keys, services):
    response = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], given_name="Barack", family_name="Obama")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "issued"
    assert len(body["uin"]) == 10 and verhoeff_valid(body["uin"])
    assert body["quality"][0]["passed"] and body["quality"][0]["faces_found"] == 1
    assert response.headers["location"] == f"/v1/enrolments/{body['id']}"
    assert len(services.gallery.gallery) == 1
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
    for photo, name in (("obama_2012_portrait.jpg", "Obama"), ("biden_2010_blue_room.jpg", "Biden"),
                        ("collins_nasa_portrait.png", "Collins")):
        body = enrol(client, keys.officer, [photo], family_name=name).json()
        assert body["status"] == "issued", body
        uins.add(body["uin"])
    assert len(uins) == 3


def test_template_bytes_at_rest_are_not_the_plain_vector(client, keys, services):
    enrol(client, keys.officer, ["obama_2012_portrait.jpg"])
    with services.sessions() as session:
        row = session.scalars(select(FaceTemplate)).one()
    vector = services.gallery.gallery.search(__import__("numpy").zeros((1, 128), "float32"), 1)
    assert row.key_id == services.keyring.active
    plain = services.gallery.gallery._index.reconstruct(row.id) if hasattr(services.gallery.gallery._index, "reconstruct") else None
    assert plain is not None
    assert plain.astype("<f4").tobytes() not in row.ciphertext
    assert len(row.ciphertext) == 128 * 4 + 16  # AES-GCM: same length plus a 16-byte tag
