"""``civid notifications status|retry``: what the outbox holds (by channel and state, the oldest waiting) and, after
a mail server or SMS gateway was fixed, sending failed notifications again. Retrying is audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from server.services import Services

notifications_app = typer.Typer(help="The notification outbox: status, retry failed", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
_build_services: Callable[[], Services] | None = None


def install(app: typer.Typer, build_services: Callable[[], Services]) -> None:
    """Add ``civid notifications …`` to ``app``, building the process's services with ``build_services``."""
    global _build_services
    _build_services = build_services
    app.add_typer(notifications_app, name="notifications")


def _services() -> Services:
    assert _build_services is not None, "server.notifications_cli.install() was not called"
    return _build_services()


@notifications_app.command("status")
def status() -> None:
    """Count notifications by channel and state; show the oldest still waiting and the last errors."""
    from sqlalchemy import func, select

    from civid import audit
    from models import Notification, utcnow

    services = _services()
    try:
        with services.sessions() as db:
            counts = db.execute(
                select(Notification.channel, Notification.status, func.count(), func.min(Notification.created_at))
                .group_by(Notification.channel, Notification.status)
                .order_by(Notification.channel, Notification.status)
            ).all()
            failed = db.scalars(
                select(Notification).where(Notification.status == "failed").order_by(Notification.id.desc()).limit(5)
            ).all()
    finally:
        services.close()
    table = Table("channel", "status", "count", "oldest (min ago)", title="Notification outbox")
    now = utcnow()
    for channel, state, count, oldest in counts:
        age = (now - audit.as_utc(oldest)).total_seconds() / 60 if oldest else 0
        table.add_row(channel, state, str(count), f"{age:.0f}")
    out.print(table)
    for row in failed:
        out.print(f"failed #{row.id} ({row.channel}, {row.kind}, {row.attempts} attempts): {row.last_error}")


@notifications_app.command("retry")
def retry(
    notification_id: list[int] = typer.Argument(None, help="Notification ids; none: every failed one"),
) -> None:
    """Make failed notifications due again now, with a fresh count of attempts."""
    from sqlalchemy import select

    from civid import audit
    from models import Identity, Notification, utcnow

    services = _services()
    try:
        with services.sessions.begin() as db:
            query = select(Notification).where(Notification.status == "failed")
            if notification_id:
                query = query.where(Notification.id.in_(notification_id))
            rows = db.scalars(query.with_for_update()).all()
            missing = set(notification_id or ()) - {row.id for row in rows}
            if missing:
                err.print(f"[red]error:[/red] not failed or no such notification: {sorted(missing)}")
                raise typer.Exit(2)
            for row in rows:
                row.status, row.attempts, row.next_attempt_at = "pending", 0, utcnow()
                uin = db.scalar(select(Identity.uin).where(Identity.id == row.identity_id)) or "?"
                audit.record(
                    db, audit.SYSTEM, "notification.retried", "identity", uin, kind=row.kind, channel=row.channel
                )
    finally:
        services.close()
    out.print(f"{len(rows)} notification(s) due again; the serve process sends them within seconds")
