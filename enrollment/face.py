"""Face stages: detect, landmarks, pose, encode — dlib's HOG detector, 68-point landmarks and ResNet.

Nothing here knows about HTTP or SQL. Models come from the ``face-recognition-models`` package, located
on disk without importing it (its ``__init__`` imports ``pkg_resources``, gone from setuptools >= 81),
and never from the internet.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import dlib
import numpy as np
from numpy.typing import NDArray

from civid.errors import ConfigurationError

DESCRIPTOR_DIM = 128
LANDMARKS_68 = "shape_predictor_68_face_landmarks.dat"
RESNET = "dlib_face_recognition_resnet_model_v1.dat"

# Generic 3D head (mm-like units) for the six landmarks used by solvePnP: nose tip, chin, outer eye
# corners, mouth corners. Only angles are read, so the model's scale does not matter.
_HEAD_MODEL = np.array(
    [
        (0.0, 0.0, 0.0),
        (0.0, -330.0, -65.0),
        (-225.0, 170.0, -135.0),
        (225.0, 170.0, -135.0),
        (-150.0, -150.0, -125.0),
        (150.0, -150.0, -125.0),
    ],
    dtype=np.float64,
)
_HEAD_LANDMARKS = [30, 8, 36, 45, 48, 54]


@dataclass(frozen=True)
class FaceBox:
    """A detected face in full-image pixel coordinates, with the detector's confidence."""

    left: int
    top: int
    right: int
    bottom: int
    confidence: float

    @property
    def width(self) -> int:
        return self.right - self.left

    def to_dlib(self) -> dlib.rectangle:
        return dlib.rectangle(self.left, self.top, self.right, self.bottom)


@dataclass(frozen=True)
class Pose:
    """Head pose in degrees: yaw (turn), pitch (nod), roll (in-plane tilt)."""

    yaw: float
    pitch: float
    roll: float


@dataclass(frozen=True)
class FaceLandmarks:
    """68 landmark points, shape (68, 2), full-image pixel coordinates."""

    points: NDArray[np.float64]
    shape: dlib.full_object_detection

    @property
    def left_eye(self) -> NDArray[np.float64]:
        return self.points[36:42].mean(axis=0)

    @property
    def right_eye(self) -> NDArray[np.float64]:
        return self.points[42:48].mean(axis=0)

    @property
    def inter_eye_distance(self) -> float:
        return float(np.linalg.norm(self.right_eye - self.left_eye))


def models_dir() -> Path:
    """Folder holding dlib's trained models, shipped by the face-recognition-models package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError("face-recognition-models is not installed: pip install face-recognition-models")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    if not (folder / RESNET).is_file():
        raise ConfigurationError(f"dlib models not found in {folder}")
    return folder


class FaceEngine:
    """The loaded dlib models. dlib's network objects are not safe for concurrent calls, hence the lock."""

    def __init__(self, folder: Path | None = None) -> None:
        folder = folder or models_dir()
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(folder / LANDMARKS_68))
        self._encoder = dlib.face_recognition_model_v1(str(folder / RESNET))
        self._lock = threading.Lock()

    def detect(self, rgb: NDArray[np.uint8], *, max_side: int, min_confidence: float) -> list[FaceBox]:
        """Find faces, on a copy downscaled to ``max_side`` for speed; boxes are in full-size pixels."""
        height, width = rgb.shape[:2]
        scale = min(1.0, max_side / max(height, width))
        small = (
            rgb
            if scale == 1.0
            else cv2.resize(rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        )
        # Upsample once when the working image is small, so faces down to ~40 px are found.
        upsample = 1 if max(small.shape[:2]) <= 640 else 0
        with self._lock:
            rects, scores, _ = self._detector.run(small, upsample, 0.0)
        boxes = []
        for rect, score in zip(rects, scores):
            if score < min_confidence:
                continue
            boxes.append(
                FaceBox(
                    left=max(0, round(rect.left() / scale)),
                    top=max(0, round(rect.top() / scale)),
                    right=min(width, round(rect.right() / scale)),
                    bottom=min(height, round(rect.bottom() / scale)),
                    confidence=float(score),
                )
            )
        return sorted(boxes, key=lambda b: -b.confidence)

    def landmarks(self, rgb: NDArray[np.uint8], box: FaceBox) -> FaceLandmarks:
        """The 68 landmarks of one face."""
        with self._lock:
            shape = self._predictor(rgb, box.to_dlib())
        points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
        return FaceLandmarks(points=points, shape=shape)

    def encode(self, rgb: NDArray[np.uint8], landmarks: FaceLandmarks) -> NDArray[np.float32]:
        """The 128-d ResNet descriptor, L2-normalised float32 (so inner product = cosine similarity)."""
        with self._lock:
            raw = self._encoder.compute_face_descriptor(rgb, landmarks.shape, 1)
        return normalise(np.asarray(raw, dtype=np.float32))


def normalise(vector: NDArray[np.float32]) -> NDArray[np.float32]:
    """L2-normalise a descriptor (shape (128,)) as float32."""
    vector = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        raise ValueError("zero descriptor")
    return (vector / norm).astype(np.float32)


def estimate_pose(landmarks: FaceLandmarks, image_width: int, image_height: int) -> Pose:
    """Head pose from six landmarks with a generic 3D head and a pinhole camera (cv2.solvePnP)."""
    image_points = landmarks.points[_HEAD_LANDMARKS].astype(np.float64)
    focal = float(max(image_width, image_height))
    camera = np.array([[focal, 0, image_width / 2], [0, focal, image_height / 2], [0, 0, 1]], dtype=np.float64)
    ok, rotation_vector, _ = cv2.solvePnP(_HEAD_MODEL, image_points, camera, np.zeros(4), flags=cv2.SOLVEPNP_ITERATIVE)
    eye_vector = landmarks.right_eye - landmarks.left_eye
    roll = float(np.degrees(np.arctan2(eye_vector[1], eye_vector[0])))
    if not ok:
        return Pose(yaw=90.0, pitch=90.0, roll=roll)
    rotation, _ = cv2.Rodrigues(rotation_vector)
    # Euler angles (x: pitch, y: yaw) of the head relative to the camera.
    sy = float(np.hypot(rotation[0, 0], rotation[1, 0]))
    pitch = float(np.degrees(np.arctan2(rotation[2, 1], rotation[2, 2])))
    yaw = float(np.degrees(np.arctan2(-rotation[2, 0], sy)))
    # The model's y axis points up while image y points down: a frontal face reads as pitch ±180.
    pitch = pitch - 180.0 if pitch > 90.0 else pitch + 180.0 if pitch < -90.0 else pitch
    return Pose(yaw=yaw, pitch=pitch, roll=roll)


def sharpness(rgb: NDArray[np.uint8], box: FaceBox) -> float:
    """Variance of the Laplacian of the face crop resized to 160x160: low means blurred."""
    crop = rgb[max(0, box.top) : box.bottom, max(0, box.left) : box.right]
    if crop.size == 0:
        return 0.0
    grey = cv2.cvtColor(cv2.resize(crop, (160, 160), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


@lru_cache(maxsize=1)
def default_engine() -> FaceEngine:
    """The process-wide models (loading takes ~1 s and ~100 MB)."""
    return FaceEngine()
