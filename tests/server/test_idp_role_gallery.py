"""``civid serve --role idp`` never opens the galleries (the identity provider does not search), so it must not write
them either: its shutdown used to save its empty, never-loaded indexes over the registration process's files in the
shared data folder (and a Milvus sidecar with watermark 0)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from server.app import create_app
from server.services import build_services
from tests.conftest import make_settings


def index_files(settings) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    folders = {settings.gallery.directory, settings.gallery_dir}
    return {str(p): p.read_bytes() for folder in folders if folder.exists() for p in sorted(folder.iterdir())}


def test_an_idp_process_leaves_the_saved_indexes_as_they_were(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    registration = build_services(settings)  # opens (an empty gallery: rebuilt) and saves
    vector = np.zeros((1, 128), np.float32)
    vector[0, 0] = 1.0
    registration.gallery.added([1], vector)  # a template the registration process holds
    registration.close()
    before = index_files(settings)
    assert before  # the registration process saved its indexes

    idp = make_settings(tmp_path, role="idp")
    with TestClient(create_app(settings=idp)) as client:
        assert client.get("/.well-known/openid-configuration").status_code == 200
    assert index_files(settings) == before


def test_services_whose_galleries_were_never_opened_save_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    build_services(settings, open_gallery=False).close()
    assert index_files(settings) == {}


def test_an_idp_process_needs_no_milvus_server(tmp_path: Path) -> None:
    """The identity provider never searches: with the gallery on a Milvus server that does not answer, it starts,
    serves, and its health check does not ask Milvus."""
    idp = make_settings(
        tmp_path,
        role="idp",
        gallery_backend="milvus",
        gallery_milvus_uri="http://127.0.0.1:9",  # the discard port: nothing answers
        gallery_milvus_timeout_s=2,
    )
    with TestClient(create_app(settings=idp)) as client:
        assert client.get("/.well-known/openid-configuration").status_code == 200
        assert client.get("/healthz").json() == {"status": "ok", "role": "idp"}
    assert index_files(idp) == {}
