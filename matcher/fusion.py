"""Score-level fusion of face and fingerprint comparisons, as calibrated log-likelihood ratios.

Each modality's raw score (cosine similarity of face descriptors; MCC similarity of a finger pair)
means something different on a different scale. Each is mapped to a log10 likelihood ratio,
``LLR(s) = log10( p(s | same person) / p(s | different people) )``, by a monotone piecewise-linear
table fitted on real genuine and impostor scores (benchmarks/fusion_calibration.py: faces from LFW,
fingers from FVC2000 + FVC2002; the tables ship in ``matcher/calibration.json``). Assuming the modalities
and the fingers of one person err independently, the LLRs of everything compared add up, so a person
compared on the face and three fingers gets one fused LLR. One threshold on the fused LLR decides,
and benchmarks/fusion.py states its false-positive identification rate on chimeric identities.

The independence of fingers is assumed, not measured: no data set here links several fingers to one
person (FVC's fingers of different databases are different fingers). Real fingers of one person are
correlated (pattern class, skin condition, the same capture session), so the sum overstates the
evidence of several fingers somewhat. One guard does not rest on it: no single finger's LLR counts for
more than ``finger_llr_cap``, which start-up checks is below the dedup threshold
(``Fusion.threshold_problem``), so one finger alone — the evidence most exposed to a sensor the
calibration never saw — can never put two people in one case.

A modality that was not compared (no fingerprints given, a finger missing on one side) adds 0: it
neither helps nor hurts, and the case record says which modalities were used.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
FACE = "face"
FINGER = "finger"
LLR_FLOOR = -2.0  # see Fusion.llr_floor


@dataclass(frozen=True)
class Calibration:
    """A monotone map from one modality's raw score to a log10 likelihood ratio."""

    modality: str
    scores: tuple[float, ...]  # increasing knots of the raw score
    llr: tuple[float, ...]  # non-decreasing log10 LR at each knot; clamped beyond the ends

    def __post_init__(self) -> None:
        if len(self.scores) < 2 or len(self.scores) != len(self.llr):
            raise ValueError(f"{self.modality}: a calibration needs at least two (score, llr) knots")
        if any(b <= a for a, b in zip(self.scores, self.scores[1:])):
            raise ValueError(f"{self.modality}: calibration scores must increase")
        if any(b < a for a, b in zip(self.llr, self.llr[1:])):
            raise ValueError(
                f"{self.modality}: calibration LLRs must not decrease (a higher score is more likely mated)"
            )

    def __call__(self, score: float) -> float:
        """log10 likelihood ratio of one raw score (clamped at the fitted range, so never infinite)."""
        return float(np.interp(score, self.scores, self.llr))


@dataclass(frozen=True)
class FusedScore:
    """One candidate's evidence: the LLR per modality compared, and their sum."""

    face_score: float | None = None
    finger_scores: dict[int, float] = field(default_factory=dict)  # finger position -> raw matcher score
    face_llr: float = 0.0
    finger_llr: float = 0.0

    @property
    def llr(self) -> float:
        return self.face_llr + self.finger_llr

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(m for m, used in ((FACE, self.face_score is not None), (FINGER, bool(self.finger_scores))) if used)


@dataclass(frozen=True)
class Fusion:
    """The calibrations of every modality and the rule that adds them up."""

    face: Calibration
    finger: Calibration
    source: str = ""
    # No single comparison counts for less than this. The face table reaches -4.3 (33M impostor pairs
    # behind it) while one finger tops out near +3.9 (34,560): unfloored, a poor or substituted photo
    # would veto two matching fingers. A floor keeps strong evidence from one modality visible to the
    # adjudicator, at a small cost in false matches (benchmarks/fusion.py measures it).
    llr_floor: float = LLR_FLOOR
    # No single finger counts for more than this (calibration.json's "finger_llr_cap"; none = unbounded, which
    # threshold_problem refuses). Fitted leave-one-database-out, one finger's table reaches LLR 3.3-3.9 while the
    # dedup threshold is 3.0: uncapped, one finger from a sensor never seen could open a case on its own.
    finger_llr_cap: float = math.inf

    def face_llr(self, score: float) -> float:
        """The LLR one face comparison contributes: the calibrated value, floored."""
        return max(self.face(score), self.llr_floor)

    def finger_llr(self, score: float) -> float:
        """The LLR one finger comparison contributes: the calibrated value, floored and capped."""
        return min(max(self.finger(score), self.llr_floor), self.finger_llr_cap)

    def threshold_problem(self, dedup_llr_threshold: float) -> str | None:
        """Why this calibration must not be used with ``dedup_llr_threshold``, or None when it may."""
        if self.finger_llr_cap >= dedup_llr_threshold:
            return (
                f"the finger LLR cap ({self.finger_llr_cap:g}, matcher/calibration.json 'finger_llr_cap') is not "
                f"below dedup_llr_threshold ({dedup_llr_threshold:g}): one finger alone could clear the dedup "
                "threshold and put two people in one case. Refit the calibration "
                "(python -m benchmarks.fusion_calibration) or raise CIVID_DEDUP_LLR_THRESHOLD."
            )
        return None

    def fuse(self, face_score: float | None, finger_scores: dict[int, float] | None = None) -> FusedScore:
        """Combine a face score (or None) and per-finger scores (position -> score) into one LLR."""
        fingers = dict(finger_scores or {})
        return FusedScore(
            face_score=face_score,
            finger_scores=fingers,
            face_llr=self.face_llr(face_score) if face_score is not None else 0.0,
            finger_llr=sum(self.finger_llr(s) for s in fingers.values()),
        )

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> Fusion:
        """Read the calibration tables written by benchmarks/fusion_calibration.py."""
        data = json.loads(path.read_text())
        tables = {
            name: Calibration(name, tuple(data[name]["scores"]), tuple(data[name]["llr"])) for name in (FACE, FINGER)
        }
        cap = data.get("finger_llr_cap")
        return cls(
            face=tables[FACE],
            finger=tables[FINGER],
            source=str(data.get("source", "")),
            finger_llr_cap=math.inf if cap is None else float(cap),
        )


def fit_calibration(
    modality: str, genuine: Iterable[float], impostor: Iterable[float], knots: int = 24, max_abs_llr: float = 8.0
) -> Calibration:
    """Fit a monotone LLR table from genuine and impostor scores (histogram ratio + pool-adjacent-violators).

    Bins are quantiles of the pooled scores, each bin's LLR is the log ratio of the two empirical
    densities with a half-count prior (so an empty bin gives a finite value), then made monotone."""
    g = np.sort(np.asarray(list(genuine), dtype=np.float64))
    i = np.sort(np.asarray(list(impostor), dtype=np.float64))
    if len(g) < 10 or len(i) < 10:
        raise ValueError(f"{modality}: need at least 10 genuine and 10 impostor scores to calibrate")
    pooled = np.concatenate([g, i])
    edges = np.unique(np.quantile(pooled, np.linspace(0.0, 1.0, knots + 1)))
    g_counts = np.histogram(g, edges)[0] + 0.5
    i_counts = np.histogram(i, edges)[0] + 0.5
    ratio = np.log10((g_counts / g_counts.sum()) / (i_counts / i_counts.sum()))
    weights = g_counts + i_counts
    monotone = np.clip(_pool_adjacent_violators(ratio, weights), -max_abs_llr, max_abs_llr)
    centres = (edges[:-1] + edges[1:]) / 2
    return Calibration(modality, tuple(float(c) for c in centres), tuple(float(v) for v in monotone))


def _pool_adjacent_violators(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted isotonic (non-decreasing) regression."""
    blocks: list[list[float]] = []  # [mean, weight, length]
    for value, weight in zip(values.tolist(), weights.tolist()):
        blocks.append([value, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    return np.concatenate([np.full(int(n), v) for v, _, n in blocks])
