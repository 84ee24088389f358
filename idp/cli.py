"""``civid clients …`` and ``civid keys rotate|status``: the IdP's registry and signing keys from the shell.

``civid clients add`` prints the client id and, for secret-based clients, the secret once (it is stored
only as a hash). ``civid keys rotate`` publishes new signing keys now; they sign after the lead time and
the old keys stay in the JWKS until every token they signed has expired.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from civid.actor import Actor
from civid.errors import CividError
from civid.limits import MAX_DURATION_S

if TYPE_CHECKING:
    from idp.runtime import IdpServices

# No SQLAlchemy, settings or IdP module at import (civid --help must stay light): commands import them inside.

clients_app = typer.Typer(help="OpenID Connect relying parties (portals)", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
CLI_ACTOR = Actor(None, "cli", "admin")


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


# Set by install(): the command line's top package builds the process's services (without opening the gallery),
# which this package must not import.
_build_services: Callable[[], IdpServices] | None = None


def _services() -> IdpServices:
    assert _build_services is not None, "idp.cli.install was not called"
    return _build_services()


def _jwks_from_file(path: Path) -> dict:
    try:
        jwks = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        _fail(f"--jwks-file {path}: {exc}")
    if isinstance(jwks, dict) and "kty" in jwks:
        jwks = {"keys": [jwks]}  # a single JWK is accepted as a one-key set
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        _fail(f'--jwks-file {path}: not a JWK Set ({{"keys": [...]}})')
    if any("d" in key for key in jwks["keys"] if isinstance(key, dict)):
        _fail(f"--jwks-file {path} holds a private key; register the public key only")
    return jwks


@clients_app.command("add")
def clients_add(
    name: str = typer.Option(..., help="The portal's name, shown to citizens on the consent page"),
    redirect_uri: list[str] = typer.Option(..., help="Exact redirect URI (repeat for several)"),
    auth: str = typer.Option("client_secret_basic", help="client_secret_basic | client_secret_post | private_key_jwt"),
    jwks_uri: str | None = typer.Option(None, help="private_key_jwt: where the portal publishes its keys"),
    jwks_file: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="private_key_jwt: a file with the portal's public JWK Set"
    ),
    scope: list[str] = typer.Option(
        [], help="A scope the client may ask for (repeat); default: openid profile email phone address"
    ),
    entitle: list[str] = typer.Option(
        [],
        help="An entitlement: uin (the UIN claim), kyc, civil_registry (vital events), or presentations (ask "
        "wallets through civid's OpenID4VP verifier); repeat",
    ),
    public_subject: bool = typer.Option(
        False, "--public-subject", help="Same sub at every public client (default: pairwise per sector)"
    ),
    require_par: bool = typer.Option(False, "--require-par", help="Authorization requests must be pushed (RFC 9126)"),
    post_logout_redirect_uri: list[str] = typer.Option([], help="Where RP-initiated logout may return (repeat)"),
    id_token_alg: str | None = typer.Option(None, help="ES256 | RS256 (default: the OP's signing_alg)"),
    contact: list[str] = typer.Option([], help="A contact e-mail for the portal (repeat)"),
    backchannel_logout_uri: str | None = typer.Option(
        None, help="Where civid POSTs a logout token when the citizen signs out (OIDC Back-Channel Logout)"
    ),
    backchannel_logout_session_required: bool = typer.Option(
        False,
        "--backchannel-logout-session-required",
        help="The portal needs the sid claim in logout tokens (civid always sends it)",
    ),
    identity_events_uri: str | None = typer.Option(
        None, help="Where civid pushes Security Event Tokens when a consented claim is corrected (RFC 8417/8935)"
    ),
    grant_type: list[str] = typer.Option(
        [], help="A grant type the portal may use at /token (repeat): authorization_code, refresh_token; default both"
    ),
    require_dpop: bool = typer.Option(
        False,
        "--require-dpop",
        help="Every token request must carry a DPoP proof (RFC 9449; FAPI 2.0 sender-constrained tokens)",
    ),
    nonce_instead_of_pkce: bool = typer.Option(
        False,
        "--nonce-instead-of-pkce",
        help="This confidential portal may send a nonce instead of PKCE "
        "(RFC 9700 §2.1.1; for OpenID certification's Basic OP plan). PKCE stays required for everyone else",
    ),
) -> None:
    """Register a relying party; print its client_id and, once, its secret."""
    from idp.clients import ClientMetadata, register

    if auth == "private_key_jwt" and bool(jwks_uri) == bool(jwks_file):
        _fail("--auth private_key_jwt needs exactly one of --jwks-uri or --jwks-file")
    if auth != "private_key_jwt" and (jwks_uri or jwks_file):
        _fail("--jwks-uri/--jwks-file go with --auth private_key_jwt only")
    meta = ClientMetadata(
        name=name,
        redirect_uris=list(redirect_uri),
        token_endpoint_auth_method=auth,
        jwks=_jwks_from_file(jwks_file) if jwks_file else None,
        jwks_uri=jwks_uri,
        post_logout_redirect_uris=list(post_logout_redirect_uri),
        entitlements=list(entitle),
        subject_type="public" if public_subject else "pairwise",
        require_par=require_par,
        id_token_signed_response_alg=id_token_alg,
        contacts=list(contact),
        backchannel_logout_uri=backchannel_logout_uri,
        backchannel_logout_session_required=backchannel_logout_session_required,
        identity_events_uri=identity_events_uri,
        require_pkce=not nonce_instead_of_pkce,
        require_dpop=require_dpop,
    )
    if scope:
        meta.allowed_scopes = [s for option in scope for s in option.split()]
    if grant_type:
        meta.grant_types = [g for option in grant_type for g in option.split()]
    services = _services()
    try:
        with services.sessions.begin() as session:
            row, secret = register(session, meta, CLI_ACTOR)
            client_id, method = row.client_id, row.token_endpoint_auth_method
    except CividError as exc:
        _fail(exc.detail)
    finally:
        services.engine.dispose()  # not close(): the gallery was not opened, so it must not be saved
    out.print(f"registered client {name!r} ({method})")
    print(f"client_id: {client_id}")
    if secret:
        out.print("client_secret, shown once (store it in the portal's secret store):")
        print(f"client_secret: {secret}")


@clients_app.command("list")
def clients_list(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table")) -> None:
    """List registered clients (never their secrets)."""
    from sqlalchemy import select

    from idp.clients import describe
    from models import Client

    services = _services()
    try:
        with services.sessions() as session:
            rows = [describe(row) for row in session.scalars(select(Client).order_by(Client.id))]
    finally:
        services.engine.dispose()  # not close(): the gallery was not opened, so it must not be saved
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("client_id", "name", "auth", "entitled", "disabled")  # --json has every field
    for row in rows:
        table.add_row(
            row["client_id"],
            row["client_name"],
            row["token_endpoint_auth_method"],
            ", ".join(row["entitlements"]),
            "yes" if row["disabled_at"] else "",
        )
    out.print(table)


@clients_app.command("disable")
def clients_disable(client_id: str = typer.Argument(..., help="The client to stop")) -> None:
    """Disable a client and revoke every token it holds."""
    from idp.admin_routes import disable_client

    services = _services()
    try:
        with services.sessions.begin() as session:
            _, revoked = disable_client(session, client_id, CLI_ACTOR)
    except CividError as exc:
        _fail(exc.detail)
    finally:
        services.engine.dispose()  # not close(): the gallery was not opened, so it must not be saved
    out.print(f"client {client_id} disabled; {revoked} grants revoked")


def keys_rotate(
    alg: list[str] = typer.Option([], help="ES256 | RS256 (repeat; default both)"),
    credential: bool = typer.Option(
        False, "--credential", help="Rotate the credential key (ID card QRs, wallet credentials) instead: ES256"
    ),
    lead_seconds: int | None = typer.Option(
        None,
        min=0,
        max=MAX_DURATION_S,
        help="Publish this long before signing, at most ten years (default: signing_key_publish_lead_s)",
    ),
) -> None:
    """Rotate the OpenID signing keys (or, with --credential, the credential key): publish new keys now, sign with
    them after the lead time."""
    from idp.keys import ALGORITHMS, CREDENTIAL_ALGORITHMS

    allowed: tuple[str, ...] = CREDENTIAL_ALGORITHMS if credential else ALGORITHMS
    bad = set(alg) - set(allowed)
    if bad:
        _fail(f"unknown algorithm {', '.join(sorted(bad))}; one of {', '.join(allowed)}")
    services = _services()
    keys = services.credential_keys if credential else services.signing_keys
    try:
        keys.ensure()
        created = keys.rotate(CLI_ACTOR, tuple(alg) or allowed, lead_seconds)
        for row in created:
            out.print(f"new {row.alg} key {row.kid}: published now, signs from {row.activates_at.isoformat()}")
    finally:
        services.engine.dispose()  # not close(): the gallery was not opened, so it must not be saved


def keys_status(
    credential: bool = typer.Option(False, "--credential", help="The credential keys instead of the OpenID keys"),
) -> None:
    """Show each OpenID (or credential) signing key's state: pending, active, retired (verify only) or expired."""
    services = _services()
    try:
        statuses = (services.credential_keys if credential else services.signing_keys).status()
    finally:
        services.engine.dispose()  # not close(): the gallery was not opened, so it must not be saved
    table = Table("kid", "alg", "state", "published", "signs from", "retired", "leaves the JWKS")
    for s in statuses:
        table.add_row(
            s.kid,
            s.alg,
            s.state,
            s.published_at.isoformat(timespec="seconds"),
            s.activates_at.isoformat(timespec="seconds"),
            s.retired_at.isoformat(timespec="seconds") if s.retired_at else "",
            s.expires_at.isoformat(timespec="seconds") if s.expires_at else "",
        )
    out.print(table)


idp_app = typer.Typer(help="The OpenID provider's own records", no_args_is_help=True)


@idp_app.command("prune")
def idp_prune() -> None:
    """Delete expired challenges, authorization requests, codes and assertion ids (the service does this hourly)."""
    from idp.housekeeping import prune

    services = _services()
    try:
        with services.sessions.begin() as db:
            removed = prune(db, services.settings)
    finally:
        services.engine.dispose()  # not close(): the gallery was not opened, so it must not be saved
    for table, count in removed.items():
        typer.echo(f"{table}: {count} removed")


passkeys_app = typer.Typer(help="Citizens' and staff members' passkeys", no_args_is_help=True)


@passkeys_app.command("code")
def passkeys_code(uin: str = typer.Argument(..., help="The UIN of the person who will bind a passkey")) -> None:
    """Issue a one-time passkey binding code (for the first admin, or a desk without the console); printed once,
    audited, voiding the person's earlier unused codes. Check the person first: whoever types the code binds a
    passkey to this identity, staff members' included (the operator on the server may; in the console and the
    API only an admin may)."""
    from civid import audit
    from idp import claims, passkey_bindings

    # The operator at the server's shell can already read the database and the key ring: trusting them with
    # staff members' codes is what lets the first admin in (README), and the code is audited as "cli".
    issuer = passkey_bindings.Issuer(CLI_ACTOR, (CLI_ACTOR.role,), operator=True)
    services = _services()
    try:
        with services.sessions.begin() as db:
            identity = passkey_bindings.find_identity(db, uin, issuer)
            name = claims.claim_values(db, identity).get("name") or ""
            code, row = passkey_bindings.issue_code(
                db, services.idp_secrets, services.settings.passkey_binding_ttl_s, identity, issuer
            )
            expires, number = audit.as_utc(row.expires_at).isoformat(timespec="seconds"), identity.uin
    except CividError as exc:
        _fail(exc.detail)
    finally:
        services.engine.dispose()  # not close(): the gallery was not opened, so it must not be saved
    out.print(
        f"one-time code for {name or 'UIN'} {number}, valid until {expires}; type it at "
        f"{services.settings.resolved_issuer}/passkeys/bind:"
    )
    print(code)


def install(app: typer.Typer, keys_app: typer.Typer, build_services: Callable[[], IdpServices]) -> None:
    """Add ``civid clients``, ``civid idp prune``, ``civid passkeys code`` and ``civid keys rotate|status``;
    their commands get the process's services (the gallery not opened) from ``build_services``."""
    global _build_services
    _build_services = build_services
    app.add_typer(clients_app, name="clients")
    app.add_typer(passkeys_app, name="passkeys")
    app.add_typer(idp_app, name="idp")
    keys_app.command("rotate")(keys_rotate)
    keys_app.command("status")(keys_status)
