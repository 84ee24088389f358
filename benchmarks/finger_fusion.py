"""Score-level fusion of two finger matchers, fitted out of fold, and the comparisons/s of each matcher.

Used by ``benchmarks.finger_lodo``: a fused pipeline (e.g. ``images·MINDTCT+MCC⊕BOZORTH3``) combines the
scores its component pipelines gave the same pairs. Each score is first put on a comparable footing by a
fixed monotone transform (MCC as is, the consolidated MCC's square root — its score is a squared count —,
BOZORTH3's log1p, whose raw scale runs to hundreds; the edge-graph score's square root, likewise a
squared count), then a logistic regression, genuine and impostor pairs
weighted equally, is fitted on the *other* databases' pairs only and applied to the held-out one. The fused
score is the regression's probability, in (0, 1).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# matcher -> the monotone transform its score goes through before the regression
FEATURES: dict[str, Callable[[NDArray[np.float64]], NDArray[np.float64]]] = {
    "mcc": lambda s: s,
    "mcc-gc": np.sqrt,
    "bozorth3": np.log1p,
    "edge": np.sqrt,  # matcher.edge_graph's score is a squared agreement over the minutiae counts
}


@dataclass(frozen=True)
class FusionFit:
    """Logistic-regression weights over the transformed component scores (last entry: the intercept)."""

    matchers: tuple[str, ...]
    weights: NDArray[np.float64]

    def __call__(self, components: Sequence[NDArray[np.float32]]) -> NDArray[np.float32]:
        """The fused score of pairs given each component's scores (same order as ``matchers``)."""
        x = _design(self.matchers, components)
        return (1 / (1 + np.exp(-(x @ self.weights)))).astype(np.float32)


def _design(matchers: Sequence[str], components: Sequence[NDArray[np.float32]]) -> NDArray[np.float64]:
    columns = [
        FEATURES[m.partition(":")[0]](np.clip(np.asarray(c, np.float64), 0, None)) for m, c in zip(matchers, components)
    ]
    return np.column_stack([*columns, np.ones(len(columns[0]))])


def fit_fusion(
    matchers: Sequence[str],
    genuine: Sequence[NDArray[np.float32]],
    impostor: Sequence[NDArray[np.float32]],
    ridge: float = 1e-3,
    iterations: int = 50,
) -> FusionFit:
    """Class-balanced, lightly ridge-regularised logistic regression (Newton's method) of genuine vs impostor
    on the transformed component scores."""
    x = np.vstack([_design(matchers, genuine), _design(matchers, impostor)])
    n_genuine, n_impostor = len(genuine[0]), len(impostor[0])
    y = np.r_[np.ones(n_genuine), np.zeros(n_impostor)]
    sample_weight = np.r_[np.full(n_genuine, 0.5 / n_genuine), np.full(n_impostor, 0.5 / n_impostor)]
    weights = np.zeros(x.shape[1])
    penalty = ridge * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0  # the intercept is not shrunk
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(x @ weights)))
        gradient = x.T @ (sample_weight * (p - y)) + penalty @ weights
        hessian = (x * (sample_weight * p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-9:
            break
    return FusionFit(tuple(matchers), weights)


def comparisons_per_second(score_pair: Callable[[int, int], float], pairs: NDArray[np.int64]) -> float:
    """Comparisons per CPU-second of this process (one core: the matchers are single-threaded numpy/C) over
    ``pairs``; CPU time rather than wall time, so other load on the machine does not count against it."""
    started = time.process_time()
    for i, j in pairs:
        score_pair(int(i), int(j))
    spent = time.process_time() - started
    return len(pairs) / spent if spent > 0 else float("inf")
