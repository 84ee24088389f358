"""The backup drill, on SQLite and PostgreSQL: an instance with people, fingers, a bound passkey and an audit log
is backed up while enrolments go on, restored into an empty instance elsewhere, and used: the same person enrolled
again is found by dedup, and the passkey bound before the backup logs in. Then what a restore must refuse: a wrong
passphrase, an altered or cut-short archive, a non-empty target — each leaving the target as it was."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from civid.settings import Settings, get_settings
from models import AuditEvent, Identity
from server.app import create_app
from server.cli import app
from server.services import build_services
from tests.conftest import add_keys, enrol
from tests.enrollment.test_fingerprints import OBAMA_FINGERS, fingers_of
from tests.idp.test_passkeys import bound, login
from tests.postgres import postgres_schema_url, postgres_url  # noqa: F401 - fixture

PASSPHRASE = "correct horse battery staple"


def civid(data_dir: Path, database_url: str | None, *args: str):  # type: ignore[no-untyped-def]
    """The real ``civid`` command line, with an instance's settings in its environment."""
    env = {"CIVID_DATA_DIR": str(data_dir), "CIVID_BACKUP_PASSPHRASE": PASSPHRASE}
    if database_url:
        env["CIVID_DATABASE_URL"] = database_url
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args), env=env)
    finally:
        get_settings.cache_clear()


@pytest.fixture(params=["sqlite", "postgresql"])
def instances(request, tmp_path: Path) -> Iterator[tuple[dict, dict]]:  # type: ignore[no-untyped-def]
    """(source, target): each a data folder and a database URL; the PostgreSQL target is an empty database whose
    search_path names the source's schema (a dump restores into the schema it was taken from)."""
    if request.param == "sqlite":
        yield {"dir": tmp_path / "a", "url": None}, {"dir": tmp_path / "b", "url": None}
        return
    source_url = request.getfixturevalue("postgres_schema_url")
    schema = make_url(source_url).query["options"].removeprefix("-csearch_path=")
    name = "civid_restore_" + secrets.token_hex(4)
    admin = create_engine(postgres_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    target_url = make_url(source_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield {"dir": tmp_path / "a", "url": source_url}, {"dir": tmp_path / "b", "url": target_url}
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    assert schema


def settings_of(instance: dict):  # type: ignore[no-untyped-def]
    return Settings(data_dir=instance["dir"], database_url=instance["url"])


def populate(instance: dict):  # type: ignore[no-untyped-def]
    """Obama with two fingers and a passkey, Biden; returns (keys, obama's UIN, his authenticator)."""
    services = build_services(settings_of(instance))
    keys = add_keys(services)
    try:
        with TestClient(create_app(services=services), raise_server_exceptions=False) as client:
            obama = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], fingers=fingers_of(OBAMA_FINGERS, 0))
            assert obama.status_code == 201 and obama.json()["status"] == "issued", obama.text
            biden = enrol(client, keys.officer, ["biden_2010_blue_room.jpg"], given_name="Joseph", family_name="Biden")
            assert biden.json()["status"] == "issued", biden.text
            authenticator = bound(client, keys, obama.json()["uin"])
            assert login(client, authenticator).status_code == 200
    finally:
        services.close()
    return keys, obama.json()["uin"], authenticator


def test_the_drill_backup_under_load_restore_elsewhere_then_dedup_and_passkey_login(instances, tmp_path: Path):
    source, target = instances
    keys, uin, authenticator = populate(source)
    archive = tmp_path / "backups" / "civid.bak"

    # Under load: enrolments and failed logins go on in the source while the backup is taken.
    services = build_services(settings_of(source))
    stop, rounds = threading.Event(), [0]

    def load() -> None:
        with TestClient(create_app(services=services), raise_server_exceptions=False) as client:
            while not stop.is_set():
                enrol(client, keys.officer, ["collins_nasa_portrait.png"], given_name=f"Load{rounds[0]}")
                client.post("/v1/enrolments", headers={"Authorization": "Bearer wrong"})
                rounds[0] += 1

    worker = threading.Thread(target=load)
    worker.start()
    try:
        while rounds[0] < 1:
            stop.wait(0.05)
        made = civid(source["dir"], source["url"], "backup", str(archive))
    finally:
        stop.set()
        worker.join()
        services.close()
    assert made.exit_code == 0, made.output
    assert "backup written" in made.output and archive.with_name("civid.bak.sha256").is_file()
    assert b"template-keys" not in archive.read_bytes()  # the key files are inside the encryption only

    restored = civid(target["dir"], target["url"], "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    for line in ("ok   tables", "ok   audit chain", "ok   audit log", "ok   templates", "ok   gallery"):
        assert line in restored.output, restored.output

    again = build_services(settings_of(target))
    try:
        with TestClient(create_app(services=again), raise_server_exceptions=False) as client:
            # The same person enrolled again is found: templates decrypt, the gallery was rebuilt, the keys came back.
            second = enrol(client, keys.officer, ["obama_2010_blue_room.jpg"], fingers=fingers_of(OBAMA_FINGERS, 1))
            assert second.status_code == 201, second.text
            assert second.json()["status"] == "pending_adjudication", second.json()
            assert uin in {candidate["uin"] for candidate in second.json()["candidates"]}
            # The passkey bound before the backup logs in at the restored instance.
            response = login(client, authenticator)
            assert response.status_code == 200 and response.json() == {"redirect": "/account"}, response.text
        with again.sessions() as session:
            actions = set(session.scalars(select(AuditEvent.action)))
            assert "backup.restored" in actions and "enrolment.issued" in actions
            assert session.scalar(select(func.count()).select_from(Identity)) >= 2
    finally:
        again.close()


def test_a_restore_refuses_a_wrong_passphrase_an_altered_or_cut_archive_and_a_non_empty_target(tmp_path: Path):
    source = {"dir": tmp_path / "a", "url": None}
    services = build_services(settings_of(source))
    services.close()
    archive = tmp_path / "civid.bak"
    assert civid(source["dir"], None, "backup", str(archive)).exit_code == 0
    again = civid(source["dir"], None, "backup", str(archive))
    assert again.exit_code == 2 and "never overwrites" in again.output

    target = tmp_path / "b"
    wrong = CliRunner().invoke(
        app, ["restore", str(archive)], env={"CIVID_DATA_DIR": str(target), "CIVID_BACKUP_PASSPHRASE": "x" * 20}
    )
    get_settings.cache_clear()
    assert wrong.exit_code == 2 and "wrong passphrase" in wrong.output, wrong.output
    assert not any(target.rglob("*.db")) and not (target / "keys").exists()

    data = bytearray(archive.read_bytes())
    altered, cut = tmp_path / "altered.bak", tmp_path / "cut.bak"
    data[len(data) // 2] ^= 1
    altered.write_bytes(bytes(data))
    cut.write_bytes(archive.read_bytes()[:-40])
    for broken, words in ((altered, "altered"), (cut, "cut short")):
        refused = civid(target, None, "restore", str(broken))
        assert refused.exit_code == 2 and words in refused.output, refused.output
    # The checksum beside an archive catches a damaged copy before the passphrase is tried.
    copy = tmp_path / "copy.bak"
    copy.write_bytes(bytes(data))
    (tmp_path / "copy.bak.sha256").write_text(archive.with_name("civid.bak.sha256").read_text())
    assert "does not match its checksum" in civid(target, None, "restore", str(copy)).output
    assert not any(target.rglob("*.db")) and not (target / "keys").exists()

    occupied = civid(source["dir"], None, "restore", str(archive))
    assert occupied.exit_code == 2 and "empty instance only" in occupied.output
    short = CliRunner().invoke(
        app,
        ["backup", str(tmp_path / "x.bak")],
        env={"CIVID_DATA_DIR": str(source["dir"]), "CIVID_BACKUP_PASSPHRASE": "short"},
    )
    get_settings.cache_clear()
    assert short.exit_code == 2 and "at least 12 characters" in short.output
    assert civid(target, None, "restore", str(archive)).exit_code == 0
