"""``civid doctor``: check a deployment and say what is wrong, in words (server/doctor.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from civid.settings import Settings

out = Console()
_settings: Callable[[], Settings] | None = None
MARKS = {"ok": "[green]ok[/green]  ", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}


def install(app: typer.Typer, settings: Callable[[], Settings]) -> None:
    global _settings
    _settings = settings
    app.command("doctor")(doctor)


def doctor() -> None:
    """Check this deployment (settings, keys, schema, clock, backups, audit log, dedup queue, indexes); exit 1 on a
    failure. Read-only: nothing is migrated, rebuilt or rotated."""
    from server.doctor import deployment

    assert _settings is not None, "server.doctor_cli.install() was not called"
    findings = deployment(_settings())
    for finding in findings:
        fix = f" [dim]→ {finding.fix}[/dim]" if finding.fix and finding.level != "ok" else ""
        out.print(f"{MARKS[finding.level]} {finding.check}: {finding.message}{fix}", highlight=False)
    counts = {level: sum(finding.level == level for finding in findings) for level in MARKS}
    out.print(f"{counts['ok']} ok, {counts['warn']} warnings, {counts['fail']} failures")
    if counts["fail"]:
        raise typer.Exit(1)
