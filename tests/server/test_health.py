"""/healthz reports the gallery's size counted at most CIVID_HEALTHZ_GALLERY_CACHE_S ago, so a load balancer's
checks do not each ask the gallery's backend (on Milvus, a count query to the shared server); on FAISS here."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from server.app import create_app
from server.services import build_services
from tests.conftest import add_keys, enrol, make_settings


def test_health_checks_reuse_a_recent_gallery_count_and_count_again_once_it_is_old(tmp_path: Path) -> None:
    services = build_services(make_settings(tmp_path, healthz_gallery_cache_s=3600))
    keys = add_keys(services)
    with TestClient(create_app(services=services)) as client:
        assert client.get("/healthz").json() == {"status": "ok", "gallery_size": 0, "gallery_index": "flat"}
        assert enrol(client, keys.officer, ["obama_2012_portrait.jpg"]).json()["status"] == "issued"
        assert len(services.gallery) == 1
        # Checked again within the hour: the kept count, not a new one.
        assert [client.get("/healthz").json()["gallery_size"] for _ in range(3)] == [0, 0, 0]
        services.gallery_size.max_age_s = 0  # the kept count is now too old: counted again
        assert client.get("/healthz").json()["gallery_size"] == 1
    services.close()
