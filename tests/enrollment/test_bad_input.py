"""Bad input through the HTTP API: every refusal is a 4xx problem+json and leaves nothing stored."""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.services import Services, build_services
from tests.conftest import (
    Keys,
    add_keys,
    assert_problem,
    document,
    enrol,
    fixture_bytes,
    jpeg_bytes,
    load_rgb,
    make_settings,
    person,
    stored_counts,
)

SMALL_UPLOAD = 20_000  # bytes per file in the small-limits service; every fixture photo is larger


def png_with_header(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose IHDR declares ``width``×``height`` (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def assert_refused(services: Services, before: dict[str, int], response, status: int) -> dict:
    """The response is a ``status`` problem and nothing of an enrolment was stored."""
    body = assert_problem(response, status)
    assert stored_counts(services) == before
    return body


@pytest.fixture
def small_limits(tmp_path: Path) -> Iterator[tuple[TestClient, Services, Keys]]:
    """A service whose per-file limit is ``SMALL_UPLOAD`` bytes (whole body: 5 files + 256 KiB)."""
    services = build_services(make_settings(tmp_path, max_upload_bytes=SMALL_UPLOAD))
    keys = add_keys(services)
    with TestClient(create_app(services=services), raise_server_exceptions=False) as client:
        yield client, services, keys
    services.close()


# --- files that are not acceptable photos -----------------------------------------------------------


def test_random_bytes_declared_as_jpeg_are_refused_as_unsupported_and_nothing_stored(client, keys, services):
    before = stored_counts(services)
    response = enrol(client, keys.officer, [("photo.jpg", os.urandom(5000), "image/jpeg")])
    body = assert_refused(services, before, response, 415)
    assert "not a JPEG or PNG" in body["detail"]


def test_corrupt_jpeg_after_a_valid_signature_is_refused_as_invalid_image_and_nothing_stored(client, keys, services):
    before = stored_counts(services)
    corrupt = b"\xff\xd8\xff\xe0" + os.urandom(20_000)
    response = enrol(client, keys.officer, [("corrupt.jpg", corrupt, "image/jpeg")])
    body = assert_refused(services, before, response, 422)
    assert body["type"].endswith("/invalid-image")
    assert body["photo"] == "corrupt.jpg"


def test_truncated_jpeg_is_refused_with_problem_json_and_nothing_stored(client, keys, services):
    before = stored_counts(services)
    whole = fixture_bytes("obama_2012_portrait.jpg")
    response = enrol(client, keys.officer, [("half.jpg", whole[: len(whole) // 2], "image/jpeg")])
    body = assert_refused(services, before, response, 422)
    assert body["type"].endswith("/invalid-image")
    assert "truncated" in body["detail"]


@pytest.mark.parametrize(
    "content",
    [
        b"Dear officer,\nplease enrol me.\n" * 50,
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n" * 20,
    ],
    ids=["text", "pdf"],
)
def test_non_image_declared_as_jpeg_is_refused_as_unsupported_and_nothing_stored(client, keys, services, content):
    before = stored_counts(services)
    response = enrol(client, keys.officer, [("photo.jpg", content, "image/jpeg")])
    assert_refused(services, before, response, 415)


def test_text_plain_content_type_is_refused_with_415_even_for_real_jpeg_bytes(client, keys, services):
    before = stored_counts(services)
    response = enrol(client, keys.officer, [("photo.jpg", fixture_bytes("obama_2012_portrait.jpg"), "text/plain")])
    body = assert_refused(services, before, response, 415)
    assert "text/plain" in body["detail"]


@pytest.mark.parametrize(
    "name, signature, kind",
    [("scan.png", b"\x89PNG\r\n\x1a\n", "image/png"), ("scan.jpg", b"\xff\xd8\xff\xe0", "image/jpeg")],
)
def test_garbage_after_an_image_signature_is_explained_without_python_internals(
    client, keys, services, name, signature, kind
):
    # Pillow says "cannot identify image file <_io.BytesIO object at 0x…>": that is no message for a client.
    before = stored_counts(services)
    response = enrol(client, keys.officer, [(name, signature + os.urandom(4000), kind)])
    body = assert_refused(services, before, response, 422)
    assert body["type"].endswith("/invalid-image")
    assert "0x" not in body["detail"] and "_io" not in body["detail"], body["detail"]
    assert body["detail"].startswith(f"{name}: ") and "corrupt" in body["detail"], body["detail"]


def test_garbage_after_a_png_signature_as_a_finger_is_explained_without_python_internals(client, keys, services):
    before = stored_counts(services)
    response = enrol(
        client, keys.officer, ["obama_2012_portrait.jpg"], fingers={2: b"\x89PNG\r\n\x1a\n" + os.urandom(4000)}
    )
    body = assert_refused(services, before, response, 422)
    assert "0x" not in body["detail"] and "_io" not in body["detail"], body["detail"]
    assert "finger-2.png" in body["detail"] and "corrupt" in body["detail"], body["detail"]


def test_png_bytes_declared_as_jpeg_are_refused_with_415(client, keys, services):
    before = stored_counts(services)
    png = fixture_bytes("collins_nasa_portrait.png")
    response = enrol(client, keys.officer, [("astronaut.jpg", png, "image/jpeg")])
    body = assert_refused(services, before, response, 415)
    assert "PNG" in body["detail"]


def test_file_over_max_upload_bytes_is_refused_with_413_and_nothing_stored(small_limits):
    client, services, keys = small_limits
    before = stored_counts(services)
    response = enrol(client, keys.officer, ["obama_2012_portrait.jpg"])
    body = assert_refused(services, before, response, 413)
    assert str(SMALL_UPLOAD) in body["detail"]


def test_decompression_bomb_header_is_refused_with_413_before_pixels_are_allocated(client, keys, services):
    before = stored_counts(services)
    bomb = png_with_header(50_000, 50_000)  # 2.5 gigapixels declared in a ~100-byte file
    assert len(bomb) < 200
    response = enrol(client, keys.officer, [("bomb.png", bomb, "image/png")])
    assert_refused(services, before, response, 413)


def test_image_over_max_image_pixels_but_under_pillows_own_limit_is_refused_with_413(client, keys, services):
    before = stored_counts(services)
    response = enrol(client, keys.officer, [("big.png", png_with_header(8000, 8000), "image/png")])  # 64 Mpx > 40 Mpx
    body = assert_refused(services, before, response, 413)
    assert "8000x8000" in body["detail"]


def test_image_smaller_than_min_image_side_is_refused_with_422(client, keys, services):
    before = stored_counts(services)
    tiny = jpeg_bytes(np.ascontiguousarray(load_rgb("obama_2012_portrait.jpg")[200:320, 200:320]))
    response = enrol(client, keys.officer, [("tiny.jpg", tiny, "image/jpeg")])
    body = assert_refused(services, before, response, 422)
    assert "smaller than 160" in body["detail"]


def test_one_bad_file_among_good_ones_refuses_the_whole_enrolment(client, keys, services):
    before = stored_counts(services)
    response = enrol(client, keys.officer, ["obama_2012_portrait.jpg", ("notes.jpg", b"hello" * 100, "image/jpeg")])
    assert_refused(services, before, response, 415)


# --- demographics and the shape of the request -------------------------------------------------------


def post_enrolment(client: TestClient, headers: dict, demographics: str, photos: list[str]):
    files = [("photos", (p, fixture_bytes(p), "image/jpeg")) for p in photos]
    return client.post("/v1/enrolments", headers=headers, data={"demographics": demographics}, files=files)


def test_missing_demographics_field_is_refused_with_422_naming_the_field(client, keys, services):
    before = stored_counts(services)
    data = person()
    del data["family_name"]
    response = post_enrolment(client, keys.officer, json.dumps(data), ["obama_2012_portrait.jpg"])
    body = assert_refused(services, before, response, 422)
    assert "family_name" in body["detail"]
    assert ["body", "demographics", "family_name"] in [e["location"] for e in body["errors"]]


def test_demographics_that_are_not_json_are_refused_with_422(client, keys, services):
    before = stored_counts(services)
    response = post_enrolment(client, keys.officer, "{given_name: María", ["obama_2012_portrait.jpg"])
    body = assert_refused(services, before, response, 422)
    assert "demographics" in body["detail"] and "JSON" in body["detail"]


def test_date_of_birth_in_the_future_is_refused_with_422(client, keys, services):
    before = stored_counts(services)
    response = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], date_of_birth="2999-01-01")
    body = assert_refused(services, before, response, 422)
    assert "date_of_birth" in body["detail"] and "future" in body["detail"]


@pytest.mark.parametrize(
    "written",
    [0, 1600000000, "2020-01-01T00:00:00", "20200101", 19880314.0],
    ids=["zero", "unix-time", "datetime", "compact", "float"],
)
def test_date_of_birth_not_written_as_a_calendar_date_is_refused_with_422(client, keys, services, written):
    # pydantic's lax mode would read 0 as 1970-01-01 and a midnight datetime as its date.
    before = stored_counts(services)
    response = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], date_of_birth=written)
    body = assert_refused(services, before, response, 422)
    assert "date_of_birth" in body["detail"] and "YYYY-MM-DD" in body["detail"], body["detail"]
    assert ["body", "demographics", "date_of_birth"] in [e["location"] for e in body["errors"]]


@pytest.mark.parametrize("field", ["date_of_issuance", "date_of_expiry"])
@pytest.mark.parametrize("written", [0, 4102444800, "2100-01-01T00:00:00Z"], ids=["zero", "unix-time", "datetime"])
def test_document_dates_not_written_as_calendar_dates_are_refused_with_422(client, keys, services, field, written):
    before = stored_counts(services)
    response = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], documents=[document(**{field: written})])
    body = assert_refused(services, before, response, 422)
    assert field in body["detail"] and "YYYY-MM-DD" in body["detail"], body["detail"]


def test_phone_not_in_e164_form_is_refused_with_422(client, keys, services):
    before = stored_counts(services)
    response = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], phone="call me maybe")
    body = assert_refused(services, before, response, 422)
    assert "phone" in body["detail"]


def test_enrolment_without_photos_is_refused_with_422(client, keys, services):
    before = stored_counts(services)
    response = client.post("/v1/enrolments", headers=keys.officer, data={"demographics": json.dumps(person())})
    body = assert_refused(services, before, response, 422)
    assert "photos" in body["detail"]


def test_more_photos_than_allowed_is_refused_with_422(client, keys, services):
    before = stored_counts(services)
    allowed = services.settings.max_photos_per_enrolment
    response = enrol(client, keys.officer, ["obama_2012_portrait.jpg"] * (allowed + 1))
    body = assert_refused(services, before, response, 422)
    assert f"at most {allowed} photos" in body["detail"]


def test_request_body_over_the_whole_body_limit_is_refused_with_413(small_limits):
    client, services, keys = small_limits
    before = stored_counts(services)
    response = client.post(
        "/v1/enrolments",
        headers=keys.officer,
        data={"demographics": json.dumps(person())},
        files=[("photos", ("huge.jpg", b"\xff\xd8\xff" + b"\0" * 600_000, "image/jpeg"))],
    )
    body = assert_refused(services, before, response, 413)
    assert body["type"].endswith("/payload-too-large")


def test_streamed_body_without_content_length_over_the_limit_is_refused_with_413(small_limits):
    client, services, keys = small_limits
    before = stored_counts(services)

    def chunks() -> Iterator[bytes]:
        for _ in range(60):
            yield b"x" * 10_000

    headers = {**keys.officer, "Content-Type": "multipart/form-data; boundary=civid"}
    response = client.post("/v1/enrolments", headers=headers, content=chunks())
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_refused(services, before, response, 413)


def test_unknown_route_is_a_404_problem(client, keys):
    body = assert_problem(client.get("/v1/no-such-thing", headers=keys.officer), 404)
    assert body["instance"] == "/v1/no-such-thing"


# --- who may call ------------------------------------------------------------------------------------


def test_enrolment_without_api_key_is_refused_with_401(client, services):
    before = stored_counts(services)
    response = enrol(client, {}, ["obama_2012_portrait.jpg"])
    assert_refused(services, before, response, 401)


def test_unknown_api_key_is_refused_with_401(client, services):
    before = stored_counts(services)
    response = enrol(client, {"Authorization": "Bearer civid_not-a-real-key"}, ["obama_2012_portrait.jpg"])
    assert_refused(services, before, response, 401)


def test_revoked_api_key_is_refused_with_401(client, keys, services):
    created = client.post("/v1/api-keys", headers=keys.admin, json={"name": "desk 9", "role": "officer"})
    assert created.status_code == 201, created.text
    officer = {"Authorization": f"Bearer {created.json()['key']}"}
    assert client.get("/v1/enrolments/none", headers=officer).status_code == 404  # the key works
    assert client.delete(f"/v1/api-keys/{created.json()['id']}", headers=keys.admin).status_code == 200
    before = stored_counts(services)
    response = enrol(client, officer, ["obama_2012_portrait.jpg"])
    body = assert_refused(services, before, response, 401)
    assert "revoked" in body["detail"]


def test_auditor_may_not_enrol(client, keys, services):
    before = stored_counts(services)
    response = enrol(client, keys.auditor, ["obama_2012_portrait.jpg"])
    body = assert_refused(services, before, response, 403)
    assert "auditor" in body["detail"]


def test_officer_may_not_decide_a_case(client, keys):
    enrol(client, keys.officer, ["obama_2012_portrait.jpg"])
    case_id = enrol(client, keys.officer2, ["obama_2010_blue_room.jpg"]).json()["case_id"]
    assert case_id
    response = client.post(
        f"/v1/cases/{case_id}/decision",
        headers=keys.officer,
        json={"decision": "not_duplicate", "comment": "looks like someone else"},
    )
    assert_problem(response, 403)
    assert client.get(f"/v1/cases/{case_id}", headers=keys.adjudicator).json()["status"] == "open"


def test_officer_may_not_identify(client, keys):
    response = client.post(
        "/v1/identify",
        headers=keys.officer,
        files={"photo": ("p.jpg", fixture_bytes("obama_2012_portrait.jpg"), "image/jpeg")},
    )
    assert_problem(response, 403)


def test_admin_may_not_read_enrolments(client, keys):
    assert_problem(client.get("/v1/enrolments/anything", headers=keys.admin), 403)
