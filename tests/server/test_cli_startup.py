"""``civid --help`` and every ``civid … --help`` load only the command line, never the service behind it.

Each check runs in a fresh interpreter (a subprocess), because this test session has long since imported
dlib, FAISS and the app. Nothing here is timed (the time is measured by benchmarks/cli_startup.py); the
tests assert which modules a help screen loads, which is what made every command take seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Third-party modules that only the commands doing real work need (face and finger engines, index, web app,
# database, settings). The first-party packages are checked separately: only their CLI modules may load.
# (pydantic itself is not listed: typer 0.29 coerces option values through it, even for a group's --help.)
HEAVY_THIRD_PARTY = (
    "dlib",
    "faiss",
    "cv2",
    "nbis",
    "numpy",
    "PIL",
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "pydantic_settings",
    "cryptography",
    "jwt",
    "authlib",
    "httpx",
    "webauthn",
)
FIRST_PARTY = ("civid", "server", "idp", "console", "enrollment", "matcher", "models", "kyc", "credentials")
CLI_MODULES = {
    "server",
    "server.__main__",
    "server.cli",
    "server.abis_cli",
    "server.audit_cli",  # the audit commands (their services are built on call, never at import)
    "server.backup_cli",  # civid backup and restore (the archive code loads on call)
    "server.doctor_cli",  # civid doctor (its checks load on call)
    "server.keys_cli",  # the HSM key ceremonies (services built on call)
    "server.identity_cli",  # the identity status commands (services built on call)
    "server.card_lifecycle_cli",  # civid card issue|report|reprint|status (services built on call)
    "server.notifications_cli",  # civid notifications status|retry (services built on call)
    "server.retention_cli",  # civid retention run|show (services and settings built on call)
    "server.card_cli",  # civid card verify|… (services, OpenCV and the verifier loaded on call)
    "civid",
    "civid.errors",
    "civid.actor",
    "civid.limits",
    "idp",
    "idp.cli",
    "console",
    "console.cli",
}

# Run in the fresh interpreter: walk the click tree of the real ``civid`` app and print, per command path,
# the forbidden modules first loaded by the import of server.cli (path "") and then by each path's --help.
WALK_HELP = """
import contextlib, io, json, sys
heavy, first_party = tuple(json.loads(sys.argv[1])), tuple(json.loads(sys.argv[2]))
allowed = set(json.loads(sys.argv[3]))

def forbidden():
    found = []
    for name in sys.modules:
        top = name.split(".")[0]
        if top in heavy or (top in first_party and name not in allowed):
            found.append(name)
    return sorted(found)

from server.cli import app
import typer.main
report = {"": forbidden()}
seen = set(report[""])

def walk(command, path):
    yield path
    if hasattr(command, "commands"):  # a group (typer ships its own click, so no isinstance)
        for name in sorted(command.commands):
            yield from walk(command.commands[name], path + [name])

for path in walk(typer.main.get_command(app), []):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(io.StringIO()):
        code = app(path + ["--help"], prog_name="civid", standalone_mode=False)
    new = [name for name in forbidden() if name not in seen]
    seen.update(new)
    report[" ".join(path) or "--help"] = {"exit": code, "usage": "Usage:" in buffer.getvalue(), "forbidden": new}
print(json.dumps(report))
"""


def _fresh_python(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "COLUMNS": "120"}
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


def _loaded_by_importtime(stderr: str) -> list[str]:
    """Module names from ``python -X importtime`` output (``import time: self | cumulative | name``)."""
    names = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                names.append(name)
    return names


def _forbidden(names: list[str]) -> list[str]:
    return sorted(
        n
        for n in names
        if n.split(".")[0] in HEAVY_THIRD_PARTY or (n.split(".")[0] in FIRST_PARTY and n not in CLI_MODULES)
    )


def test_civid_help_loads_no_engine_database_or_app_module():
    result = _fresh_python("-X", "importtime", "-m", "server", "--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Usage:" in result.stdout and "enrol" in result.stdout and "staff" in result.stdout
    loaded = _loaded_by_importtime(result.stderr)
    assert "server.cli" in loaded  # the parse saw the real import trace
    assert _forbidden(loaded) == []


def test_every_subcommand_help_loads_no_engine_database_or_app_module():
    result = _fresh_python(
        "-c", WALK_HELP, json.dumps(HEAVY_THIRD_PARTY), json.dumps(FIRST_PARTY), json.dumps(sorted(CLI_MODULES))
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report.pop("") == [], "importing server.cli loads these"
    # Every command group and command of the real CLI was walked, the IdP's and the console's included.
    for path in (
        "--help",
        "serve",
        "enrol",
        "index rebuild",
        "keys rotate",
        "keys status",
        "clients add",
        "idp prune",
        "staff add",
        "audit verify",
        "fingerprints export",
    ):
        assert path in report
    assert len(report) >= 25
    bad = {path: seen for path, seen in report.items() if seen != {"exit": 0, "usage": True, "forbidden": []}}
    assert bad == {}
