"""Two officers re-capturing one person's face at the same moment, on SQLite and PostgreSQL: one update applies,
the other is a 409 with nothing stored (the identity's row is locked while the templates in force are compared
with those the 1:1 step read; SQLite's one writer orders them the same way)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from models import AuditEvent, FaceTemplate
from tests.conftest import enrol, fixture_bytes, make_settings
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path: Path):
    if request.param == "postgresql":
        return make_settings(tmp_path, database_url=request.getfixturevalue("postgres_schema_url"))
    return make_settings(tmp_path)


def test_two_concurrent_updates_of_one_identity_one_applies(client, keys, services):
    body = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], given_name="Barack", family_name="Obama").json()
    assert body["status"] == "issued", body
    barrier = threading.Barrier(2)
    results: list[int] = []

    def go(headers: dict, photo: str) -> None:
        barrier.wait()
        response = client.post(
            f"/v1/identities/{body['uin']}/biometrics",
            headers=headers,
            files={"photo": (photo, fixture_bytes(photo), "image/jpeg")},
        )
        results.append(response.status_code)

    threads = [
        threading.Thread(target=go, args=(keys.officer, "obama_2010_blue_room.jpg")),
        threading.Thread(target=go, args=(keys.officer2, "obama_2010_blue_room.jpg")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409], results
    with services.sessions() as db:
        faces = db.execute(select(FaceTemplate.photo_index, FaceTemplate.in_gallery).order_by(FaceTemplate.id)).all()
        applied = db.scalars(select(AuditEvent).where(AuditEvent.action == "identity.biometrics_updated")).all()
    assert [tuple(f) for f in faces] == [(0, False), (1, True)]
    assert len(applied) == 1
