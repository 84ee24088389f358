"""An imported ISO/IEC 19794-2 record the matchers cannot use is refused at enrolment (422 problem+json naming the
finger and why, nothing stored); a plausible record still enrols. Records are built here from a synthetic finger's
MINDTCT minutiae (tests/synthetic_fingerprints.py), then placed in frames and resolutions that do not fit them."""

from __future__ import annotations

import pytest

from civid.errors import UnfitFingerprintRecord
from civid.settings import Settings
from console.enrol.quality_feedback import named_error_text
from enrollment.fingerprint import import_records
from matcher import iso19794, nbis_bridge
from matcher.iso19794 import FingerprintRecord, FingerView, Minutia
from tests.conftest import assert_problem, enrol, stored_counts
from tests.synthetic_fingerprints import impressions

PHOTO = "collins_nasa_portrait.png"


@pytest.fixture(scope="module")
def fingertip() -> tuple[tuple[Minutia, ...], int, int]:
    """A synthetic finger's minutiae at 500 ppi and the size of the image they came from."""
    found = nbis_bridge.extract(impressions(301, 1)[0])
    assert len(found.minutiae) >= 20
    return tuple(found.minutiae), found.width, found.height


def record_bytes(views: dict[int, tuple[Minutia, ...]], width: int, height: int, pixels_per_cm: int = 197) -> bytes:
    """An ISO record holding ``views`` (finger position -> minutiae) in a width x height frame."""
    return iso19794.encode(
        FingerprintRecord(
            width,
            height,
            tuple(FingerView(position, minutiae) for position, minutiae in views.items()),
            pixels_per_cm,
            pixels_per_cm,
        )
    )


def test_a_plausible_synthetic_record_still_enrols(client, keys, fingertip):
    minutiae, width, height = fingertip
    body = enrol(client, keys.officer, [PHOTO], finger_record=record_bytes({2: minutiae}, width, height)).json()
    assert body["status"] == "issued", body
    assert [(f["position"], f["status"]) for f in body["fingerprints"]] == [(2, "imported")]


def test_minutiae_in_a_corner_of_a_big_declared_frame_are_refused_naming_the_finger(client, keys, services, fingertip):
    minutiae, _, _ = fingertip
    before = stored_counts(services)
    response = enrol(client, keys.officer, [PHOTO], finger_record=record_bytes({2: minutiae}, 1600, 1600))
    problem = assert_problem(response, 422)
    assert problem["type"].endswith("/unfit-fingerprint-record")
    assert "finger 2 (right index)" in problem["detail"] and "1600x1600 frame" in problem["detail"]
    assert [(f["position"], [r["code"] for r in f["reasons"]]) for f in problem["fingers"]] == [
        (2, ["finger_minutiae_coverage"])
    ]
    assert problem["fingers"][0]["reasons"][0]["measured"] < problem["fingers"][0]["reasons"][0]["limit"] == 0.08
    assert stored_counts(services) == before


def test_a_record_declaring_300_ppi_is_refused(client, keys, services, fingertip):
    minutiae, width, height = fingertip
    before = stored_counts(services)
    response = enrol(client, keys.officer, [PHOTO], finger_record=record_bytes({7: minutiae}, width, height, 118))
    problem = assert_problem(response, 422)
    assert "finger 7 (left index)" in problem["detail"] and "300 ppi" in problem["detail"]
    assert {r["code"] for r in problem["fingers"][0]["reasons"]} == {"finger_record_ppi"}
    assert stored_counts(services) == before


def test_three_minutiae_in_a_large_frame_refuse_the_record_and_name_only_that_finger(client, keys, services, fingertip):
    minutiae, width, height = fingertip
    few = (
        Minutia(x=100, y=100, angle=10, type=minutiae[0].type),
        Minutia(x=900, y=150, angle=90, type=minutiae[0].type),
        Minutia(x=500, y=950, angle=200, type=minutiae[0].type),
    )
    before = stored_counts(services)
    data = record_bytes({2: minutiae, 7: few}, 1000, 1000)
    problem = assert_problem(enrol(client, keys.officer, [PHOTO], finger_record=data), 422)
    # Finger 2 spans too little of this large frame as well; finger 7's three minutiae are spread too thin.
    by_finger = {f["position"]: [r["code"] for r in f["reasons"]] for f in problem["fingers"]}
    assert "finger_minutiae_sparse" in by_finger[7] and "finger_too_few_minutiae" not in by_finger[7]
    assert "finger 7 (left index)" in problem["detail"]
    assert stored_counts(services) == before


def test_the_refusal_reads_in_the_officers_language(fingertip):
    minutiae, width, height = fingertip
    limits = Settings().finger_quality
    with pytest.raises(UnfitFingerprintRecord) as refused:
        import_records(record_bytes({2: minutiae}, width, height, 118), limits)
    spanish = named_error_text(refused.value, "es")
    english = named_error_text(refused.value, "en")
    assert "300 ppp" in spanish and "escanee el dedo" in spanish
    assert "300 ppi" in english and "scan the finger instead" in english
    assert spanish.split(":")[0] != english.split(":")[0]  # the finger's name, in each language
