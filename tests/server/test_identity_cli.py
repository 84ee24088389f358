"""``civid identity suspend|deactivate|reactivate|status``: the adjudicator's commands change the status with the
API's rules (history, audit); a refused change is a message and exit 2, nothing changed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from civid.audit import SYSTEM
from civid.auth import create_api_key
from civid.settings import get_settings
from models import Identity, IdentityStatusChange
from server.cli import app
from server.services import build_services
from tests.conftest import make_settings

UIN = "4058075267"


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[object, dict[str, str]]]:
    services = build_services(make_settings(tmp_path), open_gallery=False)
    with services.sessions.begin() as db:
        db.add(Identity(uin=UIN, status="active"))
        _, adjudicator = create_api_key(db, "desk adjudicator", "adjudicator", SYSTEM)
        _, officer = create_api_key(db, "desk officer", "officer", SYSTEM)
    yield services, {"adjudicator": adjudicator, "officer": officer}
    services.close()


def run(tmp_path: Path, key: str, *args: str):  # type: ignore[no-untyped-def]
    get_settings.cache_clear()
    try:
        env = {"CIVID_DATA_DIR": str(tmp_path / "var"), "CIVID_API_KEY": key, "COLUMNS": "200"}
        return CliRunner().invoke(app, list(args), env=env)
    finally:
        get_settings.cache_clear()


def test_the_commands_suspend_reactivate_and_show_the_history(tmp_path, setup):
    services, keys = setup
    done = run(
        tmp_path, keys["adjudicator"], "identity", "suspend", UIN, "--reason", "court_order", "--evidence", "HC-7"
    )
    assert done.exit_code == 0, done.output
    assert "active -> suspended" in done.output
    back = run(
        tmp_path,
        keys["adjudicator"],
        "identity",
        "reactivate",
        UIN,
        "--reason",
        "court_order_lifted",
        "--evidence",
        "L",
    )
    assert back.exit_code == 0, back.output
    shown = run(tmp_path, "", "identity", "status", UIN)
    assert shown.exit_code == 0 and "suspended -> active" in shown.output and "HC-7" in shown.output


def test_a_refused_change_is_a_message_and_exit_2(tmp_path, setup):
    services, keys = setup
    wrong_role = run(tmp_path, keys["officer"], "identity", "deactivate", UIN, "--reason", "death", "--evidence", "D")
    assert wrong_role.exit_code == 2 and "may not deactivate" in wrong_role.output
    unknown = run(tmp_path, keys["adjudicator"], "identity", "deactivate", UIN, "--reason", "bored", "--evidence", "D")
    assert unknown.exit_code == 2 and "unknown reason" in unknown.output
    with services.sessions() as db:
        assert db.scalars(select(Identity.status)).one() == "active"
        assert db.scalars(select(IdentityStatusChange)).all() == []
