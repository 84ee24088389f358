"""Synthetic people for load and concurrency runs of the dedup queue: 128-d face descriptors that pass the gates
already (no photo, no dlib), one random direction per person and a small perturbation per enrolment of them.

Two enrolments of one person score about 0.987 (never below 0.98: fused face LLR about 5.2, far above the dedup
threshold of 3, reached near cosine 0.95); two people score about 0 ± 0.09 (random directions in 128
dimensions), so who matches whom is known in advance.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray

from enrollment.quality import QualityReport
from enrollment.schemas import Demographics
from enrollment.workflow import Captured, ExtractedFace

# Per-coordinate perturbation of one enrolment. 0.02 put pairs near cosine 0.95, at the threshold: some pairs then
# rightly did not match, and a test could not tell that from a race.
NOISE = 0.01


def person_direction(rng: np.random.Generator) -> NDArray[np.float32]:
    vector = rng.standard_normal(128).astype(np.float32)
    return vector / np.linalg.norm(vector)


def enrolment_of(direction: NDArray[np.float32], rng: np.random.Generator) -> Captured:
    """One enrolment (one photo's descriptor) of the person whose face points along ``direction``."""
    vector = direction + rng.standard_normal(128).astype(np.float32) * NOISE
    vector = (vector / np.linalg.norm(vector)).astype(np.float32)
    report = QualityReport("synthetic.jpg", True, 0.9, 1)
    # ExtractedFace.face is an AcceptedFace; storing a template reads only its report (the quality score).
    face: Any = type("SyntheticFace", (), {"report": report})()
    return Captured([report.to_dict()], [ExtractedFace(face, vector, b"synthetic", "image/jpeg")], [], [], [])


def _letters(number: int) -> str:
    """0 → "A", 25 → "Z", 26 → "BA": names take letters only."""
    text = ""
    while True:
        number, digit = divmod(number, 26)
        text = chr(ord("A") + digit) + text
        if number == 0:
            return text


def demographics(number: int) -> Demographics:
    return Demographics.model_validate(
        {
            "given_name": "Person " + _letters(number),
            "family_name": "Synthetic",
            "date_of_birth": date(1990, 1, 1).isoformat(),
            "sex": "F",
            "place_of_birth": "Belmopan, Belize",
            "nationality": "BLZ",
            "address": {"line1": "1 Test Street", "locality": "Belmopan", "district": "Cayo", "country": "BLZ"},
        }
    )
