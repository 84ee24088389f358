"""``civid keys hsm-create|rotate-master|retire-master``: the key ceremonies of a PKCS#11 deployment (docs/keys.md).

Data-key rotation, re-encryption and retirement are the existing ``civid keys rotate-template-key``,
``reencrypt-templates`` and ``retire``; OpenID signing keys rotate with ``civid keys rotate`` and the audit key with
``civid audit rotate-key``, all of which make their new keys in the token once ``CIVID_KEYS_BACKEND=pkcs11``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from civid.actor import Actor
from civid.errors import CividError

if TYPE_CHECKING:
    from civid.settings import Settings
    from server.services import Services

out = Console()
err = Console(stderr=True)
CLI_ACTOR = Actor(None, "cli", "admin")
_build_services: Callable[[], Services] | None = None
_load_settings: Callable[[], Settings] | None = None


def install(keys_app: typer.Typer, build_services: Callable[[], Services], settings: Callable[[], Settings]) -> None:
    """Add the HSM ceremonies to ``civid keys``."""
    global _build_services, _load_settings
    _build_services, _load_settings = build_services, settings
    keys_app.command("hsm-create")(hsm_create)
    keys_app.command("rotate-master")(rotate_master)
    keys_app.command("retire-master")(retire_master)


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]{message}[/red]")
    raise typer.Exit(code)


def _services() -> Services:
    assert _build_services is not None, "server.keys_cli.install() was not called"
    try:
        return _build_services()
    except CividError as exc:
        _fail(exc.detail)


def _record(services: Services, action: str, target: str, **details: object) -> None:
    from civid.audit import record

    with services.sessions.begin() as session:
        record(session, CLI_ACTOR, action, "key", target, **details)


def hsm_create() -> None:
    """Create a master key in the token and wrap the template key ring under it (the existing file ring's keys
    when there is one, so stored data keeps opening; the plain key file is replaced by the wrapped one)."""
    from civid.envelope import WrappedKeyRing, is_wrapped
    from civid.keyring import KeyRing
    from civid.pkcs11_token import Token

    assert _load_settings is not None
    settings = _load_settings()
    if settings.keys_backend != "pkcs11":
        _fail("set CIVID_KEYS_BACKEND=pkcs11 (and the token's module, label and PIN) first")
    path = settings.resolved_template_keys_file
    if is_wrapped(path):
        _fail(f"{path} is already wrapped by an HSM master key; use 'civid keys rotate-master'")
    try:
        token = Token.from_settings(settings)
        plain = KeyRing.load_or_create(path) if path.exists() else None
        ring = WrappedKeyRing.create(path, token, plain)
    except CividError as exc:
        _fail(exc.detail)
    services = _services()
    _record(services, "keys.master_key_created", ring.master, data_keys=len(ring.key_ids), imported=plain is not None)
    out.print(
        f"master key {ring.master} created in token {token.label}; {len(ring.key_ids)} data keys wrapped in {path}"
    )


def rotate_master() -> None:
    """Wrap every data key under a new master key; no template, photo or document number is decrypted."""
    from civid.envelope import WrappedKeyRing

    services = _services()
    ring = services.keyring
    if not isinstance(ring, WrappedKeyRing):
        _fail("the template key ring is not in an HSM: run 'civid keys hsm-create' first")
    try:
        old, new = ring.rewrap()
    except CividError as exc:
        _fail(exc.detail)
    _record(services, "keys.master_key_rotated", new, previous=old, data_keys=len(ring.key_ids))
    out.print(f"{len(ring.key_ids)} data keys re-wrapped under {new}; retire {old} with 'civid keys retire-master'")


def retire_master(label: str = typer.Argument(..., help="A master key the key ring no longer uses")) -> None:
    """Destroy an old master key in the token, refusing the one the key ring is wrapped under."""
    from civid.envelope import WrappedKeyRing

    services = _services()
    ring = services.keyring
    if not isinstance(ring, WrappedKeyRing):
        _fail("the template key ring is not in an HSM")
    if label == ring.master:
        _fail(f"{label} wraps the key ring now: run 'civid keys rotate-master' first")
    if not label.startswith("civid-master-"):
        _fail(f"{label} is not a civid master key")
    if not ring.token.destroy(label):
        _fail(f"no key {label} in token {ring.token.label}")
    _record(services, "keys.master_key_retired", label)
    out.print(f"master key {label} destroyed")
