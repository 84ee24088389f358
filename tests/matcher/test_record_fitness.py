"""matcher.record_fitness on synthetic ISO/IEC 19794-2 records: a record whose declared resolution or minutiae
geometry does not fit a 500 ppi fingertip is found unfit, with every reason; a plausible one is fit."""

from __future__ import annotations

import numpy as np
import pytest

from matcher import iso19794, record_fitness
from matcher.iso19794 import FingerprintRecord, FingerView, Minutia, MinutiaType
from matcher.record_fitness import Fitness, FitnessLimits, Frame

LIMITS = FitnessLimits(
    ppi_tolerance=50, min_minutiae=12, min_frame_coverage=0.08, min_minutiae_per_cm2=6.0, max_minutiae_per_cm2=65.0
)
PX_PER_CM_500 = 197


def fingertip(
    count: int = 36, width: int = 300, height: int = 400, per_cm2: float = 25.0, seed: int = 7
) -> list[tuple[int, int]]:
    """``count`` minutiae spread over the middle of a width x height frame at about ``per_cm2`` (a fingertip: 25)."""
    rng = np.random.default_rng(seed)
    side_cm = np.sqrt(count / per_cm2)  # a square patch holding per_cm2 minutiae per cm²
    side_px = side_cm * PX_PER_CM_500
    x0, y0 = (width - side_px) / 2, (height - side_px) / 2
    points = rng.uniform(0, side_px, size=(count, 2)) + (x0, y0)
    return [(int(x), int(y)) for x, y in points]


def record(
    points: list[tuple[int, int]], width: int = 300, height: int = 400, resolution: int = PX_PER_CM_500
) -> FingerprintRecord:
    """A one-view ISO record with minutiae at ``points`` (decoded from its bytes, as an import would)."""
    minutiae = tuple(
        Minutia(x=x, y=y, angle=(17 * k) % 256, type=MinutiaType.RIDGE_ENDING if k % 2 else MinutiaType.BIFURCATION)
        for k, (x, y) in enumerate(points)
    )
    built = FingerprintRecord(width, height, (FingerView(2, minutiae),), resolution, resolution)
    return iso19794.decode(iso19794.encode(built))


def check(built: FingerprintRecord, **options: bool) -> Fitness:
    return record_fitness.assess_view(built, built.views[0], LIMITS, **options)


def test_a_fingertip_sized_set_in_a_500_ppi_frame_is_fit() -> None:
    fitness = check(record(fingertip()))
    assert fitness.fit, fitness.findings
    assert fitness.minutiae == 36 and 20 < fitness.minutiae_per_cm2 < 30 and fitness.frame_coverage > 0.08
    assert fitness.x_ppi == pytest.approx(500.4, abs=0.1)


def test_minutiae_squeezed_into_a_corner_of_a_big_frame_are_refused_for_coverage() -> None:
    fitness = check(record(fingertip(width=300, height=400), width=1600, height=1600))
    assert fitness.codes == (record_fitness.COVERAGE,)
    finding = fitness.findings[0]
    assert finding.measured < 0.08 and finding.limit == 0.08 and "1600x1600 frame" in finding.message


def test_a_record_declaring_300_ppi_is_refused_unless_the_caller_resamples() -> None:
    built = record(fingertip(), resolution=118)  # 118 px/cm = 300 ppi
    fitness = check(built)
    assert set(fitness.codes) == {record_fitness.RESOLUTION}
    assert [round(f.measured) for f in fitness.findings] == [300, 300]  # X and Y, each named
    assert all(f.limit == 450 for f in fitness.findings) and "300 ppi" in fitness.findings[0].message
    assert check(built, resampled=True).fit


def test_a_record_that_states_no_resolution_is_refused_even_when_resampled() -> None:
    fitness = check(record(fingertip(), resolution=0), resampled=True)
    assert fitness.codes == (record_fitness.RESOLUTION, record_fitness.RESOLUTION)
    assert "not stated" in fitness.findings[0].message


def test_three_minutiae_spread_over_a_large_frame_are_too_few_and_too_sparse() -> None:
    fitness = check(record([(100, 100), (900, 200), (500, 950)], width=1000, height=1000))
    assert set(fitness.codes) == {record_fitness.TOO_FEW, record_fitness.SPARSE}
    sparse = next(f for f in fitness.findings if f.code == record_fitness.SPARSE)
    assert sparse.measured < 1.0 and sparse.limit == 6.0


def test_a_larger_sensors_minutiae_pressed_into_a_smaller_frame_are_too_dense() -> None:
    # A dense (35 per cm²) fingertip of a 640x480 frame rescaled into 300x400 (x 0.47, y 0.83): 2.6 times as dense.
    # (A median one, 25 per cm², reaches 64 and passes: the limit is set to refuse no real record seen.)
    wide = fingertip(count=60, width=640, height=480, per_cm2=35.0)
    pressed = [(round(x * 300 / 640), round(y * 400 / 480)) for x, y in wide]
    assert check(record(wide, width=640, height=480)).fit
    fitness = check(record(pressed))
    assert record_fitness.DENSE in fitness.codes
    dense = next(f for f in fitness.findings if f.code == record_fitness.DENSE)
    assert dense.measured > 65.0


def test_minutiae_on_one_line_have_no_area_and_are_dense() -> None:
    fitness = check(record([(10 + 5 * k, 200) for k in range(20)]))
    assert record_fitness.DENSE in fitness.codes and np.isinf(fitness.minutiae_per_cm2)
    assert "no area" in next(f.message for f in fitness.findings if f.code == record_fitness.DENSE)


def test_an_empty_view_is_only_too_few() -> None:
    fitness = check(record([]))
    assert fitness.codes == (record_fitness.TOO_FEW,) and fitness.minutiae == 0


def test_an_image_frame_at_500_ppi_measures_in_its_own_pixels() -> None:
    frame = Frame.at_ppi(300, 400, 500)
    xy = np.array(fingertip(), dtype=np.float32)
    assert record_fitness.assess(xy, frame, LIMITS).fit
    # The same pixel coordinates declared at 1000 ppi span a quarter of the area: four times as dense, and refused.
    fine = record_fitness.assess(xy, Frame.at_ppi(300, 400, 1000), LIMITS)
    assert record_fitness.RESOLUTION in fine.codes
    assert fine.minutiae_per_cm2 == pytest.approx(4 * record_fitness.assess(xy, frame, LIMITS).minutiae_per_cm2)
