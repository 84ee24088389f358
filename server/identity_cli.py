"""``civid identity suspend|deactivate|reactivate|status``: an identity's status from the command line, as the
adjudicator owning the API key (``enrollment.identity_status``: the same rules, history, audit and revocations
as the API). Exit 2 on bad input or a refused change (wrong role, unknown reason, a status it no longer has)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from civid.errors import CividError

if TYPE_CHECKING:
    from server.services import Services

identity_app = typer.Typer(help="An identity's status: suspend, deactivate, reactivate, history", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
_build_services: Callable[[], Services] | None = None
_T = TypeVar("_T")
API_KEY_HELP = "Your adjudicator API key (the change is attributed to it)"


def install(app: typer.Typer, build_services: Callable[[], Services]) -> None:
    """Add ``civid identity …`` to ``app``, building the process's services with ``build_services``."""
    global _build_services
    _build_services = build_services
    app.add_typer(identity_app, name="identity")


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _change(action: str, uin: str, reason: str, evidence: str, note: str | None, api_key: str) -> None:
    from civid.auth import authenticate
    from enrollment.identity_status import change_status

    assert _build_services is not None, "server.identity_cli.install() was not called"
    services = _build_services()
    try:
        with services.sessions() as session:
            actor = authenticate(session, api_key)
        with services.sessions.begin() as session:
            change = change_status(session, services.events, actor, action, uin, reason, evidence, note)
    except CividError as exc:
        _fail(exc.detail)
    finally:
        services.close()
    out.print(f"UIN {change.uin}: {change.from_status} -> {change.to_status} ({change.transition}, {change.reason})")


@identity_app.command("suspend")
def suspend(
    uin: str = typer.Argument(..., help="The UIN"),
    reason: str = typer.Option(..., help="fraud_investigation or court_order"),
    evidence: str = typer.Option(..., help="What proves it: the court order's or the investigation's number"),
    note: str | None = typer.Option(None),
    api_key: str = typer.Option(..., envvar="CIVID_API_KEY", help=API_KEY_HELP),
) -> None:
    """Suspend an active identity: no login, no release; its sessions, tokens and attestations end now."""
    _change("suspend", uin, reason, evidence, note, api_key)


@identity_app.command("deactivate")
def deactivate(
    uin: str = typer.Argument(..., help="The UIN"),
    reason: str = typer.Option(..., help="death, duplicate or voluntary_renunciation"),
    evidence: str = typer.Option(..., help="What proves it: the death registration's, case's or declaration's number"),
    note: str | None = typer.Option(None),
    api_key: str = typer.Option(..., envvar="CIVID_API_KEY", help=API_KEY_HELP),
) -> None:
    """Deactivate an identity (it stays in the gallery, so its face is never issued again)."""
    _change("deactivate", uin, reason, evidence, note, api_key)


@identity_app.command("reactivate")
def reactivate(
    uin: str = typer.Argument(..., help="The UIN"),
    reason: str = typer.Option(..., help="investigation_closed, court_order_lifted or recorded_in_error"),
    evidence: str = typer.Option(..., help="What proves it"),
    note: str | None = typer.Option(None),
    api_key: str = typer.Option(..., envvar="CIVID_API_KEY", help=API_KEY_HELP),
) -> None:
    """Make a suspended (or wrongly deactivated) identity active again; the person signs in and consents again."""
    _change("reactivate", uin, reason, evidence, note, api_key)


@identity_app.command("status")
def status(uin: str = typer.Argument(..., help="The UIN")) -> None:
    """The identity's status and every change of it, oldest first."""
    from rich.table import Table

    from enrollment.identity_status import history

    assert _build_services is not None, "server.identity_cli.install() was not called"
    services = _build_services()
    try:
        with services.sessions() as session:
            number, current, changes = history(session, uin)
    except CividError as exc:
        _fail(exc.detail)
    finally:
        services.close()
    table = Table(title=f"UIN {number}: {current}")
    for column in ("when", "change", "reason", "evidence", "by"):
        table.add_column(column)
    for c in changes:
        table.add_row(c.at, f"{c.from_status} -> {c.to_status}", c.reason, c.evidence_reference, c.actor)
    out.print(table)


def _record_step(api_key: str, step: Callable[..., _T]) -> _T:
    """Authenticate ``api_key`` and run ``step(session, services, actor)`` in one transaction; exit 2 on refusal."""
    from civid.auth import authenticate

    assert _build_services is not None, "server.identity_cli.install() was not called"
    services = _build_services()
    try:
        with services.sessions() as session:
            actor = authenticate(session, api_key)
        with services.sessions.begin() as session:
            return step(session, services, actor)
    except CividError as exc:
        _fail(exc.detail)
    finally:
        services.close()


@identity_app.command("update")
def update(
    uin: str = typer.Argument(..., help="The UIN"),
    changes: str = typer.Option(..., help='JSON of the fields to change, e.g. {"family_name": "Pérez Gómez"}'),
    evidence: str = typer.Option(
        ..., help='JSON of the document that proves it: {"type", "number", "issuer": {"name", "country"}, ...}'
    ),
    reason: str | None = typer.Option(None),
    api_key: str = typer.Option(..., envvar="CIVID_API_KEY", help="Your officer API key (the change is yours)"),
) -> None:
    """Correct the record with evidence: address, phone, email at once; names, birth date, sex after approval."""
    from pydantic import ValidationError

    from enrollment.documents import DocumentEvidence
    from enrollment.record_update import propose
    from enrollment.record_update_routes import RecordUpdateIn

    try:
        body = RecordUpdateIn.model_validate_json(f'{{"changes": {changes}, "evidence": {evidence}}}')
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()))
    fields = body.changes.model_dump(mode="json", include=body.changes.model_fields_set)
    version = _record_step(
        api_key,
        lambda session, services, actor: propose(
            session,
            services.keyring,
            services.events,
            actor,
            uin,
            fields,
            DocumentEvidence.from_input(body.evidence),
            reason,
        ),
    )
    out.print(f"UIN {version.uin}: version {version.version} {version.status} ({', '.join(version.fields)})")


@identity_app.command("approve-update")
def approve_update(
    uin: str = typer.Argument(..., help="The UIN"),
    version: int = typer.Argument(..., help="The pending version"),
    api_key: str = typer.Option(..., envvar="CIVID_API_KEY", help="Your adjudicator API key (not the proposer's)"),
) -> None:
    """Approve a pending change of names, birth date or sex (four eyes: not the proposer)."""
    from enrollment.record_update import approve

    done = _record_step(
        api_key, lambda session, services, actor: approve(session, services.events, actor, uin, version)
    )
    out.print(f"UIN {done.uin}: version {done.version} {done.status}")


@identity_app.command("reject-update")
def reject_update(
    uin: str = typer.Argument(..., help="The UIN"),
    version: int = typer.Argument(..., help="The pending version"),
    note: str | None = typer.Option(None),
    api_key: str = typer.Option(..., envvar="CIVID_API_KEY", help="Your adjudicator API key"),
) -> None:
    """Reject a pending change: the record stays as it is."""
    from enrollment.record_update import reject

    done = _record_step(api_key, lambda session, services, actor: reject(session, actor, uin, version, note))
    out.print(f"UIN {done.uin}: version {done.version} {done.status}")


@identity_app.command("versions")
def record_versions(
    uin: str = typer.Argument(..., help="The UIN"),
    api_key: str = typer.Option(..., envvar="CIVID_API_KEY", help="Your officer, adjudicator or auditor API key"),
) -> None:
    """Every version of the record, oldest first: who proposed and decided it, and when (the viewing is audited)."""
    from rich.table import Table

    from civid import audit
    from civid.errors import Forbidden
    from enrollment.record_update import versions

    def step(session: Any, services: Services, actor: Any) -> tuple[str, list[Any]]:
        if actor.role not in ("officer", "adjudicator", "auditor"):
            raise Forbidden(f"role {actor.role!r} may not read record versions")
        number, listed = versions(session, uin)
        audit.record(session, actor, "identity.record_versions_viewed", "identity", number)
        return number, listed

    number, listed = _record_step(api_key, step)
    table = Table(title=f"UIN {number}: record versions")
    for column in ("version", "status", "fields", "proposed", "decided"):
        table.add_column(column)
    for v in listed:
        decided = f"{v.decided_by} {v.decided_at[:16]}" if v.decided_by and v.decided_at else ""
        table.add_row(str(v.version), v.status, ", ".join(v.fields), f"{v.created_by} {v.created_at[:16]}", decided)
    out.print(table)
