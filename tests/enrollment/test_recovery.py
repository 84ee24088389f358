"""Crash and restart: the database is the truth and the FAISS index a cache that always catches up.

A real ``civid serve`` child process is killed with SIGKILL (no shutdown handler runs) in the middle
of enrolments; after a restart no orphan UIN, template or index entry exists, and nothing committed
is missing from the gallery.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import func, select

from civid.settings import Settings
from enrollment.gallery_store import GalleryStore
from models import Enrolment, EnrolmentStatus, FaceTemplate, Identity
from server.services import build_services
from tests.conftest import add_keys, fixture_bytes, person
from tests.server import ServerProcess

PEOPLE = [
    ("obama_2012_portrait.jpg", "Obama"),
    ("biden_2010_blue_room.jpg", "Biden"),
    ("collins_nasa_portrait.png", "Collins"),
]


def _post(url: str, headers: dict, photo: str, family_name: str, key: str) -> httpx.Response:
    kind = "image/png" if photo.endswith(".png") else "image/jpeg"
    return httpx.post(
        url + "/v1/enrolments",
        headers={**headers, "Idempotency-Key": key},
        timeout=60,
        data={"demographics": json.dumps(person(family_name=family_name))},
        files=[("photos", (photo, fixture_bytes(photo), kind))],
    )


def assert_consistent(settings: Settings) -> None:
    """No orphan: every identity belongs to an issued enrolment, every template to a stored enrolment,
    and a fresh start's gallery holds exactly the gallery templates of the database."""
    services = build_services(settings)
    try:
        with services.sessions() as session:
            for identity in session.scalars(select(Identity)):
                statuses = {e.status for e in identity.enrolments}
                assert EnrolmentStatus.ISSUED in statuses, f"orphan UIN {identity.uin}"
            orphan_templates = session.scalar(
                select(func.count()).select_from(FaceTemplate).outerjoin(Enrolment).where(Enrolment.id.is_(None))
            )
            assert orphan_templates == 0
            for enrolment in session.scalars(select(Enrolment)):
                if enrolment.status in (EnrolmentStatus.ISSUED, EnrolmentStatus.PENDING):
                    assert enrolment.templates, "an accepted enrolment without templates"
                if enrolment.status == EnrolmentStatus.ISSUED:
                    assert enrolment.identity_id is not None
            truth = set(session.scalars(select(FaceTemplate.id).where(FaceTemplate.in_gallery)))
        assert set(services.gallery.ids().tolist()) == truth
    finally:
        services.close()


def _send_into(
    result: dict[str, httpx.Response | Exception], url: str, headers: dict, photo: str, family_name: str, key: str
) -> None:
    """Post from a thread: the response, or the error of a connection the kill cut, lands in ``result``."""
    try:
        result["r"] = _post(url, headers, photo, family_name, key)
    except httpx.HTTPError as exc:
        result["r"] = exc


def test_killed_mid_enrolment_loses_nothing_and_leaves_no_orphans(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "var")
    bootstrap = build_services(settings)
    keys = add_keys(bootstrap)
    bootstrap.close()
    # No cached health count: the last check must count the gallery as it stands, not as the start-up probe saw it.
    env = {"CIVID_DATA_DIR": str(settings.data_dir), "CIVID_HEALTHZ_GALLERY_CACHE_S": "0"}

    committed: dict[str, str] = {}
    # Kill at several moments: during decoding/extraction, around the commit, after the response.
    for attempt, delay in enumerate((0.05, 0.25, 0.5, 0.8, 1.2)):
        server = ServerProcess(env, tmp_path / "server.log").start()
        photo, name = PEOPLE[attempt % len(PEOPLE)]
        key = f"attempt-{attempt}"
        result: dict[str, httpx.Response | Exception] = {}
        request = (server.url, keys.officer, photo, f"{name} {chr(65 + attempt)}", key)
        # The request is bound now, as arguments: the thread may still run when the loop moves on.
        thread = threading.Thread(target=_send_into, args=(result, *request))
        thread.start()
        time.sleep(delay)
        server.kill()
        thread.join(30)
        response = result.get("r")
        if isinstance(response, httpx.Response) and response.status_code == 201:
            committed[key] = response.json()["id"]
        assert_consistent(settings)

    assert len(committed) < 5, "no kill landed before a response: the test did not test a crash"
    # Restart and replay every request with its idempotency key: nothing is enrolled twice, and
    # what was committed before a kill is returned as it was.
    server = ServerProcess(env, tmp_path / "server.log").start()
    try:
        for attempt in range(5):
            photo, name = PEOPLE[attempt % len(PEOPLE)]
            response = _post(server.url, keys.officer, photo, f"{name} {chr(65 + attempt)}", f"attempt-{attempt}")
            assert response.status_code == 201, response.text
            if f"attempt-{attempt}" in committed:
                assert response.json()["id"] == committed[f"attempt-{attempt}"]
        health = httpx.get(server.url + "/healthz").json()
    finally:
        server.stop()
    assert_consistent(settings)
    check = build_services(settings)
    with check.sessions() as session:
        enrolments = session.scalar(select(func.count()).select_from(Enrolment))
        identities = session.scalar(select(func.count()).select_from(Identity))
        in_gallery = session.scalar(select(func.count()).select_from(FaceTemplate).where(FaceTemplate.in_gallery))
    check.close()
    assert enrolments == 5  # one per idempotency key, never two
    assert identities == 3  # three distinct people; repeats of a face opened cases instead
    assert health["gallery_size"] == in_gallery


def test_index_file_missing_committed_templates_is_caught_up_at_start(services, keys, client, tmp_path):
    """Templates committed after the index file was last written (a crash before saving) are added on load."""
    from tests.conftest import enrol

    enrol(client, keys.officer, ["obama_2012_portrait.jpg"])
    services.gallery.save()
    enrol(client, keys.officer, ["biden_2010_blue_room.jpg"], family_name="Biden")  # not saved to the file
    reloaded = GalleryStore(services.settings, services.keyring, services.sessions)
    assert reloaded.open() == "reconciled"
    assert len(reloaded) == 2
    probe = services.gallery.ids()
    assert sorted(reloaded.ids().tolist()) == sorted(probe.tolist())


def test_corrupt_index_file_is_rebuilt_from_the_database(services, keys, client):
    from tests.conftest import enrol

    enrol(client, keys.officer, ["obama_2012_portrait.jpg"])
    enrol(client, keys.officer, ["collins_nasa_portrait.png"], family_name="Collins")
    services.gallery.save()
    services.gallery.path.write_bytes(b"not a faiss index")
    reloaded = GalleryStore(services.settings, services.keyring, services.sessions)
    assert reloaded.open() == "rebuilt"
    assert len(reloaded) == 2
    # The rebuilt vectors are the stored templates: each finds itself with similarity ~1.
    ids = reloaded.ids()
    vectors = services.gallery.vectors(ids.tolist())
    hits = reloaded.search(vectors, 1)
    assert [h[0].template_id for h in hits] == ids.tolist()
    assert all(h[0].score > 0.999 for h in hits)


def test_index_holding_a_template_the_database_lacks_drops_it(services, keys, client):
    from tests.conftest import enrol

    enrol(client, keys.officer, ["obama_2012_portrait.jpg"])
    ghost = np.random.default_rng(1).normal(size=(1, 128)).astype("float32")
    services.gallery.added([999_999], ghost / np.linalg.norm(ghost))
    services.gallery.save()
    reloaded = GalleryStore(services.settings, services.keyring, services.sessions)
    assert reloaded.open() == "reconciled"
    assert 999_999 not in reloaded.ids().tolist()
    assert len(reloaded) == 1
