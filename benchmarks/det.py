"""DET curves and score histograms of verification scores, drawn as PNG with matplotlib.

A DET curve plots the false non-match rate against the false match rate over every threshold, both axes
logarithmic (ISO/IEC 19795-1's convention), so the low-FMR end a deduplication runs at is visible.
matplotlib is a test/benchmark extra, imported inside the drawing functions only (Agg backend, no display).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

RATE_FLOOR = 1e-4  # the axes' lower end: rates below it (and rates of exactly 0) are drawn at the edge or left out


@dataclass(frozen=True)
class Curve:
    """One DET curve: a label and the genuine and impostor scores it is drawn from (higher = more alike)."""

    label: str
    genuine: NDArray[np.float32]  # (G,)
    impostor: NDArray[np.float32]  # (I,)
    emphasised: bool = False  # drawn thick and dark (e.g. the pooled curve among per-database ones)


def det_points(
    genuine: NDArray[np.float32], impostor: NDArray[np.float32]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(FMR, FNMR) at every distinct score taken as threshold (accept score >= threshold), FMR decreasing."""
    g, i = np.sort(np.asarray(genuine, np.float64)), np.sort(np.asarray(impostor, np.float64))
    thresholds = np.unique(np.concatenate([g, i, [np.inf]]))
    fmr = 1.0 - np.searchsorted(i, thresholds, side="left") / len(i)
    fnmr = np.searchsorted(g, thresholds, side="left") / len(g)
    return fmr, fnmr


def _log_axes(axes: Any, title: str) -> None:
    from matplotlib.ticker import LogLocator

    ticks = [10.0**k for k in range(-4, 1)]
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlim(RATE_FLOOR, 1.0)
    axes.set_ylim(RATE_FLOOR, 1.0)
    axes.set_xticks(ticks, ["1e-4", "1e-3", "1e-2", "0.1", "1"])
    axes.set_yticks(ticks, ["1e-4", "1e-3", "1e-2", "0.1", "1"])
    axes.xaxis.set_minor_locator(LogLocator(subs=tuple(range(2, 10))))
    axes.yaxis.set_minor_locator(LogLocator(subs=tuple(range(2, 10))))
    axes.grid(True, which="major", alpha=0.5)
    axes.grid(True, which="minor", alpha=0.15)
    axes.set_xlabel("false match rate (FMR)")
    axes.set_ylabel("false non-match rate (FNMR)")
    axes.set_title(title, fontsize=10)


def plot_det(panels: dict[str, Sequence[Curve]], path: Path, title: str = "") -> Path:
    """Draw one log–log DET panel per entry of ``panels`` (panel title -> curves) into the PNG ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes_row = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 6.0), squeeze=False)
    for axes, (panel, curves) in zip(axes_row[0], panels.items()):
        colours = plt.get_cmap("tab10")
        for position, curve in enumerate(curves):
            fmr, fnmr = det_points(curve.genuine, curve.impostor)
            # A rate of 0 has no place on a log axis: drawn at the floor so the curve reaches the edge.
            style = {"color": "black", "linewidth": 2.6} if curve.emphasised else {"linewidth": 1.2}
            axes.step(
                np.maximum(fmr, RATE_FLOOR),
                np.maximum(fnmr, RATE_FLOOR),
                where="post",
                label=curve.label,
                color=style.get("color", colours(position % 10)),
                linewidth=style["linewidth"],
            )
        axes.plot([RATE_FLOOR, 1], [RATE_FLOOR, 1], color="grey", linestyle=":", linewidth=0.8, label="FMR = FNMR")
        _log_axes(axes, panel)
        axes.legend(fontsize=8, loc="lower left")
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_score_histograms(panels: dict[str, Curve], path: Path, title: str = "", bins: int = 60) -> Path:
    """Genuine and impostor score histograms (density, log scale), one column per entry, into the PNG ``path``:
    the whole range on top, and below it the range where the two overlap (up to the highest impostor score)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, grid = plt.subplots(2, len(panels), figsize=(6.2 * len(panels), 8.4), squeeze=False)
    for column, (panel, curve) in enumerate(panels.items()):
        pooled = np.concatenate([curve.genuine, curve.impostor]).astype(np.float64)
        low, top = float(pooled.min()), float(pooled.max())
        overlap = float(np.max(curve.impostor)) * 1.05 if np.max(curve.impostor) > low else top
        for axes, high, view in ((grid[0][column], top, "all scores"), (grid[1][column], overlap, "overlap")):
            edges = np.linspace(low, high, bins + 1)
            if np.all(pooled == np.round(pooled)) and high - low <= 8 * bins:
                edges = np.arange(low - 0.5, high + 1.5)  # integer scores (BOZORTH3): one bin per value, no gaps
            for scores, label, colour in (
                (curve.impostor, f"impostor ({len(curve.impostor):,} pairs)", "tab:red"),
                (curve.genuine, f"genuine ({len(curve.genuine):,} pairs)", "tab:blue"),
            ):
                shown = scores[scores <= high]
                # Density over all pairs of the kind, so the zoomed panel's heights match the full one's.
                weights = np.full(len(shown), 1.0 / (len(scores) * (edges[1] - edges[0])))
                axes.hist(
                    shown, bins=edges, weights=weights, histtype="stepfilled", alpha=0.45, color=colour, label=label
                )
            axes.set_yscale("log")
            axes.set_xlabel("comparison score")
            axes.set_ylabel("density (log)")
            axes.set_title(f"{panel}: {curve.label} ({view})", fontsize=10)
            axes.grid(True, alpha=0.3)
            axes.legend(fontsize=8)
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
