"""``civid card verify``: check an ID card's QR from a photo, a scan or its text, as a verifier at a counter does.

Keys: ``--jwks`` names the credential key set a verifier keeps (a file, or the issuer's URL); without it, this
civid's own keys are read from its database. Revocation is looked up in the signed status list the QR names unless
``--offline``. Exit 0 when the card verifies (and is not revoked), 1 when it does not, 2 on unusable input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from credentials.card_check import CardCheck
    from server.services import Services

card_app = typer.Typer(help="ID cards: issue, report, reprint, status, verify a card's QR", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
_build_services: Callable[[], Services] | None = None
FETCH_TIMEOUT_S = 5.0
REASONS = {
    "unknown-key": "signed by a key this verifier does not know (another issuer, or a key set older than the card)",
    "bad-signature": "the signature does not match: the QR was changed or forged",
    "wrong-algorithm": "signed with an algorithm civid does not accept (only ES256)",
    "expired": "the card has expired",
    "not-yet-valid": "the card is not valid yet",
}


def install(app: typer.Typer, build_services: Callable[[], Services]) -> None:
    """Add ``civid card …`` to ``app``."""
    global _build_services
    _build_services = build_services
    app.add_typer(card_app, name="card")


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _fetch(url: str) -> str:
    """GET ``url`` (a key set or a status list); OSError when it cannot be had, as offline."""
    import httpx

    try:
        response = httpx.get(url, timeout=FETCH_TIMEOUT_S, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise OSError(str(exc)) from exc
    if response.status_code != 200:
        raise OSError(f"{url} answered {response.status_code}")
    return response.text


def _local_keys() -> Any:
    assert _build_services is not None, "server.card_cli.install() was not called"
    services = _build_services()
    try:
        return services.credential_keys.public_key, services.credential_keys.jwks()
    finally:
        services.engine.dispose()  # not close(): the gallery was not opened, so it must not be saved


def _report(result: CardCheck, as_json: bool) -> None:
    d = result.verification.decoded
    h = d.holder
    fields = {
        "signature": "valid" if result.verification.valid else "INVALID",
        "reason": REASONS.get(result.verification.reason or "", result.verification.reason),
        "key_id": d.kid,
        "issuer": d.issuer,
        "card_number": d.card_number,
        "id": h.id,
        "full_name": h.full_name,
        "date_of_birth": h.date_of_birth.isoformat() if h.date_of_birth else None,
        "sex": h.sex,
        "nationality": h.nationality,
        "issued_at": d.issued_at.isoformat() if d.issued_at else None,
        "expires_at": d.expires_at.isoformat() if d.expires_at else None,
        "photo": f"{len(h.photo)} bytes {h.photo_format}" if h.photo else None,
        "revocation": result.revocation.state,
        "revocation_detail": result.revocation.detail,
    }
    if as_json:
        out.print_json(json.dumps(fields))
        return
    table = Table("", "", show_header=False)
    for name, value in fields.items():
        if value is not None:
            style = "green" if value in ("valid",) else "red" if value in ("INVALID", "revoked") else ""
            table.add_row(name.replace("_", " "), f"[{style}]{value}[/{style}]" if style else str(value))
    out.print(table)
    if not result.verification.valid:
        out.print("[red]Do not accept this card: its QR does not verify. The printed side may still be forged.[/red]")


@card_app.command("verify")
def verify_card(
    source: Path = typer.Argument(..., help="A photo or scan of the QR (PNG, JPEG, ...), or a file of its text"),
    jwks: str | None = typer.Option(None, help="The credential key set: a file or URL (default: this civid's keys)"),
    offline: bool = typer.Option(False, "--offline", help="Do not look up revocation (no network)"),
    photo_out: Path | None = typer.Option(None, help="Write the QR's photo here, to compare with the person"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Verify an ID card's QR: signature by a credential key, dates, and (online) revocation."""
    from credentials.card_check import check, keys_from_jwks, load_jwks, read_qr
    from credentials.claim169 import QrError

    if not source.is_file():
        _fail(f"{source} is not a file")
    try:
        text = read_qr(source)
        find_key = keys_from_jwks(load_jwks(jwks, _fetch)) if jwks else _local_keys()[0]
        result = check(text, find_key, None if offline else _fetch)
    except (QrError, OSError) as exc:
        _fail(str(exc))
    if photo_out is not None and result.verification.decoded.holder.photo:
        photo_out.write_bytes(result.verification.decoded.holder.photo)
    _report(result, as_json)
    raise typer.Exit(0 if result.accepted else 1)
