"""``civid retention run [--dry-run]`` and ``civid retention show``: delete the personal data older than its
retention period (server/retention.py; docs/retention.md), with a progress bar and a table of what went, and show
the configured policy with what is always kept. Meant for a daily timer; each batch deleted is audited.
Exit 2 on bad input (an unknown kind, a batch size below 1, invalid CIVID_RETENTION_* settings)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from civid.settings import Settings
    from server.services import Services

retention_app = typer.Typer(help="Retention of personal data: run the deletions, show the policy", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
_build_services: Callable[[], Services] | None = None
_load_settings: Callable[[], Settings] | None = None
# What each kind deletes, and from when its period counts (the table's and `show`'s words).
DESCRIPTIONS = {
    "photos": "enrolment photos, from the enrolment's date",
    "deactivated_templates": "face and finger templates of identities deactivated (not for death), from the "
    "deactivation",
    "releases": "records of claims released to portals and banks, from the release",
    "login_history": "login attempts, and ended or expired login sessions, from the attempt or the session's start",
}


def install(app: typer.Typer, build_services: Callable[[], Services], load_settings: Callable[[], Settings]) -> None:
    """Add ``civid retention …`` to ``app``: services and settings are built on call by the functions given."""
    global _build_services, _load_settings
    _build_services, _load_settings = build_services, load_settings
    app.add_typer(retention_app, name="retention")


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _period(days: int | None) -> str:
    return "kept forever" if days is None else f"{days} days"


@retention_app.command("show")
def show() -> None:
    """The configured retention period of each kind, and what is kept whatever it says."""
    from server.retention import ALWAYS_KEPT, TARGETS, days_of

    assert _load_settings is not None, "server.retention_cli.install() was not called"
    policy = _load_settings().retention
    table = Table("kind", "retention", "what", title="Retention policy (CIVID_RETENTION_*_DAYS)")
    for kind in TARGETS:
        table.add_row(kind, _period(days_of(policy, kind)), DESCRIPTIONS[kind])
    out.print(table)
    out.print("Always kept, whatever the policy says:")
    for line in ALWAYS_KEPT:
        out.print(f"  - {line}")


@retention_app.command("run")
def run(
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what is due; delete nothing"),
    kind: list[str] = typer.Option(None, "--kind", help="Only this kind (repeatable); default every kind"),
    batch_size: int = typer.Option(500, help="Rows per batch, each batch one transaction and one audit event"),
) -> None:
    """Delete every kind's rows older than its retention period, in audited batches; print a table of them."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from server.retention import TARGETS, count_due, days_of, purge

    kinds = list(kind or TARGETS)
    unknown = [name for name in kinds if name not in TARGETS]
    if unknown:
        _fail(f"unknown kind {', '.join(unknown)}; one of {', '.join(TARGETS)}")
    if batch_size < 1:
        _fail("--batch-size must be at least 1")
    assert _build_services is not None, "server.retention_cli.install() was not called"
    services = _build_services()
    reports = []
    try:
        policy = services.settings.retention
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err) as progress:
            for name in kinds:
                days = days_of(policy, name)
                task = progress.add_task(name, total=count_due(services.sessions, name, days))
                reports.append(
                    purge(
                        services.sessions,
                        name,
                        days,
                        dry_run=dry_run,
                        batch_size=batch_size,
                        progress=partial(progress.advance, task),
                    )
                )
                progress.update(task, completed=progress.tasks[task].total)
    finally:
        services.close()
    title = "Retention dry run: due, nothing deleted" if dry_run else "Retention run: deleted"
    table = Table("kind", "retention", "cut-off (UTC)", "table", "rows", "batches", title=title)
    for report in reports:
        cutoff = report.cutoff.strftime("%Y-%m-%d %H:%M") if report.cutoff else "-"
        if not report.tables:
            table.add_row(report.kind, _period(report.retention_days), cutoff, "-", "0", "0")
        for row in report.tables:
            table.add_row(
                report.kind, _period(report.retention_days), cutoff, row.table, str(row.rows), str(row.batches)
            )
    out.print(table)
    total = sum(report.deleted for report in reports)
    out.print(f"{total} row(s) {'due' if dry_run else 'deleted'}" + ("" if dry_run else ", each batch audited"))
    templates = sum(r.deleted for r in reports if r.kind == "deactivated_templates")
    if templates and not dry_run:
        # Searches already ignore them (hits are resolved against the rows); the vectors go at the next reconcile.
        out.print(
            f"{templates} template(s) deleted: no search reports them; each registration process drops them from "
            "its index at its next start (with Milvus, 'civid index rebuild' drops them from the shared one now)"
        )
