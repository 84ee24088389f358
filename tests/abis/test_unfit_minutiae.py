"""An ABIS insert's 19794-2 minutiae record that civid refuses as unfit for matching (``enrollment.finger_fitness``)
is one sample left out, as a finger image that fails its gate is: MOSIP's packet has no officer to rescan it, so the
reference keeps its other samples; reason 18 only when nothing usable remains (never 16: the CBEFF is well formed)."""

from __future__ import annotations

import pytest

from abis import cbeff, extraction
from abis.messages import AbisFailure, FailureReason
from civid.settings import Settings
from matcher import nbis_bridge
from tests.enrollment.test_unfit_records import record_bytes
from tests.synthetic_fingerprints import impressions


@pytest.fixture(scope="module")
def minutiae():  # type: ignore[no-untyped-def]
    found = nbis_bridge.extract(impressions(301, 1)[0])
    return found.minutiae, found.width, found.height


def minutiae_record(subtype: str, data: bytes) -> cbeff.BiometricRecord:
    return cbeff.BiometricRecord("Finger", subtype, cbeff.FORMAT_FINGER_MINUTIAE, data)


def test_an_unfit_minutiae_record_is_left_out_and_the_others_kept(minutiae) -> None:  # type: ignore[no-untyped-def]
    points, width, height = minutiae
    fit = minutiae_record("Right IndexFinger", record_bytes({2: tuple(points)}, width, height))
    unfit = minutiae_record("Left IndexFinger", record_bytes({7: tuple(points)}, 1600, 1600))  # squeezed in a corner
    result = extraction.extract([fit, unfit], engine=None, settings=Settings())  # type: ignore[arg-type]
    assert sorted(result.templates.fingers) == [2]
    assert any(r.startswith("finger 7") and "finger_minutiae_coverage" in r for r in result.rejected), result.rejected


def test_a_reference_whose_only_sample_is_unfit_is_reason_18(minutiae) -> None:  # type: ignore[no-untyped-def]
    points, _, _ = minutiae
    unfit = minutiae_record("Left IndexFinger", record_bytes({7: tuple(points)}, 1600, 1600))
    with pytest.raises(AbisFailure) as failure:
        extraction.extract([unfit], engine=None, settings=Settings())  # type: ignore[arg-type]
    assert failure.value.reason == FailureReason.QUALITY_CHECK_FAILED
