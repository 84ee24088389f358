"""The edge-graph matcher (matcher.edge_graph) on synthetic prints: mates score above strangers (minutiae sets,
and MINDTCT minutiae of generated fingerprint images), the pose of either print is irrelevant, the score is
deterministic, and empty or tiny templates score 0 without failing."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from matcher import edge_graph, nbis_bridge
from matcher.iso19794 import minutiae_array
from tests.matcher.test_mcc import finger, impression
from tests.synthetic_fingerprints import impressions


def _score(a: np.ndarray, b: np.ndarray) -> float:
    return edge_graph.similarity(edge_graph.template(a), edge_graph.template(b))


def _posed(minutiae: np.ndarray, angle: float, shift: tuple[float, float]) -> np.ndarray:
    """The same print turned by ``angle`` and moved by ``shift`` (image y down, θ counter-clockwise, as ISO)."""
    cos, sin = math.cos(angle), math.sin(angle)
    x = cos * minutiae[:, 0] + sin * minutiae[:, 1] + shift[0]
    y = -sin * minutiae[:, 0] + cos * minutiae[:, 1] + shift[1]
    return np.column_stack([x, y, (minutiae[:, 2] + angle) % (2 * math.pi)]).astype(np.float32)


def test_mated_impressions_score_above_every_unrelated_finger() -> None:
    mated = [_score(finger(seed), impression(finger(seed), seed + 100)) for seed in range(5)]
    strangers = [_score(finger(seed), finger(seed + 50)) for seed in range(5)]
    assert min(mated) > 3 * max(strangers)
    assert all(s >= 0 for s in mated + strangers)


def test_a_re_impressed_synthetic_finger_outscores_other_fingers_through_mindtct() -> None:
    # Images from the project's generator, minutiae by MINDTCT: the matcher on the minutiae a desk would store.
    def minutiae(image: np.ndarray) -> edge_graph.EdgeTemplate:
        view = nbis_bridge.extract(image, 500).minutiae
        types = np.array([int(m.type) for m in view], np.int8)
        return edge_graph.template(minutiae_array(_view(view)), types)

    first, second = (minutiae(image) for image in impressions(41, 2))
    others = [minutiae(impressions(seed, 1)[0]) for seed in (42, 43)]
    mated = edge_graph.similarity(first, second)
    assert mated > 0
    assert all(mated > edge_graph.similarity(first, other) for other in others)
    assert all(mated > edge_graph.similarity(second, other) for other in others)


def _view(minutiae: tuple) -> object:
    from matcher.iso19794 import FingerView

    return FingerView(position=0, minutiae=minutiae)


def test_score_ignores_the_pose_of_either_print_at_any_angle() -> None:
    base = finger(7)
    other = impression(finger(7), 8, angle=0.0, shift=(0.0, 0.0), spurious=3)
    reference = _score(base, other)
    assert reference > 0
    # Edges are measured relative to themselves, so even a print upside down matches as well (MCC stops at 90°).
    for angle, shift in ((1.2, (40.0, -25.0)), (-1.0, (-60.0, 15.0)), (math.pi, (300.0, 200.0)), (0.0, (7.5, 3.25))):
        assert _score(base, _posed(other, angle, shift)) == pytest.approx(reference, rel=0.02)


def test_score_is_deterministic_and_nearly_symmetric() -> None:
    a, b = finger(3), impression(finger(3), 4)
    first = _score(a, b)
    assert _score(a, b) == first
    assert edge_graph.similarity(edge_graph.template(a), edge_graph.template(b)) == first
    assert _score(b, a) == pytest.approx(first, rel=0.15)  # roots are ranked from the same matching edges


def test_identical_prints_score_highest() -> None:
    a = finger(11)
    assert _score(a, a) > _score(a, impression(a, 12))


def test_empty_and_tiny_templates_score_zero() -> None:
    a = finger(5)
    none = np.zeros((0, 3), np.float32)
    assert len(edge_graph.template(none)) == 0
    assert _score(a, none) == 0.0 and _score(none, a) == 0.0 and _score(none, none) == 0.0
    assert _score(a, a[:1]) == 0.0  # one minutia has no edge
    assert _score(a[:2], a[:2]) >= 0.0  # two minutiae: one edge, no failure
    assert math.isfinite(_score(a[:3], a))
    with_nan = a.copy()
    with_nan[0, 0] = np.nan  # a corrupt minutia is left out, not propagated
    assert math.isfinite(_score(with_nan, a))


def test_templates_of_different_parameters_are_not_compared() -> None:
    other = replace(edge_graph.EDGE_GRAPH, neighbours=5)
    with pytest.raises(ValueError):
        edge_graph.similarity(edge_graph.template(finger(1)), edge_graph.template(finger(1), params=other))
