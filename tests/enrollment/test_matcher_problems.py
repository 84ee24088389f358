"""matcher's own errors reach clients as the same 422 problems (type and message) as before matcher had them."""

from __future__ import annotations

import pytest

from civid.errors import InvalidFingerprintTemplate, InvalidImage
from civid.settings import Settings
from enrollment.fingerprint import import_records
from enrollment.matcher_problems import matcher_problems
from matcher import errors


@pytest.mark.parametrize(
    "raised, problem, slug",
    [
        (errors.InvalidTemplate, InvalidFingerprintTemplate, "invalid-fingerprint-template"),
        (errors.InvalidImage, InvalidImage, "invalid-image"),
    ],
)
def test_a_matcher_error_becomes_the_civid_problem_with_its_message(raised, problem, slug):
    with pytest.raises(problem) as caught, matcher_problems():
        raise raised("finger view 0 at offset 26: finger position 11 > 10")
    assert type(caught.value) is problem and caught.value.status == 422
    assert caught.value.type_uri.endswith("/" + slug)
    assert caught.value.detail == "finger view 0 at offset 26: finger position 11 > 10"


def test_an_imported_record_that_is_not_iso_19794_2_is_an_invalid_template_problem(tmp_path):
    with pytest.raises(InvalidFingerprintTemplate, match="format identifier at offset 0"):
        import_records(b"not a record at all, just some bytes", Settings(data_dir=tmp_path))
