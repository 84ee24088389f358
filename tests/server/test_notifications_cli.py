"""``civid notifications status|retry``: the outbox counted by channel and state; failed rows due again (audited),
an id that is not failed refused with exit 2 and nothing changed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from civid.settings import get_settings
from models import AuditEvent, Notification, utcnow
from server.cli import app
from server.services import build_services
from tests.conftest import make_settings
from tests.notifications.test_outbox import seed_identity


def run(tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args), env={"CIVID_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"})
    finally:
        get_settings.cache_clear()


def test_status_counts_and_retry_makes_failed_rows_due_again(tmp_path: Path) -> None:
    services = build_services(make_settings(tmp_path), open_gallery=False)
    try:
        identity_id = seed_identity(services.sessions)
        with services.sessions.begin() as db:
            for status, channel in (("failed", "sms"), ("failed", "email"), ("sent", "email")):
                db.add(
                    Notification(
                        identity_id=identity_id,
                        kind="uin_issued",
                        channel=channel,
                        address="x",
                        language="en",
                        subject="",
                        body="b",
                        status=status,
                        attempts=5,
                        last_error="gateway answered 503",
                        next_attempt_at=utcnow(),
                        created_at=utcnow(),
                    )
                )
        shown = run(tmp_path, "notifications", "status")
        assert shown.exit_code == 0, shown.output
        assert "failed" in shown.output and "gateway answered 503" in shown.output
        with services.sessions() as db:
            sent_id = db.scalar(select(Notification.id).where(Notification.status == "sent"))
            failed_ids = list(db.scalars(select(Notification.id).where(Notification.status == "failed")))
        refused = run(tmp_path, "notifications", "retry", str(sent_id))
        assert refused.exit_code == 2 and "not failed" in refused.output
        done = run(tmp_path, "notifications", "retry", str(failed_ids[0]))
        assert done.exit_code == 0, done.output
        with services.sessions() as db:
            states = {n.id: (n.status, n.attempts) for n in db.scalars(select(Notification))}
            retried = db.scalars(select(AuditEvent).where(AuditEvent.action == "notification.retried")).all()
        assert states[failed_ids[0]] == ("pending", 0) and states[failed_ids[1]] == ("failed", 5)
        assert len(retried) == 1 and (retried[0].detail["kind"], retried[0].detail["channel"]) == ("uin_issued", "sms")
        assert run(tmp_path, "notifications", "retry").exit_code == 0  # every failed one
        with services.sessions() as db:
            assert db.scalar(select(Notification.status).where(Notification.id == failed_ids[1])) == "pending"
    finally:
        services.close()
