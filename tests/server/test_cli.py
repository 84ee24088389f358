"""The ``civid`` command line, run in-process against a data folder of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from civid.settings import get_settings
from civid.uin import verhoeff_valid
from server.cli import app
from tests.conftest import FIXTURES
from tests.server import REPO, free_port

PORTRAIT = str(FIXTURES / "obama_2012_portrait.jpg")


@pytest.fixture
def cli(tmp_path: Path) -> Iterator:
    """Run ``civid ARGS`` with CIVID_DATA_DIR pointing at a fresh folder."""
    runner = CliRunner()
    env = {"CIVID_DATA_DIR": str(tmp_path / "var")}

    def run(*args: str):
        get_settings.cache_clear()  # settings are read once per process; each command must see this env
        return runner.invoke(app, list(args), env=env)

    yield run
    get_settings.cache_clear()


def one_line(text: str) -> str:
    """Rich wraps long lines at the terminal width; compare messages with whitespace collapsed."""
    return " ".join(text.split())


def printed_json(output: str) -> dict:
    """The JSON document a command printed after any progress lines."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("{"))
    return json.loads("\n".join(lines[start:]))


def create_key(cli, role: str) -> str:
    result = cli("apikey", "create", "--name", f"cli {role}", "--role", role)
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def enrol_args(photo: str, key: str) -> list[str]:
    return [
        "enrol",
        "--given-name",
        "Barack",
        "--family-name",
        "Obama",
        "--date-of-birth",
        "1961-08-04",
        "--sex",
        "M",
        "--place-of-birth",
        "Honolulu",
        "--nationality",
        "USA",
        "--address-line1",
        "1 Main St",
        "--locality",
        "Belmopan",
        "--photo",
        photo,
        "--api-key",
        key,
    ]


def test_apikey_create_prints_a_key_once(cli, tmp_path):
    key = create_key(cli, "officer")
    assert key.startswith("civid_") and len(key) > 40
    listed = cli("apikey", "list")
    assert listed.exit_code == 0, listed.output
    assert "cli officer" in listed.stdout and key not in listed.stdout  # the secret is never shown again


def test_apikey_create_with_an_unknown_role_fails_clearly(cli):
    result = cli("apikey", "create", "--name", "x", "--role", "superuser")
    assert result.exit_code != 0
    assert "unknown role" in one_line(result.output)


def test_enrol_prints_the_issued_enrolment_as_json(cli):
    key = create_key(cli, "officer")
    result = cli(*enrol_args(PORTRAIT, key))
    assert result.exit_code == 0, result.output
    body = printed_json(result.stdout)
    assert body["status"] == "issued" and verhoeff_valid(body["uin"])
    assert body["demographics"]["family_name"] == "Obama" and body["officer"] == "cli officer"


def test_enrol_with_a_corrupt_photo_exits_non_zero_with_a_clear_message(cli, tmp_path):
    key = create_key(cli, "officer")
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"this is not a photo" * 100)
    result = cli(*enrol_args(str(corrupt), key))
    assert result.exit_code != 0
    assert "error: corrupt.jpg: not a JPEG or PNG image" in one_line(result.stderr)
    assert "Traceback" not in result.output


def test_enrol_with_a_truncated_jpeg_exits_non_zero(cli, tmp_path):
    key = create_key(cli, "officer")
    half = tmp_path / "half.jpg"
    whole = Path(PORTRAIT).read_bytes()
    half.write_bytes(whole[: len(whole) // 2])
    result = cli(*enrol_args(str(half), key))
    assert result.exit_code != 0
    assert "truncated" in one_line(result.stderr)


def test_enrol_with_a_rejected_photo_prints_the_reason_and_exits_1(cli):
    key = create_key(cli, "officer")
    result = cli(*enrol_args(str(FIXTURES / "obama_2009_congress.jpg"), key))
    assert result.exit_code == 1, result.output
    body = printed_json(result.stdout)
    assert body["status"] == "rejected" and body["rejection_reasons"][0]["code"] == "pose_yaw"


def test_enrol_refuses_a_key_that_is_not_an_officers(cli):
    key = create_key(cli, "auditor")
    result = cli(*enrol_args(PORTRAIT, key))
    assert result.exit_code != 0
    assert "needs an officer key" in one_line(result.stderr)


def test_enrol_refuses_an_unknown_key(cli):
    create_key(cli, "officer")
    result = cli(*enrol_args(PORTRAIT, "civid_made-up"))
    assert result.exit_code != 0
    assert "unknown or revoked" in one_line(result.stderr)


def test_enrol_refuses_bad_demographics_before_touching_the_photo(cli):
    key = create_key(cli, "officer")
    args = enrol_args(PORTRAIT, key)
    args[args.index("--date-of-birth") + 1] = "2999-01-01"
    result = cli(*args)
    assert result.exit_code != 0
    assert "date_of_birth" in one_line(result.stderr) and "future" in one_line(result.stderr)


def test_index_rebuild_reports_the_template_count(cli):
    key = create_key(cli, "officer")
    assert cli(*enrol_args(PORTRAIT, key)).exit_code == 0
    result = cli("index", "rebuild")
    assert result.exit_code == 0, result.output
    assert "gallery rebuilt: 1 templates, index flat" in one_line(result.stdout)
    status = cli("index", "status")
    assert status.exit_code == 0 and "1 templates, index flat" in one_line(status.stdout)


def test_an_unknown_gallery_backend_ends_a_command_with_the_sentence_and_exit_2(cli, monkeypatch):
    monkeypatch.setenv("CIVID_GALLERY_BACKEND", "vespa")
    result = cli("index", "status")
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    said = one_line(result.stderr)
    assert "civid will not start: unknown gallery backend 'vespa'" in said and "known backends: faiss, milvus" in said


def test_a_dedup_threshold_one_finger_could_clear_ends_a_command_with_the_sentence_and_exit_2(cli, monkeypatch):
    # The shipped calibration caps one finger at LLR 2.75: a dedup threshold of 2.5 would let one finger open a case.
    monkeypatch.setenv("CIVID_DEDUP_LLR_THRESHOLD", "2.5")
    result = cli("index", "status")
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    said = one_line(result.stderr)
    assert "civid will not start: the finger LLR cap (2.75" in said and "dedup_llr_threshold (2.5)" in said


def test_serve_with_an_unknown_gallery_backend_ends_with_the_sentence_and_exit_2(tmp_path):
    env = {**os.environ, "CIVID_DATA_DIR": str(tmp_path / "var"), "CIVID_PORT": str(free_port())}
    env["CIVID_GALLERY_BACKEND"] = "vespa"
    # A server that starts anyway would run until the timeout: that fails the test too.
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr[-2000:]
    said = one_line(result.stderr)
    assert "civid will not start: unknown gallery backend 'vespa'" in said and "Traceback" not in said


def test_audit_verify_exits_0_on_an_intact_chain_and_1_after_tampering(cli, tmp_path):
    key = create_key(cli, "officer")
    assert cli(*enrol_args(PORTRAIT, key)).exit_code == 0
    result = cli("audit", "verify")
    assert result.exit_code == 0, result.output
    import sqlite3

    with sqlite3.connect(tmp_path / "var" / "civid.db") as db:
        actions = [row[0] for row in db.execute("SELECT action FROM audit_events ORDER BY id")]
    # The two OpenID signing keys and the credential key made at first start, the officer's key, the enrolment.
    assert actions == ["signing_key.created"] * 3 + ["api_key.created", "enrolment.issued"]
    assert f"audit chain intact: {len(actions)} events" in one_line(result.stdout)

    with sqlite3.connect(tmp_path / "var" / "civid.db") as db:
        db.execute("UPDATE audit_events SET detail = '{}' WHERE id = 3")
    broken = cli("audit", "verify")
    assert broken.exit_code == 1
    assert "audit chain broken at event 3" in one_line(broken.stderr)


def test_rotating_the_template_key_keeps_old_templates_readable(cli):
    key = create_key(cli, "officer")
    assert cli(*enrol_args(PORTRAIT, key)).exit_code == 0
    rotated = cli("keys", "rotate-template-key")
    assert rotated.exit_code == 0, rotated.output
    assert "active template key is now" in one_line(rotated.stdout)
    assert "gallery rebuilt: 1 templates" in one_line(cli("index", "rebuild").stdout)
    assert cli("audit", "verify").exit_code == 0


def test_an_old_key_is_retired_only_after_its_templates_are_reencrypted(cli, tmp_path):
    key = create_key(cli, "officer")
    assert cli(*enrol_args(PORTRAIT, key)).exit_code == 0
    ring = tmp_path / "var" / "keys" / "template-keys.json"
    old_kid = json.loads(ring.read_text())["active"]
    assert cli("keys", "rotate-template-key").exit_code == 0
    refused = cli("keys", "retire", old_kid)
    assert refused.exit_code != 0 and "reencrypt-templates" in one_line(refused.stderr)
    moved = cli("keys", "reencrypt-templates")
    # One face template, the enrolment photo kept beside it (keep_photos is on by default), the identity
    # provider's two private signing keys (ES256, RS256) and the credential key (ES256) made at first start.
    assert moved.exit_code == 0 and "5 sealed items" in one_line(moved.stdout)
    retired = cli("keys", "retire", old_kid)
    assert retired.exit_code == 0, retired.output
    assert old_kid not in json.loads(ring.read_text())["keys"]
    # Everything still opens with the smaller ring: the gallery rebuilds and the chain is intact.
    assert "gallery rebuilt: 1 templates" in one_line(cli("index", "rebuild").stdout)
    assert cli("audit", "verify").exit_code == 0


def test_enrol_with_fingers_and_a_missing_finger_then_export_them_as_iso(cli, tmp_path):
    from matcher import iso19794
    from tests.synthetic_fingerprints import impressions, png_bytes

    right_index = tmp_path / "right-index.png"
    right_index.write_bytes(png_bytes(impressions(501, 1)[0]))
    key = create_key(cli, "officer")
    result = cli(*enrol_args(PORTRAIT, key), "--finger", f"2={right_index}", "--missing-finger", "6=bandaged:cut")
    assert result.exit_code == 0, result.output
    body = printed_json(result.stdout)
    assert body["dedup_modalities"] == ["face", "finger"]
    assert [(f["position"], f["status"]) for f in body["fingerprints"]] == [(2, "captured"), (6, "excepted")]
    out = tmp_path / "exported.iso"
    exported = cli("fingerprints", "export", body["uin"], "--out", str(out), "--api-key", key)
    assert exported.exit_code == 0, exported.output
    record = iso19794.decode(out.read_bytes())
    assert [v.position for v in record.views] == [2] and len(record.views[0].minutiae) >= 12
    rebuilt = cli("index", "rebuild")
    assert rebuilt.exit_code == 0 and "fingerprint index rebuilt: 1 fingers" in one_line(rebuilt.output)


def test_enrol_refuses_a_finger_record_declaring_300_ppi_naming_the_finger_and_stores_nothing(cli, tmp_path):
    from matcher import iso19794, nbis_bridge
    from tests.synthetic_fingerprints import impressions

    found = nbis_bridge.extract(impressions(501, 1)[0])
    view = iso19794.FingerView(2, tuple(found.minutiae))
    record = tmp_path / "legacy.iso"
    record.write_bytes(iso19794.encode(iso19794.FingerprintRecord(found.width, found.height, (view,), 118, 118)))
    key = create_key(cli, "officer")
    result = cli(*enrol_args(PORTRAIT, key), "--finger-record", str(record))
    assert result.exit_code != 0
    message = one_line(result.output)
    assert "finger 2 (right index)" in message and "300 ppi" in message and "scan these fingers" in message
    assert "fingerprint index rebuilt: 0 fingers" in one_line(cli("index", "rebuild").output)


@pytest.mark.parametrize(
    "option, message",
    [
        (["--finger", "two=x.png"], "expected POSITION=IMAGE"),
        (["--missing-finger", "7"], "expected POSITION=REASON"),
        (["--missing-finger", "7=lost"], "is not one of"),
    ],
)
def test_enrol_with_malformed_finger_options_fails_clearly(cli, option, message):
    key = create_key(cli, "officer")
    result = cli(*enrol_args(PORTRAIT, key), *option)
    assert result.exit_code == 2 and message in one_line(result.output)


def test_staff_add_makes_the_first_console_admin_and_refuses_unknown_people(cli):
    key = create_key(cli, "officer")
    enrolled = cli(*enrol_args(PORTRAIT, key))
    uin = printed_json(enrolled.stdout)["uin"]
    added = cli("staff", "add", "--uin", uin, "--name", "Registrar General", "--role", "admin", "--role", "auditor")
    assert added.exit_code == 0, added.output
    assert "Registrar General (admin, auditor)" in one_line(added.stdout)
    listed = cli("staff", "list")
    assert listed.exit_code == 0 and "Registrar General" in listed.stdout and uin in listed.stdout
    again = cli("staff", "add", "--uin", uin, "--name", "Twice", "--role", "officer")
    assert again.exit_code == 2 and "already has a staff account" in one_line(again.output)
    unknown_role = cli("staff", "add", "--uin", uin, "--name", "X", "--role", "superuser")
    assert unknown_role.exit_code == 2 and "roles must be" in one_line(unknown_role.output)
    wrong_digit = uin[:-1] + str((int(uin[-1]) + 1) % 10)
    nobody = cli("staff", "add", "--uin", wrong_digit, "--name", "Nobody", "--role", "officer")
    assert nobody.exit_code == 2
    assert cli("staff", "disable", "1").exit_code == 0
    assert "disabled" in cli("staff", "list").stdout
