"""``civid card issue|report|reprint|status``: the ID card's lifecycle from the command line, as the officer owning
the API key (``credentials.cards``: the same rules, audit and revocations as the API), added to the ``civid card``
group of ``server.card_cli`` (``civid card verify``). Exit 2 on bad input or a refused action (wrong role, an
identity not active, a card no longer active)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from civid.errors import CividError

if TYPE_CHECKING:
    from server.services import Services

out = Console()
err = Console(stderr=True)
_build_services: Callable[[], Services] | None = None
_T = TypeVar("_T")
API_KEY = typer.Option(..., envvar="CIVID_API_KEY", help="Your officer API key (the action is attributed to it)")


def install(card_app: typer.Typer, build_services: Callable[[], Services]) -> None:
    """Add ``issue``, ``report``, ``reprint`` and ``status`` to the ``civid card`` group, building the process's
    services with ``build_services``."""
    global _build_services
    _build_services = build_services
    card_app.command("issue")(issue)
    card_app.command("report")(report)
    card_app.command("reprint")(reprint)
    card_app.command("status")(card_status)


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _step(api_key: str, roles: tuple[str, ...], step: Callable[[Any, Services, Any], _T]) -> _T:
    """Authenticate ``api_key`` (one of ``roles``) and run ``step(session, services, actor)`` in one transaction."""
    from civid.auth import authenticate
    from civid.errors import Forbidden

    assert _build_services is not None, "server.card_lifecycle_cli.install() was not called"
    services = _build_services()
    try:
        with services.sessions() as session:
            actor = authenticate(session, api_key)
        if actor.role not in roles:
            raise Forbidden(f"role {actor.role!r} may not do this; needs {' or '.join(roles)}")
        with services.sessions.begin() as session:
            return step(session, services, actor)
    except CividError as exc:
        _fail(exc.detail)
    finally:
        services.close()


def _printed(session: Any, services: Services, actor: Any, card: Any) -> bytes:
    """The card's PDF, audited as the API's download is."""
    from civid import audit
    from credentials.card_print import card_pdf
    from models import Identity

    pdf = card_pdf(session, services, card)
    identity = session.get(Identity, card.identity_id)
    audit.record(session, actor, "card.printed", "card", card.number, uin=identity.uin)
    return pdf


def _write(path: Path, pdf: bytes) -> None:
    try:
        path.write_bytes(pdf)
    except OSError as exc:
        _fail(f"cannot write {path}: {exc.strerror}")


def issue(
    uin: str = typer.Argument(..., help="The UIN"),
    out_path: Path = typer.Option(..., "--out", help="Where to write the card's PDF"),
    api_key: str = API_KEY,
) -> None:
    """Issue an ID card to an active identity with no active card, and write its PDF."""
    from credentials import cards

    def step(session: Any, services: Services, actor: Any) -> tuple[str, bytes]:
        card = cards.issue(session, services, actor, uin)
        return card.number, _printed(session, services, actor, card)

    number, pdf = _step(api_key, cards.ISSUER_ROLES, step)
    _write(out_path, pdf)
    out.print(f"card {number} issued: {out_path}")


def report(
    number: str = typer.Argument(..., help="The card number (9 digits and a letter)"),
    reason: str = typer.Option(..., help="lost, stolen or damaged"),
    api_key: str = API_KEY,
) -> None:
    """Report a card lost, stolen or damaged: it is revoked now."""
    from credentials import cards

    card = _step(api_key, cards.ISSUER_ROLES, lambda session, _s, actor: cards.report(session, actor, number, reason))
    out.print(f"card {card.number}: {card.state}, revoked")


def reprint(
    number: str = typer.Argument(..., help="The card number (9 digits and a letter)"),
    out_path: Path = typer.Option(..., "--out", help="Where to write the new card's PDF"),
    api_key: str = API_KEY,
) -> None:
    """A new card (new number, new QR) in place of this one, and its PDF."""
    from credentials import cards

    def step(session: Any, services: Services, actor: Any) -> tuple[str, str, bytes]:
        old, new = cards.reprint(session, services, actor, number)
        return old.number, new.number, _printed(session, services, actor, new)

    old, new, pdf = _step(api_key, cards.ISSUER_ROLES, step)
    _write(out_path, pdf)
    out.print(f"card {new} replaces {old}: {out_path}")


def card_status(number: str = typer.Argument(..., help="The card number"), api_key: str = API_KEY) -> None:
    """The card's state: active, lost, stolen, damaged, replaced, revoked or expired."""
    from credentials import cards

    def step(session: Any, _services: Services, _actor: Any) -> tuple[str, str, str]:
        card = cards.find(session, number)
        return card.number, cards.state(session, card), card.expires_at.date().isoformat()

    shown, current, expires = _step(api_key, cards.READER_ROLES, step)
    out.print(f"card {shown}: {current} (expires {expires})")
