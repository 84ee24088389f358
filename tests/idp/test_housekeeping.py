"""Expired challenges, requests, codes and assertion ids are pruned; what records authorisation stays."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from typer.testing import CliRunner

from idp.housekeeping import prune
from models import ClientAssertion, FaceChallenge, Grant, LoginAttempt, utcnow
from server.cli import app as cli
from tests.idp.conftest import issue_code, register_client


def _count(services, model) -> int:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def test_prune_removes_only_expired_records(client, services, citizen):
    client_id, _ = register_client(services)
    issue_code(services, client_id, citizen)
    now = utcnow()
    with services.sessions.begin() as db:
        db.add_all(
            [
                FaceChallenge(challenge_hash="a" * 64, purpose="login", expires_at=now - timedelta(seconds=1)),
                FaceChallenge(challenge_hash="b" * 64, purpose="login", expires_at=now + timedelta(minutes=5)),
                ClientAssertion(client_id=client_id, jti="old", expires_at=now - timedelta(seconds=1)),
                ClientAssertion(client_id=client_id, jti="live", expires_at=now + timedelta(minutes=5)),
                LoginAttempt(source="10.0.0.1", method="face", success=False, occurred_at=now - timedelta(days=2)),
                LoginAttempt(source="10.0.0.1", method="face", success=False, occurred_at=now),
            ]
        )
    with services.sessions.begin() as db:
        removed = prune(db, services.settings)
    assert removed["face_challenges"] == 1 and removed["client_assertions"] == 1 and removed["login_attempts"] == 1
    assert removed["authorization_codes"] == 0  # the code is still live
    assert _count(services, FaceChallenge) == 1 and _count(services, ClientAssertion) == 1
    assert _count(services, LoginAttempt) == 1 and _count(services, Grant) == 1  # grants are the record


def test_cli_prune_reports_per_table(settings, services, monkeypatch):
    monkeypatch.setenv("CIVID_DATA_DIR", str(settings.data_dir))
    from civid.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["idp", "prune"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "face_challenges: 0 removed" in result.output
