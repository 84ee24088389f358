"""The quality gate: each rejection reason end to end (HTTP), and the face stages it is built on."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from civid.settings import Settings
from enrollment.capture import CapturedImage, decode_image
from enrollment.face import default_engine, estimate_pose, normalise, sharpness
from enrollment.quality import assess
from models import AuditEvent, Enrolment
from tests.conftest import enrol, jpeg_bytes, load_rgb, stored_counts

PORTRAIT = "obama_2012_portrait.jpg"


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Two photos scaled to the same height and joined horizontally."""
    height = min(left.shape[0], right.shape[0])
    scaled = [
        cv2.resize(img, (round(img.shape[1] * height / img.shape[0]), height), interpolation=cv2.INTER_AREA)
        for img in (left, right)
    ]
    return np.ascontiguousarray(np.concatenate(scaled, axis=1))


def small_face_on_canvas(scale: float = 0.4, canvas: int = 480) -> np.ndarray:
    """The portrait shrunk (eyes ~26 px apart) and pasted on a grey canvas, so the image itself is large."""
    small = cv2.resize(load_rgb(PORTRAIT), None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    out = np.full((canvas, canvas, 3), 128, np.uint8)
    top, left = (canvas - small.shape[0]) // 2, (canvas - small.shape[1]) // 2
    out[top : top + small.shape[0], left : left + small.shape[1]] = small
    return out


def assert_rejected(client, keys, services, photos, code: str) -> dict:
    """Enrol ``photos``; expect status rejected for ``code``, nothing but the row and its audit event stored."""
    before = stored_counts(services)
    response = enrol(client, keys.officer, photos)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "rejected"
    assert body["uin"] is None and body["case_id"] is None
    assert code in [r["code"] for r in body["rejection_reasons"]]
    after = stored_counts(services)
    assert after == {
        **before,
        "enrolments": before["enrolments"] + 1,
        "enrolment_events": before["enrolment_events"] + 1,
    }
    with services.sessions() as session:
        row = session.scalars(select(Enrolment).where(Enrolment.public_id == body["id"])).one()
        assert row.status == "rejected" and row.identity_id is None and row.templates == []
        event = session.scalars(select(AuditEvent).where(AuditEvent.subject_id == body["id"])).one()
    assert event.action == "enrolment.rejected"
    assert code in event.detail["reasons"]
    return body


# --- each rejection, end to end ---------------------------------------------------------------------------


@pytest.mark.parametrize("picture", ["gradient", "noise"])
def test_photo_without_a_face_is_rejected_as_no_face(client, keys, services, picture):
    rng = np.random.default_rng(7)
    if picture == "gradient":
        rgb = np.tile(np.linspace(0, 255, 400, dtype=np.uint8)[None, :, None], (300, 1, 3))
    else:
        rgb = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    body = assert_rejected(client, keys, services, [(f"{picture}.jpg", jpeg_bytes(rgb), "image/jpeg")], "no_face")
    assert body["quality"][0]["faces_found"] == 0 and body["quality"][0]["score"] == 0


def test_photo_with_two_faces_is_rejected_as_multiple_faces(client, keys, services):
    two = side_by_side(load_rgb(PORTRAIT), load_rgb("biden_2010_blue_room.jpg"))
    body = assert_rejected(client, keys, services, [("two.jpg", jpeg_bytes(two), "image/jpeg")], "multiple_faces")
    assert body["quality"][0]["faces_found"] == 2


def test_blurred_photo_is_rejected_as_blurred(client, keys, services):
    blurred = cv2.GaussianBlur(load_rgb(PORTRAIT), (0, 0), 3)
    body = assert_rejected(client, keys, services, [("blurred.jpg", jpeg_bytes(blurred), "image/jpeg")], "blurred")
    assert body["quality"][0]["sharpness"] < services.settings.min_sharpness
    assert [r["code"] for r in body["rejection_reasons"]] == ["blurred"]


def test_face_with_eyes_too_close_together_is_rejected_as_face_too_small(client, keys, services):
    photo = small_face_on_canvas()
    assert min(photo.shape[:2]) >= services.settings.min_image_side
    body = assert_rejected(client, keys, services, [("far.jpg", jpeg_bytes(photo), "image/jpeg")], "face_too_small")
    assert body["quality"][0]["inter_eye_px"] < services.settings.min_inter_eye_px


def test_head_turned_past_the_yaw_limit_is_rejected_as_pose_yaw(client, keys, services):
    body = assert_rejected(client, keys, services, ["obama_2009_congress.jpg"], "pose_yaw")
    assert abs(body["quality"][0]["pose"]["yaw"]) > services.settings.max_yaw_deg


def test_photos_of_two_different_people_in_one_enrolment_are_rejected(client, keys, services):
    body = assert_rejected(client, keys, services, [PORTRAIT, "biden_2010_blue_room.jpg"], "photos_not_same_person")
    # Each photo passed the gate on its own; only the consistency check failed.
    assert [q["passed"] for q in body["quality"]] == [True, True]


def test_rejection_of_one_photo_rejects_the_whole_enrolment(client, keys, services):
    body = assert_rejected(client, keys, services, [PORTRAIT, "obama_2009_congress.jpg"], "pose_yaw")
    assert [q["passed"] for q in body["quality"]] == [True, False]


def test_a_looser_pose_limit_accepts_the_turned_head(tmp_path):
    settings = Settings(data_dir=tmp_path, max_yaw_deg=40.0)
    image = CapturedImage(load_rgb("obama_2009_congress.jpg"), "JPEG", "turned.jpg")
    assert assess(default_engine(), image, settings.face_gate).report.passed


# --- the score ------------------------------------------------------------------------------------------


def test_quality_score_is_reported_per_photo_and_a_passing_photo_has_no_issues(client, keys):
    body = enrol(client, keys.officer, [PORTRAIT, "obama_2010_blue_room.jpg"]).json()
    assert body["status"] == "issued", body
    assert [q["filename"] for q in body["quality"]] == [PORTRAIT, "obama_2010_blue_room.jpg"]
    for quality in body["quality"]:
        assert quality["passed"] and quality["issues"] == []
        assert 0 < quality["score"] <= 100
        assert quality["faces_found"] == 1
        assert set(quality["pose"]) == {"yaw", "pitch", "roll"}


def test_score_is_within_0_and_100_for_rejected_photos_too(client, keys):
    blurred = cv2.GaussianBlur(load_rgb(PORTRAIT), (0, 0), 3)
    body = enrol(client, keys.officer, [("b.jpg", jpeg_bytes(blurred), "image/jpeg"), "obama_2009_congress.jpg"]).json()
    assert all(0 <= q["score"] <= 100 for q in body["quality"])


# --- the face stages (unit level, real models) -------------------------------------------------------------


@pytest.fixture(scope="module")
def engine():
    return default_engine()


def test_frontal_portrait_has_small_yaw_and_roll(engine):
    rgb = load_rgb(PORTRAIT)
    box = engine.detect(rgb, max_side=1024, min_confidence=0.5)[0]
    pose = estimate_pose(engine.landmarks(rgb, box), rgb.shape[1], rgb.shape[0])
    assert abs(pose.yaw) < 15 and abs(pose.roll) < 10 and abs(pose.pitch) < 30


def test_turned_head_has_yaw_over_30_degrees(engine):
    rgb = load_rgb("obama_2009_congress.jpg")
    box = engine.detect(rgb, max_side=1024, min_confidence=0.5)[0]
    pose = estimate_pose(engine.landmarks(rgb, box), rgb.shape[1], rgb.shape[0])
    assert abs(pose.yaw) > 30


def test_mirrored_photo_turns_yaw_sign(engine):
    rgb = load_rgb("obama_2009_congress.jpg")
    yaws = []
    for image in (rgb, np.ascontiguousarray(rgb[:, ::-1])):
        box = engine.detect(image, max_side=1024, min_confidence=0.5)[0]
        yaws.append(estimate_pose(engine.landmarks(image, box), image.shape[1], image.shape[0]).yaw)
    assert yaws[0] * yaws[1] < 0


def test_detector_finds_two_faces_side_by_side_with_boxes_in_full_size_pixels(engine):
    two = side_by_side(load_rgb(PORTRAIT), load_rgb("biden_2010_blue_room.jpg"))
    boxes = engine.detect(two, max_side=400, min_confidence=0.5)  # detection on a downscaled copy
    assert len(boxes) == 2
    middle = two.shape[1] / 2
    assert sorted(b.left < middle for b in boxes) == [False, True]
    assert all(0 <= b.left < b.right <= two.shape[1] and 0 <= b.top < b.bottom <= two.shape[0] for b in boxes)


def test_blur_lowers_sharpness_of_the_face_crop(engine):
    rgb = load_rgb(PORTRAIT)
    box = engine.detect(rgb, max_side=1024, min_confidence=0.5)[0]
    blurred = cv2.GaussianBlur(rgb, (0, 0), 3)
    assert sharpness(blurred, box) < 60 < sharpness(rgb, box)


def test_descriptors_are_unit_length_and_closer_for_the_same_person(engine):
    def describe(name: str) -> np.ndarray:
        rgb = load_rgb(name)
        box = engine.detect(rgb, max_side=1024, min_confidence=0.5)[0]
        return engine.encode(rgb, engine.landmarks(rgb, box))

    obama_2012, obama_2010, biden = (
        describe(PORTRAIT),
        describe("obama_2010_blue_room.jpg"),
        describe("biden_2010_blue_room.jpg"),
    )
    assert obama_2012.shape == (128,) and obama_2012.dtype == np.float32
    assert abs(float(np.linalg.norm(obama_2012)) - 1.0) < 1e-5
    assert float(obama_2012 @ obama_2010) >= 0.91 > float(obama_2012 @ biden)


def test_normalise_refuses_a_zero_vector():
    with pytest.raises(ValueError):
        normalise(np.zeros(128, np.float32))


def test_exif_rotated_photo_is_turned_upright_and_passes_the_gate(engine, tmp_path):
    # Stored rotated 90° with EXIF Orientation=6 ("rotate 90° clockwise to display"), as phones do.
    rotated = Image.fromarray(np.ascontiguousarray(np.rot90(load_rgb(PORTRAIT))))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    rotated.save(buffer, format="JPEG", quality=92, exif=exif)
    image = decode_image(
        buffer.getvalue(),
        filename="phone.jpg",
        content_type="image/jpeg",
        max_bytes=10**7,
        max_pixels=10**8,
        min_side=160,
    )
    assert image.rgb.shape[:2] == load_rgb(PORTRAIT).shape[:2]
    assert assess(engine, image, Settings(data_dir=tmp_path).face_gate).report.passed
