"""Fingerprints through the HTTP API: enrolment with the NFIQ 2 gate and officer exceptions, fused
deduplication, 1:1 and 1:N with fingers, ISO/IEC 19794-2 export and re-import, and the index as a cache.

Fingers are synthetic (tests/synthetic_fingerprints.py): several impressions of one generated finger
stand for the same person's finger scanned on different days."""

from __future__ import annotations

import dataclasses
import io
import json

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from civid.errors import InvalidImage
from enrollment.fingerprint import FingerUpload, assess_finger, decode_finger
from matcher import extraction, iso19794
from models import AuditEvent, Enrolment, FingerTemplate
from server.services import build_services
from tests.conftest import (
    FIXTURES,
    add_keys,
    assert_problem,
    enrol,
    fixture_bytes,
    seeded_fixtures,
    stored_counts,
    without_request_id,
)
from tests.synthetic_fingerprints import impressions, png_bytes

# Two synthetic fingers per person: (seed of the finger, ISO position).
OBAMA_FINGERS = {2: 101, 7: 102}
BIDEN_FINGERS = {2: 201, 7: 202}


def finger(seed: int, impression: int) -> bytes:
    return png_bytes(impressions(seed, impression + 1)[impression])


def fingers_of(person: dict[int, int], impression: int) -> dict[int, bytes]:
    return {position: finger(seed, impression) for position, seed in person.items()}


def populate(client, keys) -> dict[str, str]:
    obama = enrol(
        client,
        keys.officer,
        ["obama_2012_portrait.jpg"],
        fingers=fingers_of(OBAMA_FINGERS, 0),
        finger_exceptions=[{"position": 10, "reason": "amputated", "note": "since 2015"}],
        given_name="Barack",
        family_name="Obama",
    ).json()
    biden = enrol(
        client,
        keys.officer,
        ["biden_2010_blue_room.jpg"],
        fingers=fingers_of(BIDEN_FINGERS, 0),
        given_name="Joseph",
        family_name="Biden",
    ).json()
    assert obama["status"] == biden["status"] == "issued", (obama, biden)
    return {"obama": obama["uin"], "biden": biden["uin"], "obama_enrolment": obama["id"]}


seed, settings, keys, people = seeded_fixtures(populate, "people")


def get_enrolment(client, keys, enrolment_id: str) -> dict:
    return client.get(f"/v1/enrolments/{enrolment_id}", headers=keys.officer).json()


# --- enrolment -------------------------------------------------------------------------------------


def test_enrolment_records_each_finger_its_nfiq2_and_the_officers_exception(client, keys, people):
    body = get_enrolment(client, keys, people["obama_enrolment"])
    by_position = {f["position"]: f for f in body["fingerprints"]}
    assert set(by_position) == {2, 7, 10}
    for position in (2, 7):
        assert by_position[position]["status"] == "captured"
        assert 0 <= by_position[position]["nfiq2"] <= 100 and by_position[position]["minutiae"] >= 12
    assert by_position[2]["finger"] == "right index"
    assert {k: v for k, v in by_position[10].items() if v is not None} == {
        "position": 10,
        "finger": "left little",
        "status": "excepted",
        "reason": "amputated",
        "note": "since 2015",
        "issues": [],
    }
    assert body["dedup_modalities"] == ["face", "finger"]


def test_finger_templates_are_encrypted_iso_records(services, people):
    with services.sessions() as session:
        rows = session.scalars(select(FingerTemplate).order_by(FingerTemplate.id)).all()
        assert [r.position for r in rows] == [2, 7, 2, 7]
        for row in rows:
            assert b"FMR\x00" not in row.ciphertext and row.key_id == services.keyring.active
        enrolment = session.get(Enrolment, rows[0].enrolment_id)
        from enrollment.fingerprint import open_finger

        opened = open_finger(services.keyring, rows[0], enrolment.public_id)
    assert opened.view.position == 2 and len(opened.view.minutiae) == rows[0].minutiae_count


def test_same_fingers_and_face_again_open_a_case_with_fused_scores(client, keys, services, people):
    response = enrol(client, keys.officer2, ["obama_2010_blue_room.jpg"], fingers=fingers_of(OBAMA_FINGERS, 1))
    body = response.json()
    assert body["status"] == "pending_adjudication" and body["uin"] is None, body
    top = body["candidates"][0]
    assert top["uin"] == people["obama"]
    assert set(top["finger_scores"]) == {"2", "7"} or set(top["finger_scores"]) == {2, 7}
    assert all(services.fusion.finger(score) > 0 for score in top["finger_scores"].values())
    assert top["fused_llr"] >= services.settings.dedup_llr_threshold
    assert all(c["uin"] != people["biden"] for c in body["candidates"])


def test_fingers_alone_find_the_person_when_the_face_does_not(client, keys, services, people):
    # A stranger's face (an astronaut) with Biden's fingers: fingerprints carry the deduplication.
    body = enrol(client, keys.officer2, ["collins_nasa_portrait.png"], fingers=fingers_of(BIDEN_FINGERS, 2)).json()
    assert body["status"] == "pending_adjudication", body
    top = body["candidates"][0]
    assert top["uin"] == people["biden"] and services.fusion.face(top["face_score"]) < 0
    assert all(services.fusion.finger(score) > 0 for score in top["finger_scores"].values())


def test_finger_evidence_counts_against_a_face_look_alike(client, keys, people, services):
    """The same face with different fingers gets less fused evidence than with the same fingers."""
    same = enrol(client, keys.officer2, ["obama_2010_blue_room.jpg"], fingers=fingers_of(OBAMA_FINGERS, 2)).json()
    other = enrol(client, keys.officer2, ["obama_2010_blue_room.jpg"], fingers=fingers_of({2: 301, 7: 302}, 0)).json()
    same_llr = same["candidates"][0]["fused_llr"]
    other_llr = max((c["fused_llr"] for c in other["candidates"] if c["uin"] == people["obama"]), default=-99.0)
    assert same_llr - other_llr > 2.0


def test_person_without_fingerprints_is_deduplicated_on_the_face_and_the_record_says_so(client, keys, people):
    exceptions = [{"position": p, "reason": "unable_to_capture"} for p in range(1, 11)]
    body = enrol(client, keys.officer2, ["obama_2010_blue_room.jpg"], finger_exceptions=exceptions).json()
    assert body["status"] == "pending_adjudication"
    assert body["dedup_modalities"] == ["face"]
    assert body["candidates"][0]["uin"] == people["obama"] and body["candidates"][0]["finger_scores"] == {}
    assert [f["status"] for f in body["fingerprints"]] == ["excepted"] * 10


def test_blank_finger_image_is_refused_naming_the_finger_and_stores_nothing(client, keys, services, people):
    before = stored_counts(services)
    blank = png_bytes(np.full((300, 300), 200, dtype=np.uint8))
    problem = assert_problem(enrol(client, keys.officer, ["collins_nasa_portrait.png"], fingers={3: blank}), 422)
    assert problem["type"].endswith("/not-a-fingerprint") and problem["finger"] == 3
    assert problem["reason"] == "finger_too_little_foreground" and problem["measured"] < problem["limit"]
    assert "finger 3" in problem["detail"]
    assert stored_counts(services) == before


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _as_mode(name: str, mode: str) -> bytes:
    """A face fixture as a finger file: grey, or grey saved as RGB / RGBA (R = G = B, opaque), or in colour."""
    picture = Image.open(FIXTURES / name)
    grey = picture.convert("L")
    return _png(
        {
            "L": grey,
            "RGB": grey.convert("RGB"),
            "RGBA": grey.convert("RGBA"),
            "colour RGB": picture.convert("RGB"),
            "colour RGBA": picture.convert("RGBA"),
        }[mode]
    )


FACES = (
    "biden_2010_blue_room.jpg",
    "collins_nasa_portrait.png",
    "obama_2009_congress.jpg",
    "obama_2010_blue_room.jpg",
    "obama_2012_portrait.jpg",
)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
@pytest.mark.parametrize("face", FACES)
def test_a_face_portrait_uploaded_as_a_finger_is_refused_naming_the_finger_and_why(
    client, keys, services, people, face, mode
):
    before = stored_counts(services)
    response = enrol(
        client, keys.officer, ["collins_nasa_portrait.png"], fingers={2: finger(101, 3), 7: _as_mode(face, mode)}
    )
    problem = assert_problem(response, 422)
    assert problem["type"].endswith("/not-a-fingerprint"), problem
    assert problem["finger"] == 7 and problem["detail"].startswith("finger 7 (finger-7.png): not a fingerprint")
    assert problem["reason"] == "finger_no_ridge_frequency" and problem["measured"] < problem["limit"]
    assert stored_counts(services) == before


@pytest.mark.parametrize("mode", ["colour RGB", "colour RGBA"])
def test_a_colour_finger_image_is_refused_not_converted(client, keys, services, people, mode):
    before = stored_counts(services)
    response = enrol(
        client, keys.officer, ["collins_nasa_portrait.png"], fingers={4: _as_mode("obama_2012_portrait.jpg", mode)}
    )
    problem = assert_problem(response, 422)
    assert problem["type"].endswith("/invalid-image") and "colour image" in problem["detail"]
    assert "finger 4" in problem["detail"]
    assert stored_counts(services) == before


def test_a_grey_scan_saved_as_rgb_is_read_as_the_same_grey_and_a_transparent_one_is_refused(settings):
    limits = settings.finger_quality
    grey = Image.fromarray(impressions(101, 1)[0])
    as_is = decode_finger(FingerUpload(2, _png(grey), "f.png", "image/png"), limits)
    for saved in (grey.convert("RGB"), grey.convert("RGBA"), grey.convert("P")):
        assert np.array_equal(decode_finger(FingerUpload(2, _png(saved), "f.png", "image/png"), limits), as_is)
    see_through = grey.convert("RGBA")
    see_through.putpixel((5, 5), (128, 128, 128, 0))
    with pytest.raises(InvalidImage) as refused:
        decode_finger(FingerUpload(2, _png(see_through), "f.png", "image/png"), limits)
    assert refused.value.code == "finger_transparent" and refused.value.params["finger"] == 2
    sixteen_bit = Image.fromarray(impressions(101, 1)[0].astype(np.uint16) * 257)
    with pytest.raises(InvalidImage) as refused:
        decode_finger(FingerUpload(2, _png(sixteen_bit), "f.png", "image/png"), limits)
    assert refused.value.code == "finger_pixel_mode"


def test_the_extractor_setting_chooses_how_minutiae_are_taken_and_the_record_keeps_its_format(settings):
    image = impressions(5, 1)[0]
    upload = FingerUpload(3, png_bytes(image), "f.png", "image/png")
    taken = {}
    for name in ("mindtct", "masked", "enhanced"):
        accepted, report = assess_finger(upload, dataclasses.replace(settings.finger_quality, extractor=name))
        assert accepted is not None and report.status == "captured"
        expected = extraction.extract(image, 500, extraction.Extractor(name))
        assert accepted.view.minutiae == expected.minutiae and accepted.nfiq2 == expected.nfiq2
        record = iso19794.decode(
            iso19794.encode(iso19794.FingerprintRecord(accepted.width, accepted.height, (accepted.view,)))
        )
        assert record.views[0].minutiae == expected.minutiae
        taken[name] = len(expected.minutiae)
    # MINDTCT alone reports the print's edge too; the masked extractors do not.
    assert taken["mindtct"] > taken["masked"] and taken["mindtct"] > taken["enhanced"]


@pytest.mark.parametrize(
    "data, content_type, status",
    [
        (b"%PDF-1.4\n" * 200, "image/png", 415),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 500, "image/png", 422),
    ],
)
def test_corrupt_or_wrong_finger_files_are_problems(client, keys, services, people, data, content_type, status):
    before = stored_counts(services)
    response = client.post(
        "/v1/enrolments",
        headers=keys.officer,
        data={"demographics": json.dumps(_person()), "finger_positions": "[2]"},
        files=[
            ("photos", ("p.png", fixture_bytes("collins_nasa_portrait.png"), "image/png")),
            ("fingers", ("f.png", data, content_type)),
        ],
    )
    assert_problem(response, status)
    assert stored_counts(services) == before


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"finger_positions": "[2, 2]"}, "given twice"),
        ({"finger_positions": "[11, 3]"}, "1-10"),
        ({"finger_positions": "[2]"}, "finger_positions"),
        ({"finger_positions": "[2, 3]", "finger_exceptions": '[{"position": 2, "reason": "bandaged"}]'}, "given twice"),
    ],
)
def test_inconsistent_finger_positions_are_422(client, keys, people, extra, message):
    image = finger(101, 0)
    response = client.post(
        "/v1/enrolments",
        headers=keys.officer,
        data={"demographics": json.dumps(_person()), **extra},
        files=[
            ("photos", ("p.png", fixture_bytes("collins_nasa_portrait.png"), "image/png")),
            ("fingers", ("a.png", image, "image/png")),
            ("fingers", ("b.png", image, "image/png")),
        ],
    )
    problem = assert_problem(response, 422)
    assert message in json.dumps(problem)


def test_unknown_exception_reason_is_422(client, keys, people):
    response = enrol(
        client, keys.officer, ["collins_nasa_portrait.png"], finger_exceptions=[{"position": 4, "reason": "forgot"}]
    )
    assert_problem(response, 422)


# --- ISO/IEC 19794-2 export and import ----------------------------------------------------------------


def test_export_gives_a_standard_record_that_reimports_and_finds_the_person(client, keys, services, people):
    response = client.get(f"/v1/identities/{people['obama']}/fingerprints", headers=keys.officer)
    assert response.status_code == 200 and response.content[:8] == b"FMR\x00 20\x00"
    record = iso19794.decode(response.content)
    assert [v.position for v in record.views] == [2, 7]
    assert all(len(v.minutiae) >= 12 for v in record.views)
    assert record.x_resolution == record.y_resolution == 197
    with services.sessions() as session:
        exported = session.scalars(select(AuditEvent).where(AuditEvent.action == "fingerprints.exported")).one()
    assert exported.subject_id == people["obama"] and exported.detail["positions"] == [2, 7]
    # Another AFIS sends the record back with a new applicant: the import deduplicates against the owner.
    body = enrol(client, keys.officer2, ["collins_nasa_portrait.png"], finger_record=response.content).json()
    assert body["status"] == "pending_adjudication", body
    assert [f["status"] for f in body["fingerprints"]] == ["imported", "imported"]
    assert body["candidates"][0]["uin"] == people["obama"]


def test_export_of_a_person_without_fingers_is_404(client, keys, people):
    uin = enrol(client, keys.officer, ["collins_nasa_portrait.png"]).json()["uin"]
    assert_problem(client.get(f"/v1/identities/{uin}/fingerprints", headers=keys.officer), 404)


def test_malformed_iso_record_is_a_422_that_says_why(client, keys, services, people):
    before = stored_counts(services)
    response = enrol(client, keys.officer, ["collins_nasa_portrait.png"], finger_record=b"FMR\x00 20\x00\x00\x00")
    problem = assert_problem(response, 422)
    assert "record" in problem["detail"].lower() or "truncated" in problem["detail"].lower()
    assert stored_counts(services) == before


# --- 1:1 and 1:N with fingers ------------------------------------------------------------------------


def verify_finger(client, keys, uin: str, position: int, image: bytes, photo: bytes | None = None):
    files = [("fingers", ("f.png", image, "image/png"))]
    if photo is not None:
        files.append(("photo", ("p.jpg", photo, "image/jpeg")))
    return client.post(
        "/v1/verify", headers=keys.officer, data={"uin": uin, "finger_positions": str(position)}, files=files
    )


def test_finger_verifies_the_holder_and_not_someone_else(client, keys, services, people):
    same = verify_finger(client, keys, people["obama"], 2, finger(101, 3))
    assert same.status_code == 200, same.text
    body = same.json()
    assert body["match"] is True and body["modalities"] == ["finger"]
    assert body["fingers"][0]["score"] >= body["fingers"][0]["threshold"] and body["fingers"][0]["llr"] > 0
    other = verify_finger(client, keys, people["obama"], 2, finger(201, 1)).json()
    assert other["match"] is False and other["fingers"][0]["score"] < other["fingers"][0]["threshold"]
    with services.sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "biometric.verify")).all()
    assert [e.detail["match"] for e in events] == [True, False]
    assert all(
        set(without_request_id(e.detail)) == {"match", "modalities", "face_score", "finger_scores", "via_vid"}
        for e in events
    )


def test_face_and_finger_must_both_match(client, keys, people):
    body = verify_finger(
        client, keys, people["obama"], 2, finger(101, 3), photo=fixture_bytes("biden_2010_blue_room.jpg")
    ).json()
    assert body["fingers"][0]["match"] is True and body["match"] is False


def test_verifying_a_finger_that_was_not_enrolled_is_404(client, keys, people):
    problem = assert_problem(verify_finger(client, keys, people["obama"], 5, finger(101, 3)), 404)
    assert "position 5" in problem["detail"]


def test_policy_can_require_a_fingerprint(settings, people):
    from fastapi.testclient import TestClient

    from server.app import create_app

    strict = settings.model_copy(update={"verify_required_modalities": ["finger"]})
    services = build_services(strict)
    try:
        keys = add_keys(services)
        with TestClient(create_app(strict, services=services)) as client:
            response = client.post(
                "/v1/verify",
                headers=keys.officer,
                data={"uin": people["obama"]},
                files={"photo": ("p.jpg", fixture_bytes("obama_2010_blue_room.jpg"), "image/jpeg")},
            )
            assert "finger" in assert_problem(response, 422)["detail"]
    finally:
        services.close()


def test_identify_by_two_fingers_ranks_the_owner_first(client, keys, people):
    response = client.post(
        "/v1/identify",
        headers=keys.adjudicator,
        data={"finger_positions": "[2, 7]"},
        files=[("fingers", ("f.png", finger(seed, 3), "image/png")) for seed in (201, 202)],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["candidates"][0]["uin"] == people["biden"]
    assert body["candidates"][0]["score"] is None and body["quality"] is None
    assert body["gallery_size"] == 4


def test_one_finger_alone_lists_no_one_however_well_it_matches(client, keys, services, people):
    # matcher/fusion.py caps one finger's LLR below the dedup threshold: the owner's own finger is not enough.
    response = client.post(
        "/v1/identify",
        headers=keys.adjudicator,
        data={"finger_positions": "[7]"},
        files=[("fingers", ("f.png", finger(202, 3), "image/png"))],
    )
    assert response.status_code == 200, response.text
    assert response.json()["candidates"] == []
    assert services.fusion.finger_llr_cap < services.settings.dedup_llr_threshold


# --- the index is a cache of the database ------------------------------------------------------------


def test_finger_index_reloads_and_rebuilds_from_the_database(settings, people):
    services = build_services(settings)
    try:
        held = sorted(services.fingers.ids().tolist())
        services.fingers.path.unlink()
        services.fingers.path.with_suffix(".json").unlink(missing_ok=True)
    finally:
        services.close()  # saves it again
    services = build_services(settings)
    try:
        assert sorted(services.fingers.ids().tolist()) == held
        with services.sessions() as session:
            assert len(held) == session.scalar(select(func.count()).select_from(FingerTemplate))
        services.fingers.path.unlink()
    finally:
        services.engine.dispose()
    services = build_services(settings)  # a missing file means a rebuild
    try:
        assert sorted(services.fingers.ids().tolist()) == held
    finally:
        services.close()


def test_duplicate_decision_takes_the_applicants_fingers_out_of_the_index(client, keys, services, people):
    body = enrol(client, keys.officer2, ["obama_2010_blue_room.jpg"], fingers=fingers_of(OBAMA_FINGERS, 1)).json()
    with services.sessions() as session:
        applicant = session.scalars(select(Enrolment).where(Enrolment.public_id == body["id"])).one()
        finger_ids = session.scalars(select(FingerTemplate.id).where(FingerTemplate.enrolment_id == applicant.id)).all()
    assert set(finger_ids) <= set(services.fingers.ids().tolist())
    decided = client.post(
        f"/v1/cases/{body['case_id']}/decision",
        headers=keys.adjudicator,
        json={"decision": "duplicate", "comment": "same fingers and face"},
    )
    assert decided.status_code == 200, decided.text
    assert not set(finger_ids) & set(services.fingers.ids().tolist())


def _person() -> dict:
    from tests.conftest import person

    return person(given_name="Eileen", family_name="Collins")


def test_key_rotation_reencrypts_both_ciphertexts_of_every_finger(services, people):
    from enrollment.fingerprint import open_features, open_finger
    from enrollment.templates import reencrypt_all

    old = services.keyring.active
    services.keyring.rotate()
    with services.sessions.begin() as session:
        moved = reencrypt_all(services.keyring, session)
    assert moved >= 2 + 4  # two face templates and four fingers
    services.keyring.retire(old)
    with services.sessions() as session:
        rows = session.execute(select(FingerTemplate, Enrolment.public_id).join(Enrolment)).all()
        for row, public_id in rows:
            assert row.key_id == services.keyring.active
            assert open_finger(services.keyring, row, public_id).view.position == row.position
            assert len(open_features(services.keyring, row, public_id)) > 0
