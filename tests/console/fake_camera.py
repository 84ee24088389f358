"""A fake desk camera for Chromium: a test photo as a .y4m video (``--use-file-for-fake-video-capture``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tests.browser import launch
from tests.conftest import FIXTURES


def photo_as_y4m(photo: str, target: Path, width: int = 640, height: int = 480, frames: int = 5) -> Path:
    """Write ``frames`` identical 4:2:0 frames of the fixture ``photo``, letterboxed to ``width``×``height``."""
    image = cv2.imread(str(FIXTURES / photo), cv2.IMREAD_COLOR)
    scale = min(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(
        image, (round(image.shape[1] * scale), round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA
    )
    canvas = np.full((height, width, 3), 128, np.uint8)
    top, left = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    canvas[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    planes = cv2.cvtColor(canvas, cv2.COLOR_BGR2YUV_I420)  # Y, then U, then V, as one (h*3/2, w) array
    with open(target, "wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            handle.write(b"FRAME\n")
            handle.write(planes.tobytes())
    return target


def chromium_with_desk_camera(folder: Path) -> Iterator[Any]:
    """Chromium whose camera films Eileen Collins' portrait (large enough for the eye-distance check), with
    camera access granted without a prompt; the .y4m video is written in ``folder``."""
    video = photo_as_y4m("collins_nasa_portrait.png", folder / "desk.y4m", 1280, 960)
    yield from launch(
        [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ]
    )


def fill_enrolment_with_camera(page: Any, given_name: str, date_of_birth: str) -> None:
    """On the console's enrolment form: type Eileen Collins' details, take the photo with the (fake) desk
    camera, and wait for the quality verdict, which must pass before anything is sent."""
    for field, value in {
        "given_name": given_name,
        "family_name": "Collins",
        "date_of_birth": date_of_birth,
        "place_of_birth": "Elmira, New York",
        "nationality": "USA",
        "address_line1": "1 Barrack Road",
        "address_locality": "Belize City",
    }.items():
        page.fill(f"#{field}", value)
    page.select_option("#sex", "F")
    page.click("#camera-start")
    page.locator("#camera-take").wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('#camera-preview').videoWidth > 0")
    page.click("#camera-take")
    verdict = page.locator("#face-quality.passed, #face-quality.refused")
    verdict.wait_for(timeout=30_000)
    assert "passes the quality checks" in verdict.inner_text(), verdict.inner_text()
