"""``civid staff``: console accounts from the command line (the first admin is made here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from civid.actor import Actor
from civid.errors import CividError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from idp.runtime import IdpServices

# console.staff.accounts, settings and services load inside the commands: civid --help must not import the app.

staff_app = typer.Typer(
    help="Staff accounts of the officer console (they sign in with their own UIN)", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)
CLI_ACTOR = Actor(None, "cli", "admin")
_T = TypeVar("_T")
# Set by install(): the command line's top package builds the process's services (without opening the gallery),
# which this package must not import.
_build_services: Callable[[], IdpServices] | None = None


def _run(action: Callable[[Session], _T]) -> _T:
    """Run ``action(db)`` in one transaction; a civid error is a message and exit code 2."""
    assert _build_services is not None, "console.cli.install was not called"
    services = _build_services()
    try:
        with services.sessions.begin() as db:
            return action(db)
    except CividError as exc:
        err.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from exc
    finally:
        services.engine.dispose()  # not close(): the gallery was not opened, so it must not be saved


@staff_app.command("add")
def staff_add(
    uin: str = typer.Option(..., help="The staff member's own UIN (they must be enrolled)"),
    name: str = typer.Option(..., help="Shown in the audit trail, e.g. 'Officer A. Chan, Belmopan'"),
    role: list[str] = typer.Option(..., help="officer, adjudicator, auditor or admin (repeat)"),
) -> None:
    """Give an enrolled person a console account with roles; they sign in at /console with a passkey."""
    from console.staff import accounts as staff_accounts

    account_id = _run(lambda db: staff_accounts.add(db, uin, name, role, CLI_ACTOR).id)
    out.print(f"staff account {account_id}: {name} ({', '.join(role)})")


@staff_app.command("list")
def staff_list() -> None:
    """Every staff account with its roles."""
    from console.staff import accounts as staff_accounts

    rows = _run(
        lambda db: [
            (a.id, a.name, a.uin, ", ".join(a.roles), "disabled" if a.disabled_at else "")
            for a in staff_accounts.listing(db)
        ]
    )
    table = Table("id", "name", "UIN", "roles", "state")
    for row in rows:
        table.add_row(*map(str, row))
    out.print(table)


@staff_app.command("disable")
def staff_disable(account_id: int = typer.Argument(..., help="The account id from `civid staff list`")) -> None:
    """Stop a staff member from signing in (their past actions stay attributed to them)."""
    from console.staff import accounts as staff_accounts

    _run(lambda db: staff_accounts.disable(db, account_id, CLI_ACTOR))
    out.print(f"staff account {account_id} disabled")


def install(app: typer.Typer, build_services: Callable[[], IdpServices]) -> None:
    """Add ``civid staff``; its commands get the process's services (the gallery not opened) from ``build_services``."""
    global _build_services
    _build_services = build_services
    app.add_typer(staff_app, name="staff")
