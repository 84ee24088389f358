"""``civid keys hsm-status`` and ``civid keys rewrap``: the key ceremonies of a PKCS#11 token (docs/keys.md).

``rewrap`` moves the template key ring under another master key in the token — or a plain file ring under the
token for the first time — without decrypting a template: only the data keys' envelopes change. ``--retire-old``
then destroys the old master key in the token, once the ring has been written and read back under the new one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from civid.errors import CividError

if TYPE_CHECKING:
    from civid.pkcs11_token import Token
    from civid.settings import Settings

out = Console()
err = Console(stderr=True)
_settings: Callable[[], Settings] | None = None


def install(keys_app: typer.Typer, settings: Callable[[], Settings]) -> None:
    global _settings
    _settings = settings
    keys_app.command("rewrap")(rewrap)
    keys_app.command("hsm-status")(hsm_status)


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


def _token(settings: Settings) -> Token:
    from civid.pkcs11_token import open_token

    token = open_token(
        settings.pkcs11_module, settings.pkcs11_token_label, settings.pkcs11_pin_file, settings.pkcs11_pin
    )
    if token is None:
        _fail("no PKCS#11 token is configured: set CIVID_PKCS11_MODULE, CIVID_PKCS11_TOKEN_LABEL and the PIN")
    return token


def _wrapped_by(settings: Settings) -> str | None:
    import json

    path = settings.resolved_template_keys_file
    try:
        label: str | None = json.loads(path.read_text()).get("wrapped_by")
    except (OSError, ValueError) as exc:
        _fail(f"cannot read the template key ring {path}: {exc}")
    return label


def rewrap(
    to: str = typer.Option(..., "--to", help="The token's master key to wrap the ring by (made if missing)"),
    retire_old: bool = typer.Option(False, help="Then destroy the old master key in the token"),
) -> None:
    """Re-wrap every template data key under a new master key, without decrypting any template."""
    from civid.keyring import KeyRing
    from server.cli_audit import record_cli_event

    assert _settings is not None, "server.hsm_cli.install() was not called"
    settings = _settings()
    try:
        token = _token(settings)
        old = _wrapped_by(settings)
        if old == to:
            _fail(f"the key ring is already wrapped by {to!r}")
        path = settings.resolved_template_keys_file
        ring = KeyRing.load_or_create(path, token if old else None, settings.pkcs11_master_key_label)
        ring.rewrap(token, to)
        again = KeyRing.load_or_create(path, token, to)  # read back under the new key before anything is retired
        if again.key_ids != ring.key_ids:
            _fail("the re-wrapped key ring did not read back whole; the old master key was kept")
        if retire_old and old:
            token.destroy_master_key(old)
    except CividError as exc:
        _fail(exc.detail)
    record_cli_event(
        settings,
        "keys.ring_rewrapped",
        "key",
        to,
        previous=old or "file",
        data_keys=len(ring.key_ids),
        old_master_destroyed=bool(retire_old and old),
    )
    out.print(
        f"{len(ring.key_ids)} data keys re-wrapped under {to!r} (was {old or 'a plain file ring'}); "
        f"no template was decrypted{'; the old master key was destroyed' if retire_old and old else ''}"
    )


def hsm_status() -> None:
    """The token, the master key the ring is wrapped by, and which keys live in it."""
    assert _settings is not None, "server.hsm_cli.install() was not called"
    settings = _settings()
    try:
        token = _token(settings)
        label = _wrapped_by(settings)
        present = token.has_master_key(label) if label else False
    except CividError as exc:
        _fail(exc.detail)
    out.print(f"token {settings.pkcs11_token_label!r} through {settings.pkcs11_module}")
    ring = f"wrapped by {label!r} ({'present' if present else 'MISSING from the token'})" if label else "a plain file"
    out.print(f"template key ring: {ring}")
