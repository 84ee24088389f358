"""What build_services refuses before it touches the data folder."""

from __future__ import annotations

import pytest

from civid.errors import ConfigurationError
from civid.settings import Settings
from server.services import build_services


def test_services_refuse_a_dedup_threshold_one_finger_could_clear_before_creating_anything(tmp_path):
    settings = Settings(data_dir=tmp_path / "var", dedup_llr_threshold=2.5)
    with pytest.raises(ConfigurationError, match=r"one finger alone could clear the dedup threshold"):
        build_services(settings, open_gallery=False)
    assert not (tmp_path / "var").exists()
