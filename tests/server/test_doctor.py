"""``civid doctor`` on SQLite and PostgreSQL: a healthy instance passes, and each check is made to fire by the real
condition it looks for — an exposed key file, a stale or missing backup, a schema behind, no active signing key, a
stuck dedup queue, an unsequenced audit backlog, a saved index behind the database."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from civid.settings import Settings, get_settings
from models import AuditEvent, DedupJob, SigningKey, utcnow
from models.db import downgrade, head_revision, make_engine, make_session_factory
from server.cli import app
from server.services import build_services
from tests.conftest import add_keys, enrol
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture


@pytest.fixture(params=["sqlite", "postgresql"])
def instance(request, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A served-once instance with one person enrolled and a fresh backup, and ``doctor()`` to examine it."""
    from fastapi.testclient import TestClient

    from server.app import create_app

    url = request.getfixturevalue("postgres_schema_url") if request.param == "postgresql" else None
    backups = tmp_path / "backups"
    backups.mkdir()
    settings = Settings(data_dir=tmp_path / "var", database_url=url, backup_dir=backups)
    services = build_services(settings)
    keys = add_keys(services)
    with TestClient(create_app(services=services)) as client:
        assert enrol(client, keys.officer, ["obama_2012_portrait.jpg"]).status_code == 201
    services.close()
    (backups / "civid-today.bak").write_bytes(b"an archive")
    env = {"CIVID_DATA_DIR": str(settings.data_dir), "CIVID_BACKUP_DIR": str(backups)}
    if url:
        env["CIVID_DATABASE_URL"] = url

    def doctor():  # type: ignore[no-untyped-def]
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(app, ["doctor"], env=env, terminal_width=400)
        finally:
            get_settings.cache_clear()

    return settings, doctor


def lines(result, level: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [line for line in result.output.splitlines() if line.startswith(level)]


def test_a_healthy_instance_passes_with_the_production_settings_it_lacks_as_warnings(instance):
    settings, doctor = instance
    result = doctor()
    assert result.exit_code == 0, result.output
    assert not lines(result, "FAIL"), result.output
    for check in ("migrations", "clock", "signing keys", "backup", "audit log", "dedup queue", "indexes"):
        assert any(line.startswith(f"ok   {check}:") for line in result.output.splitlines()), (check, result.output)
    # Development: what production would refuse is told ahead, one warning each, naming the variable.
    assert any("CIVID_ISSUER" in line for line in lines(result, "warn"))


def test_each_check_fires_on_its_real_condition(instance):
    settings, doctor = instance
    # A plain session, no civid process: nothing sequences the event below, as when no service is running.
    engine = make_engine(settings.resolved_database_url)
    old = utcnow() - timedelta(minutes=30)
    with make_session_factory(engine).begin() as session:
        session.execute(update(DedupJob).values(status="queued", created_at=old))
        session.execute(update(SigningKey).values(retired_at=utcnow()))
        event = AuditEvent(occurred_at=old, actor_name="t", actor_role="admin", action="test.unsequenced")
        session.add(event)
        event.subject_type, event.subject_id, event.detail = "test", "1", {}
    settings.resolved_template_keys_file.chmod(0o644)
    stale = time.time() - 3 * 86400
    os.utime(settings.backup_dir / "civid-today.bak", (stale, stale))
    meta = settings.gallery_dir / "face.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "watermark": 0}))
    downgrade(engine, "0022")
    settings.resolved_admin_key_file.write_text("civid_the-first-admin-key\n")  # left behind after first start
    engine.dispose()

    result = doctor()
    assert result.exit_code == 1, result.output
    said = result.output
    assert "FAIL keys: the template key ring" in said and "readable by others (mode 644)" in said
    assert "FAIL backup: the newest backup, civid-today.bak, is 3.0 days old" in said
    assert "FAIL signing keys: no OpenID signing key is active" in said and "civid keys rotate" in said
    assert f"warn migrations: the schema is at 0022, this civid expects {head_revision()}" in said
    assert "warn dedup queue: 1 enrolments wait for dedup, the oldest for 30 min" in said
    assert "warn audit log: 1 events committed but not sequenced" in said
    assert "warn keys: the first admin API key is still in" in said
    assert "warn indexes: the saved face index stops at template 0, the database has 1" in said


def test_an_issuer_at_an_ip_address_is_named(instance):
    settings, doctor = instance
    get_settings.cache_clear()
    result = CliRunner().invoke(
        app, ["doctor"], env={"CIVID_DATA_DIR": str(settings.data_dir), "CIVID_ISSUER": "http://10.0.0.7:8000"}
    )
    get_settings.cache_clear()
    assert "has an IP address for its host" in " ".join(result.output.split())


def test_no_backup_at_all_fails(instance):
    settings, doctor = instance
    (settings.backup_dir / "civid-today.bak").unlink()
    result = doctor()
    assert result.exit_code == 1 and "FAIL backup: no backup in" in result.output
