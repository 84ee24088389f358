"""The finger gate (``matcher.finger_gate``) on real prints against other images.

Question: does the gate accept real fingerprints from every sensor, and refuse what is not one? Measured:
- accepted: every image of the eight public FVC "B" databases (FVC2000 and FVC2002 DB1–DB4, 80 each;
  FVC2002 DB2's 569 ppi images resampled to 500 ppi first, as enrolment requires 500 ppi), and synthetic
  prints of ``tests/synthetic_fingerprints.py`` (what the tests enrol);
- refused: LFW faces (a seeded sample, ``--faces``; 0 = all 8,292), the portraits in ``tests/fixtures``
  (grey), and synthetic non-fingers: flat grey, linear and radial gradients, uniform and blurred noise,
  checkerboards, diagonal stripes (which the gate is not meant to refuse: parallel ridges), and pages
  of printed text in four fonts, four sizes, four line spacings, two weights.
Per group: the share accepted, the reasons of refusal, the smallest and median of each measurement
against its limit (the margin), and milliseconds per image. The limits are ``finger_gate.DEFAULT``.

    python -m benchmarks.finger_gate              # 1,000 LFW faces
    python -m benchmarks.finger_gate --faces 0    # every LFW face (minutes)
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from benchmarks.common import (
    REPO_ROOT,
    add_common_arguments,
    console,
    data_dir,
    lfw_images,
    machine,
    print_machine,
    save_result,
    table,
)
from matcher import finger_gate

QUICK_ARGUMENTS = ["--faces", "200"]
FVC = [f"fvc{year}/DB{n}_B" for year in (2000, 2002) for n in (1, 2, 3, 4)]
SCAN_PPI = {"fvc2002/DB2_B": 569}  # the others are about 500 ppi (data README)
Group = tuple[str, str, Iterator[NDArray[np.uint8]]]  # (name, expected "accept"|"refuse", images)


def _grey(path: Path, ppi: int = 500) -> NDArray[np.uint8]:
    image = np.asarray(Image.open(path).convert("L"))
    if ppi != 500:
        scale = 500 / ppi
        image = cv2.resize(
            image, (round(image.shape[1] * scale), round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA
        )
    return image


def _synthetic_prints() -> Iterator[NDArray[np.uint8]]:
    from tests.synthetic_fingerprints import impressions

    for seed in range(1, 21):
        yield from impressions(seed, 2)


def _page(font: int, scale: float, step: int, weight: int) -> NDArray[np.uint8]:
    page = np.full((360, 360), 255, np.uint8)
    for row in range(360 // step):
        cv2.putText(
            page, "the quick brown fox jumps over a lazy dog", (3, step * (row + 1) - 3), font, scale, 0, weight
        )
    return page


def _non_fingers(seed: int) -> Iterator[tuple[str, NDArray[np.uint8]]]:
    rng = np.random.default_rng(seed)
    size = (360, 360)
    for level in (0, 128, 255):
        yield "flat", np.full(size, level, np.uint8)
    ramp = np.linspace(0, 255, size[1]).astype(np.uint8)
    yield "gradient", np.tile(ramp, (size[0], 1))
    yield "gradient", np.tile(ramp[:, None], (1, size[1]))
    ys, xs = np.mgrid[0 : size[0], 0 : size[1]]
    yield "gradient", np.clip(np.hypot(xs - 180, ys - 180) * 1.4, 0, 255).astype(np.uint8)
    for sigma in (0.0, 0.0, 1.0, 1.5, 2.0, 3.0):
        noise = rng.integers(0, 256, size, dtype=np.uint8)
        yield "noise", cv2.GaussianBlur(noise, (0, 0), sigma) if sigma else noise
    for cell in (4, 8, 16):
        yield "checkerboard", ((ys // cell + xs // cell) % 2 * 255).astype(np.uint8)
        yield "diagonal stripes", (((xs + ys) // cell) % 2 * 255).astype(np.uint8)
    for font in (cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX):
        for scale in (0.7, 0.9, 1.2, 1.5):
            for step in (14, 18, 22, 28):
                for weight in (1, 2):
                    yield "text", _page(font, scale, step, weight)


def groups(data: Path, faces: int, seed: int) -> list[Group]:
    """Every group of images the benchmark measures, loaded lazily."""
    prints = data / "fingerprints"
    result: list[Group] = [
        (name, "accept", (_grey(p, SCAN_PPI.get(name, 500)) for p in sorted((prints / name).glob("*.tif"))))
        for name in FVC
    ]
    result.append(("synthetic prints (tests)", "accept", _synthetic_prints()))
    lfw = lfw_images(data)
    chosen = lfw if faces == 0 else random.Random(seed).sample(lfw, min(faces, len(lfw)))
    result.append((f"LFW faces ({len(chosen)})", "refuse", (_grey(p) for p in chosen)))
    fixtures = sorted(p for p in (REPO_ROOT / "tests" / "fixtures").iterdir() if p.suffix in (".jpg", ".png"))
    result.append(("tests/fixtures portraits", "refuse", (_grey(p) for p in fixtures)))
    kinds: dict[str, list[NDArray[np.uint8]]] = {}
    for kind, image in _non_fingers(seed):
        kinds.setdefault(kind, []).append(image)
    # Stripes at ridge spacing are what the gate looks for: shown, but counted neither way.
    result.extend(
        (f"synthetic {kind}", "either" if kind == "diagonal stripes" else "refuse", iter(images))
        for kind, images in kinds.items()
    )
    return result


def measure_group(name: str, expected: str, images: Iterator[NDArray[np.uint8]]) -> dict[str, Any]:
    """The gate's verdicts on one group: counts, reasons, measurement ranges and time per image."""
    verdicts, seconds = [], 0.0
    for image in images:
        started = time.perf_counter()
        verdicts.append(finger_gate.check(image))
        seconds += time.perf_counter() - started
    values = {
        field: np.array([getattr(v.measurement, field) for v in verdicts])
        for field in ("foreground_mm2", "coherence", "in_band", "ridge_period_px")
    }
    accepted = sum(v.passed for v in verdicts)
    return {
        "group": name,
        "expected": expected,
        "images": len(verdicts),
        "accepted": accepted,
        "accepted_share": round(accepted / max(len(verdicts), 1), 4),
        "correct_share": None
        if expected == "either"
        else round((accepted if expected == "accept" else len(verdicts) - accepted) / max(len(verdicts), 1), 4),
        "reasons": dict(Counter(v.reason for v in verdicts if v.reason)),
        "min": {k: round(float(v.min()), 3) for k, v in values.items()},
        "median": {k: round(float(np.median(v)), 3) for k, v in values.items()},
        "max": {k: round(float(v.max()), 3) for k, v in values.items()},
        "ms_per_image": round(1000 * seconds / max(len(verdicts), 1), 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--faces", type=int, default=1000, help="LFW faces to measure (0 = all)")
    args = parser.parse_args(argv)
    data = data_dir(args.data)
    print_machine(machine())
    rows = [measure_group(*group) for group in groups(data, args.faces, args.seed)]
    limits = finger_gate.DEFAULT
    console.print(
        table(
            f"Finger gate (limits: foreground ≥ {limits.min_foreground_mm2} mm², coherence ≥ {limits.min_coherence}, "
            f"in band ≥ {limits.min_in_band} of windows with period {limits.min_ridge_period_px}–"
            f"{limits.max_ridge_period_px} px)",
            [
                "group",
                "images",
                "should",
                "accepted",
                "correct",
                "coherence min/med",
                "in band min/med",
                "mm² min",
                "refusals",
                "ms/image",
            ],
            [
                (
                    r["group"],
                    r["images"],
                    r["expected"],
                    f"{r['accepted_share']:.1%}",
                    "-" if r["correct_share"] is None else f"{r['correct_share']:.1%}",
                    f"{r['min']['coherence']:.2f} / {r['median']['coherence']:.2f}",
                    f"{r['min']['in_band']:.2f} / {r['median']['in_band']:.2f}",
                    f"{r['min']['foreground_mm2']:.0f}",
                    ", ".join(f"{k.removeprefix('finger_')} {n}" for k, n in r["reasons"].items()) or "-",
                    r["ms_per_image"],
                )
                for r in rows
            ],
        )
    )
    real = [r for r in rows if r["group"].startswith("fvc")]
    others = [r for r in rows if r["expected"] == "refuse"]
    summary = {
        "real_prints_accepted": round(sum(r["accepted"] for r in real) / sum(r["images"] for r in real), 4),
        "non_fingers_refused": round(
            sum(r["images"] - r["accepted"] for r in others) / sum(r["images"] for r in others), 4
        ),
    }
    console.print(
        f"real FVC prints accepted: {summary['real_prints_accepted']:.1%}; "
        f"non-finger images refused: {summary['non_fingers_refused']:.1%}"
    )
    return save_result(
        "finger_gate", {"params": asdict(limits), "faces": args.faces, "groups": rows, **summary}, save=not args.no_save
    )


def summary_line(record: dict[str, Any]) -> str:
    return (
        f"real prints accepted {record['real_prints_accepted']:.1%}, "
        f"non-fingers refused {record['non_fingers_refused']:.1%}"
    )


if __name__ == "__main__":
    main()
