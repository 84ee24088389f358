"""The quality gate: one photo in, a verdict with a score and the reasons for any rejection out.

Checks, in order: exactly one face (zero or several is said explicitly), eye distance, blur, pose.
Each failed check becomes a ``QualityIssue`` with a stable code an officer's screen can translate.
The score (0-100) summarises how far the photo is above the limits, for the receipt and for choosing
the best of several photos; the pass/fail verdict comes from the checks alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np
from numpy.typing import NDArray

from civid.settings_groups import FaceGateParams
from civid.stopwatch import NULL, Stopwatch
from enrollment.capture import CapturedImage
from enrollment.face import FaceBox, FaceEngine, FaceLandmarks, Pose, estimate_pose, sharpness


@dataclass(frozen=True)
class QualityIssue:
    """Why a photo was refused: a stable ``code`` and a sentence for the officer."""

    code: str
    message: str


@dataclass(frozen=True)
class QualityReport:
    """The gate's verdict on one photo, with the measurements behind it."""

    filename: str
    passed: bool
    score: float
    faces_found: int
    issues: tuple[QualityIssue, ...] = ()
    inter_eye_px: float | None = None
    sharpness: float | None = None
    pose: Pose | None = None
    width: int = 0
    height: int = 0

    def to_dict(self) -> dict:
        return {
            "filename": self.filename,
            "passed": self.passed,
            "score": round(self.score, 1),
            "faces_found": self.faces_found,
            "width": self.width,
            "height": self.height,
            "inter_eye_px": None if self.inter_eye_px is None else round(self.inter_eye_px, 1),
            "sharpness": None if self.sharpness is None else round(self.sharpness, 1),
            "pose": None
            if self.pose is None
            else {"yaw": round(self.pose.yaw, 1), "pitch": round(self.pose.pitch, 1), "roll": round(self.pose.roll, 1)},
            "issues": [{"code": i.code, "message": i.message} for i in self.issues],
        }


class _ImageFields(TypedDict):
    """What every report on an image says about the image itself, whatever the verdict."""

    filename: str
    width: int
    height: int


@dataclass(frozen=True)
class AcceptedFace:
    """A photo that passed, with what the encoder needs."""

    image: CapturedImage
    box: FaceBox
    landmarks: FaceLandmarks
    report: QualityReport


@dataclass
class GateResult:
    report: QualityReport
    face: AcceptedFace | None = field(default=None)


def assess(engine: FaceEngine, image: CapturedImage, limits: FaceGateParams, watch: Stopwatch = NULL) -> GateResult:
    """Run every check on one decoded photo against the gate's limits (``settings.face_gate``)."""
    base: _ImageFields = {"filename": image.filename, "width": image.width, "height": image.height}
    with watch.stage("detect"):
        boxes = engine.detect(
            image.rgb, max_side=limits.detection_max_side, min_confidence=limits.detection_min_confidence
        )
    if not boxes:
        issue = QualityIssue("no_face", "no face was found in the photo")
        return GateResult(QualityReport(passed=False, score=0.0, faces_found=0, issues=(issue,), **base))
    if len(boxes) > 1:
        issue = QualityIssue("multiple_faces", f"{len(boxes)} faces were found; the photo must show one person only")
        return GateResult(QualityReport(passed=False, score=0.0, faces_found=len(boxes), issues=(issue,), **base))

    box = boxes[0]
    with watch.stage("landmarks"):
        landmarks = engine.landmarks(image.rgb, box)
        eyes = landmarks.inter_eye_distance
        sharp = sharpness(image.rgb, box)
        pose = estimate_pose(landmarks, image.width, image.height)
    issues: list[QualityIssue] = []
    if eyes < limits.min_inter_eye_px:
        issues.append(
            QualityIssue(
                "face_too_small",
                f"the eyes are {eyes:.0f} px apart; at least {limits.min_inter_eye_px:.0f} px needed "
                "(move closer or use a higher resolution)",
            )
        )
    if sharp < limits.min_sharpness:
        issues.append(
            QualityIssue(
                "blurred", f"the face is blurred (sharpness {sharp:.0f}, at least {limits.min_sharpness:.0f} needed)"
            )
        )
    if abs(pose.yaw) > limits.max_yaw_deg:
        issues.append(
            QualityIssue(
                "pose_yaw", f"the head is turned {abs(pose.yaw):.0f}° sideways (at most {limits.max_yaw_deg:.0f}°)"
            )
        )
    if abs(pose.pitch) > limits.max_pitch_deg:
        issues.append(
            QualityIssue(
                "pose_pitch",
                f"the head is tilted {abs(pose.pitch):.0f}° up or down (at most {limits.max_pitch_deg:.0f}°)",
            )
        )
    if abs(pose.roll) > limits.max_roll_deg:
        issues.append(
            QualityIssue(
                "pose_roll",
                f"the head is tilted {abs(pose.roll):.0f}° to one side (at most {limits.max_roll_deg:.0f}°)",
            )
        )

    score = _score(eyes, sharp, pose, limits)
    report = QualityReport(
        passed=not issues,
        score=score,
        faces_found=1,
        issues=tuple(issues),
        inter_eye_px=eyes,
        sharpness=sharp,
        pose=pose,
        **base,
    )
    face = AcceptedFace(image, box, landmarks, report) if not issues else None
    return GateResult(report, face)


def _score(eyes: float, sharp: float, pose: Pose, limits: FaceGateParams) -> float:
    """0-100: the mean of per-check margins, each 0 at its limit and 1 at twice the limit (or frontal)."""
    margins: NDArray[np.float64] = np.clip(
        np.array(
            [
                eyes / limits.min_inter_eye_px - 1.0,
                sharp / limits.min_sharpness - 1.0,
                1.0 - abs(pose.yaw) / limits.max_yaw_deg,
                1.0 - abs(pose.pitch) / limits.max_pitch_deg,
                1.0 - abs(pose.roll) / limits.max_roll_deg,
            ]
        ),
        0.0,
        1.0,
    )
    return float(100.0 * margins.mean())
