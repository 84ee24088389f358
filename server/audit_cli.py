"""``civid audit verify|checkpoint|key|rotate-key|prune``: the audit trail from the command line.

``verify`` checks the hash chain and that every stored leaf hash is its event's; with ``--checkpoint FILE`` (a
signed checkpoint, or the witness's whole append-only file) also that the database's log still is the one those
checkpoints signed, naming the first bad leaf (exactly when ``FILE.leaves``, the witness's leaf mirror, is beside
it; docs/audit-log.md). Exit 1 when anything is wrong, 2 when the input is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from civid.actor import Actor
from civid.errors import CividError

if TYPE_CHECKING:
    from civid.audit_verify import LogCheck
    from server.services import Services

audit_app = typer.Typer(help="The audit trail: a hash chain inside a verifiable Merkle-tree log", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
CLI_ACTOR = Actor(None, "cli", "admin")
_build_services: Callable[[], Services] | None = None


def install(app: typer.Typer, build_services: Callable[[], Services]) -> None:
    """Add ``civid audit …`` to ``app``, building the process's services with ``build_services``."""
    global _build_services
    _build_services = build_services
    app.add_typer(audit_app, name="audit")


def _services() -> Services:
    assert _build_services is not None, "server.audit_cli.install() was not called"
    return _build_services()


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


@audit_app.command("verify")
def verify(
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="A signed checkpoint held outside the database (or the witness's file of them)"
    ),
    key: str | None = typer.Option(
        None, help="The audit key that signed it (name+id+key, as 'civid audit key' prints); default: the key file's"
    ),
) -> None:
    """Check the audit trail; exit 1 and name the first broken event or leaf if it was tampered with."""
    from civid import audit
    from civid.audit_checkpoint import leaf_mirror_of
    from civid.audit_verify import read_checkpoints
    from civid.signed_note import parse_vkey

    services = _services()
    log = services.audit_log
    try:
        held = []
        mirror = None
        if checkpoint is not None:
            verifiers = [parse_vkey(Path(key).read_text() if Path(key).is_file() else key)] if key else None
            raw = _read(checkpoint)
            held = read_checkpoints(raw, verifiers or log.keys.verifiers, log.keys.name)
            mirror_file = leaf_mirror_of(checkpoint)
            mirror = mirror_file.read_bytes() if mirror_file.is_file() else None
        result = log.check(held, mirror)
    except CividError as exc:
        _fail(exc.detail)
    with services.sessions() as session:
        checked, broken = audit.verify_chain(session)
    failed = False
    if broken is not None:
        err.print(f"[red]audit chain broken at event {broken}[/red] (after {checked} intact events)")
        failed = True
    else:
        out.print(f"audit chain intact: {checked} events")
    failed = _report(result, mirror is not None) or failed
    if failed:
        raise typer.Exit(1)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read the checkpoint file {path}: {exc}")


PROBLEMS = {
    "altered": "its event does not hash to the stored leaf (edited without recomputing the tree)",
    "missing": "its event was deleted (not by retention: a younger event is still kept)",
    "reordered-or-rewritten": "it differs from the leaf the held checkpoint signed (rewritten or reordered)",
    "truncated": "the log is shorter than the held checkpoint (truncated)",
    "nodes": "the stored tree's nodes disagree with its leaves",
}


def _report(result: LogCheck, exact: bool) -> bool:
    """Print the log check; True when it failed."""
    against = f" against the checkpoint of {result.checkpoint_size}" if result.checkpoint_size is not None else ""
    finding = result.finding
    if finding is None:
        pruned = f", {result.pruned} pruned and checked by hash only" if result.pruned else ""
        out.print(f"audit log intact{against}: {result.leaves} leaves{pruned}")
        return False
    where = f"leaf {finding.first_leaf}"
    if finding.last_leaf != finding.first_leaf:
        where = f"a leaf from {finding.first_leaf} to {finding.last_leaf} (no leaf mirror beside the checkpoint)"
    event = f" (event {finding.event_id})" if finding.event_id is not None else ""
    err.print(f"[red]audit log broken{against}: first bad {where}{event}[/red]: {PROBLEMS[finding.problem]}")
    return True


@audit_app.command("checkpoint")
def show_checkpoint() -> None:
    """Sequence what is committed and print the newest signed checkpoint (what a witness keeps)."""
    out.print(_services().audit_log.checkpoint().note, end="", markup=False, highlight=False)


@audit_app.command("key")
def show_key() -> None:
    """Print the audit key's verifier key (name+id+key): give it to auditors and witnesses."""
    out.print(_services().audit_log.keys.verifier.vkey, markup=False, highlight=False)


@audit_app.command("rotate-key")
def rotate_key() -> None:
    """Sign checkpoints with a fresh key from now on; the old ones stay in the file to verify older checkpoints."""
    from civid import audit

    services = _services()
    log = services.audit_log
    log.checkpoint()  # the old key signs the log as it stands, so no leaf is first covered by an unknown key
    kid = log.keys.rotate()
    with services.sessions.begin() as session:
        audit.record(session, CLI_ACTOR, "audit.key_rotated", "key", kid, verifier=log.keys.verifier.vkey)
    out.print(f"audit key {kid} signs from now on: {log.keys.verifier.vkey}", markup=False, highlight=False)


@audit_app.command("prune")
def prune() -> None:
    """Delete event bodies older than CIVID_AUDIT_RETENTION_DAYS; their leaf hashes stay, so proofs still work."""
    services = _services()
    if not services.settings.audit_retention_days:
        _fail("CIVID_AUDIT_RETENTION_DAYS is not set: every event is kept")
    removed = services.audit_log.prune()
    out.print(f"{removed} audit events older than {services.settings.audit_retention_days} days pruned")
