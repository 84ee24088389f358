"""A fake desk camera for Chromium: a test photo as a .y4m video (``--use-file-for-fake-video-capture``)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tests.conftest import FIXTURES


def photo_as_y4m(photo: str, target: Path, width: int = 640, height: int = 480, frames: int = 5) -> Path:
    """Write ``frames`` identical 4:2:0 frames of the fixture ``photo``, letterboxed to ``width``×``height``."""
    image = cv2.imread(str(FIXTURES / photo), cv2.IMREAD_COLOR)
    scale = min(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA)
    canvas = np.full((height, width, 3), 128, np.uint8)
    top, left = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    canvas[top:top + resized.shape[0], left:left + resized.shape[1]] = resized
    planes = cv2.cvtColor(canvas, cv2.COLOR_BGR2YUV_I420)  # Y, then U, then V, as one (h*3/2, w) array
    with open(target, "wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            handle.write(b"FRAME\n")
            handle.write(planes.tobytes())
    return target
