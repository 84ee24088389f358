"""The whole service on the Milvus backend (a real server): enrolment, deduplication with fingers, a second process
sharing the collections, ``civid index rebuild|status``, and an unreachable server said as such."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from civid.settings import Settings, get_settings
from server.app import create_app
from server.cli import app as cli_app
from server.services import Services, build_services
from tests.conftest import add_keys, enrol, make_settings
from tests.milvus import drop_collections
from tests.synthetic_fingerprints import impressions, png_bytes

FINGERS = {2: 301, 7: 302}  # ISO position: seed of the synthetic finger


def fingers_of(impression: int) -> dict[int, bytes]:
    return {position: png_bytes(impressions(seed, impression + 1)[impression]) for position, seed in FINGERS.items()}


@pytest.fixture
def milvus_settings(tmp_path: Path, milvus_uri: str, milvus_prefix: str) -> Iterator[Settings]:
    yield make_settings(
        tmp_path,
        gallery_backend="milvus",
        gallery_milvus_uri=milvus_uri,
        gallery_milvus_collection_prefix=milvus_prefix,
    )
    drop_collections(milvus_uri, milvus_prefix)


@pytest.fixture
def services(milvus_settings: Settings) -> Iterator[Services]:
    built = build_services(milvus_settings)
    yield built
    built.close()


def test_second_enrolment_of_the_same_person_opens_a_case_through_milvus(services: Services) -> None:
    assert services.gallery.kind == "milvus HNSW" and services.fingers.kind == "milvus BIN_FLAT"
    keys = add_keys(services)
    with TestClient(create_app(services=services), raise_server_exceptions=False) as client:
        first = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], fingers=fingers_of(0), family_name="Obama")
        assert first.status_code == 201 and first.json()["status"] == "issued", first.text
        second = enrol(client, keys.officer2, ["obama_2010_blue_room.jpg"], fingers=fingers_of(1), family_name="S")
    body = second.json()
    assert body["status"] == "pending_adjudication" and body["uin"] is None, body
    assert body["candidates"][0]["uin"] == first.json()["uin"]
    assert body["candidates"][0]["face_score"] >= services.settings.dedup_threshold
    # The templates live on the server: another process on the same Milvus holds them without a rebuild.
    worker_b = build_services(services.settings)
    try:
        assert len(worker_b.gallery) == 2 and len(worker_b.fingers) == 4
        assert sorted(worker_b.gallery.ids().tolist()) == sorted(services.gallery.ids().tolist())
    finally:
        worker_b.close()


def test_index_rebuild_and_status_work_on_milvus(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = add_keys(services)
    with TestClient(create_app(services=services), raise_server_exceptions=False) as client:
        assert enrol(client, keys.officer, ["obama_2012_portrait.jpg"], fingers=fingers_of(0)).status_code == 201
    before = services.gallery.location
    settings = services.settings
    for name, value in (
        ("CIVID_DATA_DIR", str(settings.data_dir)),
        ("CIVID_GALLERY_BACKEND", "milvus"),
        ("CIVID_GALLERY_MILVUS_URI", settings.gallery_milvus_uri),
        ("CIVID_GALLERY_MILVUS_COLLECTION_PREFIX", settings.gallery_milvus_collection_prefix),
    ):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    runner = CliRunner()
    rebuilt = runner.invoke(cli_app, ["index", "rebuild"])
    text = " ".join(rebuilt.output.split())
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "face gallery rebuilt: 1 templates, index milvus HNSW" in text
    assert "fingerprint index rebuilt: 2 fingers, index milvus BIN_FLAT" in text
    status = runner.invoke(cli_app, ["index", "status"])
    text = " ".join(status.output.split())
    assert status.exit_code == 0 and "backend: milvus" in text and "face gallery: 1 templates" in text
    assert f"{settings.gallery_milvus_collection_prefix}_faces" in text
    # The rebuild filled a new collection and moved the alias to it; the old one is gone.
    assert services.gallery.location != before and len(services.gallery) == 1
    get_settings.cache_clear()


def test_an_unreachable_milvus_is_a_cli_error_naming_the_uri(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CIVID_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CIVID_GALLERY_BACKEND", "milvus")
    monkeypatch.setenv("CIVID_GALLERY_MILVUS_URI", "http://127.0.0.1:9")  # the discard port: nothing answers
    monkeypatch.setenv("CIVID_GALLERY_MILVUS_TIMEOUT_S", "2")
    get_settings.cache_clear()
    result = CliRunner().invoke(cli_app, ["index", "status"])
    get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert "cannot reach its gallery (milvus)" in " ".join(result.output.split())
    assert "http://127.0.0.1:9" in result.output
