"""``civid backup FILE`` and ``civid restore FILE``: an encrypted archive of the instance, and the drill back.

``restore`` goes into an empty instance only (the ``CIVID_*`` settings name it: its data folder, its database)
and ends with the checks of server/restore_checks.py: every table's rows as backed up, the audit chain and log,
sampled templates opening with the restored key ring, and the gallery rebuilt. Exit 0 when all pass, 1 when a
check fails, 2 when the input is refused (docs/backup.md).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer
from rich.console import Console

from civid.actor import Actor
from civid.errors import CividError

if TYPE_CHECKING:
    from rich.progress import Progress

    from civid.settings import Settings

out = Console()
err = Console(stderr=True)
CLI_ACTOR = Actor(None, "cli", "admin")
T = TypeVar("T")
_settings: Callable[[], Settings] | None = None

PASSPHRASE_HELP = "File whose first line is the passphrase (else the variable CIVID_BACKUP_PASSPHRASE)"


def install(app: typer.Typer, settings: Callable[[], Settings]) -> None:
    """Add ``civid backup`` and ``civid restore`` to ``app``; ``settings`` reads the process's settings."""
    global _settings
    _settings = settings
    app.command("backup")(backup)
    app.command("restore")(restore)


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _progress() -> Progress:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=err)


def _bar(progress: Progress, description: str) -> Callable[[int], Callable[[int], None]]:
    def started(total: int) -> Callable[[int], None]:
        task = progress.add_task(description, total=total)
        return lambda done: progress.advance(task, done)

    return started


def _with_passphrase(passphrase_file: str | None, description: str, step: Callable[..., T]) -> tuple[Settings, T]:
    """Run ``step(settings, passphrase, started)`` under a progress bar; a refusal ends the command (exit 2)."""
    from server.backup_container import read_passphrase

    assert _settings is not None, "server.backup_cli.install() was not called"
    settings = _settings()
    try:
        passphrase = read_passphrase(passphrase_file)
        with _progress() as progress:
            return settings, step(settings, passphrase, _bar(progress, description))
    except CividError as exc:
        _fail(exc.detail)


def backup(
    archive: Path = typer.Argument(..., help="The archive to write (never overwritten); FILE.sha256 beside it"),
    passphrase_file: str | None = typer.Option(None, envvar="CIVID_BACKUP_PASSPHRASE_FILE", help=PASSPHRASE_HELP),
    with_gallery: bool = typer.Option(False, help="Also the saved FAISS indexes (they rebuild from the database)"),
) -> None:
    """Write a consistent, encrypted, checksummed archive of the database and the key files."""
    from server import backup as archive_of

    settings, manifest = _with_passphrase(
        passphrase_file,
        "Encrypting",
        lambda settings, passphrase, started: archive_of.create(
            settings, archive, passphrase, with_gallery=with_gallery, started=started
        ),
    )
    rows = sum(manifest.tables.values())
    # Recorded after the snapshot, so the archive does not hold its own event; the live log does.
    from server.cli_audit import record_cli_event

    record_cli_event(settings, "backup.created", "backup", archive.name, rows=rows, tables=len(manifest.tables))
    out.print(
        f"backup written: {archive} ({archive.stat().st_size:,} bytes, {len(manifest.members)} members, "
        f"{len(manifest.tables)} tables, {rows:,} rows, schema revision {manifest.revision}); "
        f"checksum in {archive_of.checksum_file(archive).name}"
    )


def restore(
    archive: Path = typer.Argument(..., help="An archive written by 'civid backup'"),
    passphrase_file: str | None = typer.Option(None, envvar="CIVID_BACKUP_PASSPHRASE_FILE", help=PASSPHRASE_HELP),
    checkpoint: Path | None = typer.Option(
        None, help="Also verify the restored audit log against a checkpoint held elsewhere (the witness's file)"
    ),
) -> None:
    """Restore into an empty data folder or database, then verify rows, audit log, keys and gallery."""
    from server import backup as archive_of
    from server import restore_checks as checks
    from server.services import build_services

    settings, (manifest, counts) = _with_passphrase(
        passphrase_file,
        "Decrypting",
        lambda settings, passphrase, started: archive_of.restore(settings, archive, passphrase, started=started),
    )
    out.print(f"restored {archive.name} (taken {manifest.created_at}, schema revision {manifest.revision})")
    results = [checks.table_counts(manifest, counts)]
    services = build_services(settings, open_gallery=False, show_progress=True)
    try:
        held = _held(services, checkpoint) if checkpoint else []
        results += checks.audit_trail(services, held)
        results.append(checks.templates_open(services))
        results.append(checks.gallery_rebuilt(services, show_progress=True))
        failed = [check for check in results if not check.ok]
        from civid.audit import record

        with services.sessions.begin() as session:
            record(
                session,
                CLI_ACTOR,
                "backup.restored",
                "backup",
                archive.name,
                taken=manifest.created_at,
                checks_failed=[check.name for check in failed],
            )
    finally:
        services.close()
    for check in results:
        mark = "[green]ok[/green]  " if check.ok else "[red]FAIL[/red]"
        (out if check.ok else err).print(f"{mark} {check.name}: {check.detail}")
    if failed:
        raise typer.Exit(1)


def _held(services, path: Path):  # type: ignore[no-untyped-def]
    from civid.audit_verify import read_checkpoints

    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read the checkpoint file {path}: {exc}")
    try:
        return read_checkpoints(raw, services.audit_log.keys.verifiers, services.audit_log.keys.name)
    except CividError as exc:
        _fail(exc.detail)
