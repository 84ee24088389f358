"""Two delivery processes on one PostgreSQL database: every queued SMS reaches the gateway exactly once."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from models import Notification, utcnow
from models.db import make_engine, make_session_factory, upgrade
from tests.notifications.receivers import sms_gateway
from tests.notifications.test_outbox import seed_identity
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture

pytestmark = pytest.mark.postgres
MESSAGES = 40


def test_two_processes_never_send_one_notification_twice(tmp_path: Path, postgres_schema_url: str) -> None:
    engine = make_engine(postgres_schema_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    identity_id = seed_identity(sessions)
    with sessions.begin() as db:
        for n in range(MESSAGES):
            db.add(
                Notification(
                    identity_id=identity_id,
                    kind="uin_issued",
                    channel="sms",
                    address="+5016221234",
                    language="en",
                    subject="",
                    body=f"message {n}",
                    next_attempt_at=utcnow(),
                    created_at=utcnow(),
                )
            )
    with sms_gateway(delay_s=0.02) as gateway:
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.notifications.deliver_worker",
                    postgres_schema_url,
                    gateway.url,
                    str(tmp_path / f"var{i}"),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for i in range(2)
        ]
        sent = [int(worker.communicate(timeout=120)[0].strip()) for worker in workers]
        assert all(worker.returncode == 0 for worker in workers)
    references = Counter(r["body"]["reference"] for r in gateway.received)
    assert len(references) == MESSAGES and set(references.values()) == {1}
    assert sum(sent) == MESSAGES and min(sent) > 0  # both took part
    with sessions() as db:
        rows = db.scalars(select(Notification)).all()
        assert {(row.status, row.attempts) for row in rows} == {("sent", 1)}
    engine.dispose()
