"""Two requests making a perpetual VID for one person at the same moment, on PostgreSQL: the identity's row lock
leaves exactly one live (the other replaced), never two."""

from __future__ import annotations

import threading

from civid import vid
from civid.audit import SYSTEM
from models import Identity
from server.services import build_services
from tests.conftest import make_settings
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture


def test_two_perpetual_vids_made_at_once_leave_one_live(tmp_path, postgres_schema_url):
    services = build_services(make_settings(tmp_path, database_url=postgres_schema_url), open_gallery=False)
    try:
        with services.sessions.begin() as db:
            person = Identity(uin="4058075267", status="active")
            db.add(person)
        barrier = threading.Barrier(4)
        made: list[str] = []

        def make() -> None:
            barrier.wait()
            with services.sessions.begin() as db:
                made.append(vid.create(db, services.settings, db.get(Identity, person.id), vid.PERPETUAL, SYSTEM))

        threads = [threading.Thread(target=make) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(made) == 4
        with services.sessions() as db:
            rows = vid.of(db, person.id)
        assert len(rows) == 4 and sum(row.revoked_at is None for row in rows) == 1
        assert sorted(row.revoked_reason or "" for row in rows) == ["", "replaced", "replaced", "replaced"]
    finally:
        services.close()
