"""``civid card issue|report|reprint|status``: the officer's commands follow the API's rules and audit; a refused
action is a message and exit 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from civid.settings import get_settings
from server.cli import app
from tests.conftest import enrol, seeded_fixtures
from tests.credentials.card_helpers import events


def enrol_collins(client, keys) -> str:  # type: ignore[no-untyped-def]
    body = enrol(client, keys.officer, ["collins_nasa_portrait.png"], given_name="Eileen", family_name="Collins")
    assert body.json()["status"] == "issued", body.text
    return str(body.json()["uin"])


seed, settings, keys, collins = seeded_fixtures(enrol_collins, "collins")


def run(settings, headers: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    get_settings.cache_clear()
    try:
        key = headers["Authorization"].removeprefix("Bearer ")
        env = {"CIVID_DATA_DIR": str(settings.data_dir), "CIVID_API_KEY": key, "COLUMNS": "200"}
        return CliRunner().invoke(app, list(args), env=env)
    finally:
        get_settings.cache_clear()


def test_issue_report_and_reprint_from_the_command_line(tmp_path: Path, settings, keys, services, collins):
    issued = run(settings, keys.officer, "card", "issue", collins, "--out", str(tmp_path / "card.pdf"))
    assert issued.exit_code == 0, issued.output
    number = issued.output.split()[1]
    assert (tmp_path / "card.pdf").read_bytes().startswith(b"%PDF-")
    again = run(settings, keys.officer, "card", "issue", collins, "--out", str(tmp_path / "again.pdf"))
    assert again.exit_code == 2 and "already has an active ID card" in again.output
    assert not (tmp_path / "again.pdf").exists()

    reported = run(settings, keys.officer, "card", "report", number, "--reason", "damaged")
    assert reported.exit_code == 0 and f"card {number}: damaged, revoked" in reported.output
    reprinted = run(settings, keys.officer, "card", "reprint", number, "--out", str(tmp_path / "new.pdf"))
    assert reprinted.exit_code == 0, reprinted.output
    assert f"replaces {number}" in reprinted.output and (tmp_path / "new.pdf").exists()
    shown = run(settings, keys.auditor, "card", "status", number)
    assert shown.exit_code == 0 and "damaged" in shown.output
    assert [len(events(services, a)) for a in ("card.issued", "card.reported", "card.reprinted", "card.printed")] == [
        1,
        1,
        1,
        2,
    ]


def test_a_refused_action_is_a_message_and_exit_2(tmp_path: Path, settings, keys, collins):
    denied = run(settings, keys.auditor, "card", "issue", collins, "--out", str(tmp_path / "c.pdf"))
    assert denied.exit_code == 2 and "may not do this" in denied.output
    wrong = run(settings, keys.officer, "card", "report", "123456789A", "--reason", "lost")
    assert wrong.exit_code == 2 and "check letter" in wrong.output
    reason = run(settings, keys.officer, "card", "report", "123456789B", "--reason", "burnt")
    assert reason.exit_code == 2 and "lost, stolen, damaged" in reason.output
