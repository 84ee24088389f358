"""Settings: each validator refuses with a sentence naming the variable, groups mirror the flat fields."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from civid.settings import Settings
from civid.settings_groups import DedupThresholds, FaceGateParams, FingerQualityParams

PRODUCTION = {
    "environment": "production",
    "issuer": "https://id.example.gov",
    "database_url": "postgresql+psycopg://civid@db/civid",
    "template_keys_file": Path("/run/secrets/keys"),
    "idp_secrets_file": Path("/run/secrets/idp"),
    "audit_key_file": Path("/run/secrets/audit"),
    "audit_checkpoint_file": Path("/mnt/witness/civid-checkpoints"),
}


def refusal(**values: object) -> str:
    with pytest.raises(ValidationError) as refused:
        Settings(**values)  # type: ignore[arg-type]
    return str(refused.value)


def test_defaults_are_valid_and_development(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.environment == "development"  # `make run` keeps working with no variable set


@pytest.mark.parametrize(
    "field",
    ["dedup_threshold", "verify_threshold", "identify_threshold", "same_person_threshold", "finger_verify_threshold"],
)
@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_a_similarity_threshold_outside_zero_to_one_is_refused(field: str, value: float) -> None:
    message = refusal(**{field: value})
    assert f"CIVID_{field.upper()} must be between 0 and 1 (a similarity threshold), not {value}" in message


@pytest.mark.parametrize(
    "field",
    [
        "max_upload_bytes",
        "min_image_side",
        "gallery_ivf_nprobe",
        "gallery_persist_every",
        "dedup_max_candidates",
        "finger_shortlist",
        "code_ttl_s",
        "max_yaw_deg",
        "abis_datashare_timeout_s",
        "abis_max_cbeff_bytes",
        "abis_max_results",
    ],
)
def test_a_size_count_or_lifetime_of_zero_is_refused(field: str) -> None:
    assert f"CIVID_{field.upper()} must be greater than 0, not 0" in refusal(**{field: 0})


def test_a_negative_exact_max_is_refused_but_zero_means_always_approximate() -> None:
    assert "CIVID_GALLERY_EXACT_MAX must not be negative, not -1" in refusal(gallery_exact_max=-1)
    assert Settings(gallery_exact_max=0).gallery.exact_max == 0


def test_an_nfiq2_minimum_outside_the_score_range_is_refused() -> None:
    assert "CIVID_FINGER_MIN_NFIQ2 must be an NFIQ 2 score between 0 and 100, not 101" in refusal(finger_min_nfiq2=101)


@pytest.mark.parametrize("coverage", [-0.1, 1.5])
def test_a_frame_coverage_outside_zero_to_one_is_refused(coverage: float) -> None:
    assert f"CIVID_FINGER_MIN_FRAME_COVERAGE must be a share of the declared frame between 0 and 1, not {coverage}" in (
        refusal(finger_min_frame_coverage=coverage)
    )


@pytest.mark.parametrize(("low", "high"), [(70.0, 65.0), (-1.0, 65.0), (20.0, 20.0)])
def test_minutiae_density_limits_must_be_a_range(low: float, high: float) -> None:
    message = refusal(finger_min_minutiae_per_cm2=low, finger_max_minutiae_per_cm2=high)
    assert f"must be 0 <= min < max (minutiae per cm²), not {low} and {high}" in message


@pytest.mark.parametrize("port", [0, 70_000])
def test_a_port_outside_tcp_range_is_refused(port: int) -> None:
    assert f"CIVID_PORT must be a TCP port between 1 and 65535, not {port}" in refusal(port=port)


def test_an_empty_gallery_backend_is_refused() -> None:
    assert "CIVID_GALLERY_BACKEND must name a gallery backend" in refusal(gallery_backend=" ")


@pytest.mark.parametrize("field", ["child_face_only_below_age", "age_of_majority"])
def test_an_age_of_zero_is_refused(field: str) -> None:
    assert f"CIVID_{field.upper()} must be greater than 0, not 0" in refusal(**{field: 0})


def test_the_face_only_age_must_be_below_the_age_of_majority() -> None:
    message = refusal(child_face_only_below_age=18, age_of_majority=18)
    assert "CIVID_CHILD_FACE_ONLY_BELOW_AGE (18) must be below CIVID_AGE_OF_MAJORITY (18)" in message
    ages = Settings(child_face_only_below_age=7, age_of_majority=21).ages
    assert (ages.face_only_below, ages.majority) == (7, 21)


def test_every_problem_is_listed_at_once() -> None:
    message = refusal(dedup_threshold=2.0, port=0)
    assert "CIVID_DEDUP_THRESHOLD" in message and "CIVID_PORT" in message


def test_environment_variables_keep_their_flat_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIVID_DEDUP_THRESHOLD", "0.95")
    monkeypatch.setenv("CIVID_FINGER_MIN_NFIQ2", "30")
    monkeypatch.setenv("CIVID_GALLERY_BACKEND", "faiss")
    settings = Settings()
    assert settings.dedup.face_threshold == 0.95 and settings.finger_quality.min_nfiq2 == 30
    monkeypatch.setenv("CIVID_DEDUP_THRESHOLD", "9")
    with pytest.raises(ValidationError, match="CIVID_DEDUP_THRESHOLD must be between 0 and 1"):
        Settings()


# --- production ------------------------------------------------------------------------------------------


def test_production_with_its_values_supplied_is_accepted() -> None:
    assert Settings(**PRODUCTION).environment == "production"  # type: ignore[arg-type]


def test_production_refuses_an_http_or_default_issuer() -> None:
    assert "CIVID_ISSUER must be the public https URL in production" in refusal(**{**PRODUCTION, "issuer": None})
    assert "not http://id.example.gov" in refusal(**{**PRODUCTION, "issuer": "http://id.example.gov"})


def test_production_refuses_the_audit_key_and_witness_file_defaults() -> None:
    assert "CIVID_AUDIT_KEY_FILE must name" in refusal(**{**PRODUCTION, "audit_key_file": None})
    assert "CIVID_AUDIT_CHECKPOINT_FILE must name" in refusal(**{**PRODUCTION, "audit_checkpoint_file": None})


def test_production_refuses_cookies_without_the_secure_flag() -> None:
    assert "CIVID_COOKIE_SECURE must not be off in production" in refusal(**PRODUCTION, cookie_secure=False)


def test_production_refuses_the_sqlite_default() -> None:
    assert "CIVID_DATABASE_URL must name the production database" in refusal(**{**PRODUCTION, "database_url": None})


@pytest.mark.parametrize("field", ["template_keys_file", "idp_secrets_file"])
def test_production_refuses_secrets_generated_by_default_under_the_data_folder(field: str) -> None:
    message = refusal(**{**PRODUCTION, field: None})
    assert f"CIVID_{field.upper()} must name" in message and "supplied from the secret store in production" in message


def test_production_refuses_a_plain_http_mosip_data_share() -> None:
    message = refusal(**PRODUCTION, abis_datashare_urls=["http://datashare.mosip.example/v1/datashare/get/"])
    assert "CIVID_ABIS_DATASHARE_URLS must be https in production" in message
    assert Settings(**PRODUCTION, abis_datashare_urls=["https://datashare.mosip.example/"]).abis_datashare_urls  # type: ignore[arg-type]


def test_development_accepts_what_production_refuses() -> None:
    assert Settings(issuer="http://localhost:8000", cookie_secure=False).environment == "development"


# --- groups -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "sentence"),
    [
        ({"gallery_milvus_collection_prefix": "civid-prod"}, "CIVID_GALLERY_MILVUS_COLLECTION_PREFIX must be letters"),
        ({"gallery_milvus_collection_prefix": "9lives"}, "CIVID_GALLERY_MILVUS_COLLECTION_PREFIX must be letters"),
        ({"gallery_milvus_uri": "milvus:19530"}, "CIVID_GALLERY_MILVUS_URI must be the Milvus proxy's address"),
        ({"gallery_milvus_uri": "http://"}, "CIVID_GALLERY_MILVUS_URI must be the Milvus proxy's address"),
        ({"gallery_milvus_nlist": 100_000}, "CIVID_GALLERY_MILVUS_NLIST must be at most 65536"),
        ({"gallery_milvus_nprobe": 2048}, "CIVID_GALLERY_MILVUS_NPROBE (2048) must not exceed"),
        ({"gallery_milvus_timeout_s": 0}, "CIVID_GALLERY_MILVUS_TIMEOUT_S must be greater than 0"),
        ({"gallery_milvus_ef": 0}, "CIVID_GALLERY_MILVUS_EF must be greater than 0"),
        ({"gallery_milvus_face_index": "DISKANN"}, "gallery_milvus_face_index"),
        ({"gallery_milvus_consistency": "strong-ish"}, "gallery_milvus_consistency"),
        ({"gallery_faiss_parallel_mode": 2}, "gallery_faiss_parallel_mode"),
    ],
)
def test_milvus_and_faiss_settings_that_the_engine_would_refuse_are_refused_at_start(values, sentence) -> None:
    assert sentence in refusal(**values)


def test_the_milvus_group_carries_every_milvus_setting() -> None:
    settings = Settings(gallery_milvus_uri="http://milvus:19530", gallery_milvus_face_index="IVF_FLAT")
    assert settings.gallery.milvus.uri == "http://milvus:19530" and settings.gallery.milvus.face_index == "IVF_FLAT"
    assert settings.gallery.milvus.consistency == "Strong" and settings.gallery.faiss_parallel_mode == 1


def test_groups_are_frozen_views_of_the_flat_fields() -> None:
    settings = Settings(max_yaw_deg=40.0, finger_min_nfiq2=25, dedup_llr_threshold=4.0)
    assert settings.face_gate == FaceGateParams(1024, 0.5, 40.0, 60.0, 40.0, 30.0, 20.0)
    assert settings.finger_quality == FingerQualityParams(
        8 * 1024 * 1024, 4_000_000, 150, 50, 25, True, 12, 0.08, 6.0, 65.0, "mindtct"
    )
    assert settings.dedup == DedupThresholds(0.9251, 0.9251, 4.0, 10, 20)
    with pytest.raises(AttributeError):
        settings.face_gate.max_yaw_deg = 90.0  # type: ignore[misc]


def test_the_command_line_refuses_invalid_settings_with_the_sentences_not_a_traceback(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from civid.settings import get_settings
    from server.cli import app

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["index", "status"], env={"CIVID_DATA_DIR": str(tmp_path / "var"), "CIVID_ENVIRONMENT": "production"}
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "civid will not start" in said and "CIVID_ISSUER must be the public https URL in production" in said
    assert not (tmp_path / "var").exists()  # refused before anything was created
