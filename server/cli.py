"""The ``civid`` command: run the service, enrol from the command line, manage the index, keys and audit."""

from __future__ import annotations

import atexit
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from civid.errors import CividError, ConfigurationError
from server.abis_cli import abis_app  # typer, rich and civid.errors only, like this module

# Only typer, rich and the lines above load at import: ``civid --help`` must not pay for dlib, FAISS,
# OpenCV, NBIS, SQLAlchemy, pydantic or the app (seconds on a loaded machine). Every command imports what
# it uses inside its body; tests/server/test_cli_startup.py holds this for every --help.
if TYPE_CHECKING:
    from civid.settings import Settings
    from enrollment.documents import DocumentEvidence
    from enrollment.fingerprint import FingerException, FingerUpload
    from server.services import Services

app = typer.Typer(help="civid: national digital identity service", no_args_is_help=True)
index_app = typer.Typer(
    help="The gallery indexes, FAISS or Milvus (rebuildable caches of the database)", no_args_is_help=True
)
apikey_app = typer.Typer(help="API keys bound to roles", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys for templates at rest, and the OpenID signing keys", no_args_is_help=True)
app.add_typer(index_app, name="index")
app.add_typer(apikey_app, name="apikey")
app.add_typer(keys_app, name="keys")
# One `civid abis` group: `worker` is defined below, `dedup-bulk` in server/abis_cli.py.
app.add_typer(abis_app, name="abis")
out = Console()
err = Console(stderr=True)
# How long uvicorn's supervisor waits for a worker to answer its health check before killing it. Its default (5 s)
# is shorter than a worker's start (loading the face models holds the interpreter) and than a face search on a
# loaded machine, so workers would be killed while starting or in the middle of an enrolment.
WORKER_HEALTHCHECK_TIMEOUT_S = 60


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _settings() -> Settings:
    """The process settings; invalid ones end the command with the validators' sentences, not a traceback."""
    from pydantic import ValidationError

    from civid.settings import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        _fail("civid will not start: " + "; ".join(_setting_problem(e) for e in exc.errors()))


def _setting_problem(error: Any) -> str:
    """One validation error in words, naming the variable when it is one field's (``CIVID_RETENTION_PHOTO_DAYS: …``)."""
    message = str(error["msg"]).removeprefix("Value error, ")
    field: tuple[Any, ...] = tuple(error.get("loc") or ())
    return f"CIVID_{str(field[0]).upper()}: {message}" if len(field) == 1 else message


def _check_gallery_backend(settings: Settings) -> None:
    """An unknown CIVID_GALLERY_BACKEND ends the command with its sentence and exit code 2, as invalid settings do.

    The settings cannot check the name themselves: the backends are matcher's, which the core does not import.
    """
    from matcher.gallery_backends import UnknownGalleryBackend, backend_names

    if settings.gallery_backend not in backend_names():
        _fail(f"civid will not start: {UnknownGalleryBackend(settings.gallery_backend)}")


def _check_calibration(settings: Settings) -> None:
    """A finger LLR cap not below ``dedup_llr_threshold`` ends the command with its sentence and exit code 2: one
    finger alone could then put two people in one case (matcher/fusion.py)."""
    from matcher.fusion import Fusion

    problem = Fusion.load().threshold_problem(settings.dedup_llr_threshold)
    if problem:
        _fail(f"civid will not start: {problem}")


def _services(open_gallery: bool = True, show_progress: bool = True) -> Services:
    from matcher.gallery import GalleryUnavailable
    from server.services import build_services

    settings = _settings()
    _check_gallery_backend(settings)
    _check_calibration(settings)
    try:
        services = build_services(settings, open_gallery=open_gallery, show_progress=show_progress)
    except GalleryUnavailable as error:
        _fail(f"civid cannot reach its gallery ({settings.gallery_backend}): {error}")
    except ConfigurationError as error:  # e.g. keys in a token that is absent or not configured (docs/keys.md)
        _fail(error.detail)
    # What the command audited is sequenced (and checkpointed) before the process ends, not by the next one.
    atexit.register(services.audit_log.stop)
    return services


@app.command()
def serve(
    host: str | None = typer.Option(None),
    port: int | None = typer.Option(None),
    workers: int = typer.Option(1, min=1, help="Worker processes; more than one needs PostgreSQL"),
    role: str | None = typer.Option(
        None,
        help="all (default), registration (enrolment and console, with the galleries) or idp (the OpenID provider "
        "and KYC, no gallery in memory); CIVID_ROLE too",
    ),
) -> None:
    """Set up the data folder and database if needed, and run the HTTP service."""
    import os

    from civid.log_format import configure as configure_logging
    from civid.log_format import logging_config
    from civid.settings import get_settings

    # Each worker builds its app from the environment (server.app:create_app), so the options go there too.
    if host:
        os.environ["CIVID_HOST"] = host
    if port:
        os.environ["CIVID_PORT"] = str(port)
    if role:
        os.environ["CIVID_ROLE"] = role
    get_settings.cache_clear()
    settings = _settings()
    configure_logging(settings.json_logs)
    if settings.issuer_host_is_ip_address:
        # WebAuthn refuses an IP address as relying-party id: every passkey, and so every staff sign-in, would fail.
        typer.echo(
            f"civid will not start: the issuer {settings.resolved_issuer} has an IP address for its host, and "
            "browsers refuse passkeys for IP addresses (staff could never sign in to the console). Set "
            f"CIVID_ISSUER to a URL with a name, e.g. http://localhost:{settings.port} on this machine or "
            "https://id.example.gov behind your proxy.",
            err=True,
        )
        raise typer.Exit(2)
    # Checked here, not left to the app factory: there uvicorn would print a traceback for each worker.
    _check_gallery_backend(settings)
    _check_calibration(settings)
    if workers > 1 and settings.resolved_database_url.startswith("sqlite"):
        # SQLite lets one process write at a time: a second worker would answer "database is locked" under load,
        # which an office finds out on its busiest day. One worker on SQLite, or PostgreSQL for several.
        typer.echo(
            f"civid will not start: --workers {workers} needs PostgreSQL, and the database is SQLite "
            f"({settings.resolved_database_url}). Set CIVID_DATABASE_URL to a PostgreSQL URL "
            "(postgresql+psycopg://user@host/civid), or run one worker.",
            err=True,
        )
        raise typer.Exit(2)
    if workers > 1:
        _share_metrics(settings)
        _prepare(settings)
    import uvicorn

    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_TIMEOUT_S,
        log_config=logging_config(settings.json_logs),
    )


def _share_metrics(settings: Settings) -> None:
    """Let every worker's counters reach one /metrics scrape: prometheus_client's multiprocess mode, a fresh folder
    per start (the files of a previous run's workers would be counted again otherwise)."""
    import os
    import shutil

    folder = settings.data_dir / "metrics-multiproc"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def _prepare(settings: Settings) -> None:
    """Migrate the schema, make the keys and the first admin key once, before the workers start: started
    together on a fresh database, each would try to, and two admin keys would race for one file."""
    import logging

    from server.bootstrap import ensure_bootstrap_admin
    from server.services import build_services

    services = build_services(settings, open_gallery=False)
    try:
        key_file = ensure_bootstrap_admin(services)
    finally:
        services.audit_log.stop()  # the bootstrap key's event sequenced before the workers start
        services.engine.dispose()  # not close(): the gallery was not opened, so it must not be saved
    if key_file:
        logging.getLogger("civid").warning("first start: an admin API key was written to %s (mode 0600)", key_file)


@app.command()
def enrol(
    given_name: str = typer.Option(...),
    family_name: str = typer.Option(...),
    date_of_birth: str = typer.Option(..., help="YYYY-MM-DD"),
    sex: str = typer.Option(..., help="F, M or X"),
    place_of_birth: str = typer.Option(...),
    nationality: str = typer.Option("BLZ"),
    address_line1: str = typer.Option(...),
    locality: str = typer.Option(...),
    district: str | None = typer.Option(None),
    country: str = typer.Option("BLZ"),
    middle_names: str | None = typer.Option(None),
    phone: str | None = typer.Option(None),
    email: str | None = typer.Option(None),
    photo: list[Path] = typer.Option(..., exists=True, dir_okay=False, help="Face photo (repeat for several)"),
    finger: list[str] = typer.Option(
        [],
        help="POSITION=IMAGE, a 500 ppi PNG/TIFF/BMP finger image; ISO finger "
        "codes 1 right thumb .. 10 left little (repeat)",
    ),
    missing_finger: list[str] = typer.Option(
        [],
        help="POSITION=REASON[:note], reason one of amputated, bandaged, "
        "scarred, missing_at_birth, unable_to_capture (repeat)",
    ),
    finger_record: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="An ISO/IEC 19794-2:2005 record from another system to import"
    ),
    document: list[str] = typer.Option(
        [],
        help="An identity document you examined, TYPE:NUMBER:ISSUER:COUNTRY[:EXPIRY], "
        "e.g. passport:P01234567:Immigration Department:BLZ:2031-05-03 (repeat)",
    ),
    check_method: list[str] = typer.Option(
        ["vpip"],
        help="How you checked the documents: vpip, vpiruv, pvp, pvr, "
        "vri, vdig, vcrypt, data (repeat; applies to every --document)",
    ),
    api_key: str = typer.Option(..., envvar="CIVID_API_KEY", help="Your officer API key (for the audit trail)"),
    idempotency_key: str | None = typer.Option(None),
) -> None:
    """Enrol one person on this machine's database, as the officer owning the API key."""
    from pydantic import ValidationError
    from sqlalchemy import select

    from civid.auth import authenticate
    from enrollment.present import enrolment_out
    from enrollment.schemas import Demographics
    from enrollment.workflow import PhotoUpload
    from enrollment.workflow import enrol as run_enrol
    from models import Enrolment

    try:
        person = Demographics.model_validate(
            {
                "given_name": given_name,
                "middle_names": middle_names,
                "family_name": family_name,
                "date_of_birth": date_of_birth,
                "sex": sex,
                "place_of_birth": place_of_birth,
                "nationality": nationality,
                "phone": phone,
                "email": email,
                "address": {"line1": address_line1, "locality": locality, "district": district, "country": country},
            }
        )
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    documents = _document_options(document, check_method)
    services = _services()
    try:
        with services.sessions() as session:
            actor = authenticate(session, api_key)
        if actor.role != "officer":
            _fail(f"enrolment needs an officer key; this key's role is {actor.role}")
        uploads = [PhotoUpload(p.read_bytes(), p.name, None) for p in photo]
        fingers, exceptions = _finger_options(finger, missing_finger)
        enrolment = run_enrol(
            services,
            actor,
            person,
            uploads,
            idempotency_key,
            fingers=fingers,
            finger_exceptions=exceptions,
            finger_record=finger_record.read_bytes() if finger_record else None,
            documents=documents,
        )
        with services.sessions() as session:
            row = session.scalars(select(Enrolment).where(Enrolment.public_id == enrolment.public_id)).one()
            result = enrolment_out(session, row)
    except CividError as exc:
        _fail(exc.detail)
    finally:
        services.close()
    out.print_json(result.model_dump_json())
    if result.status == "rejected":
        raise typer.Exit(1)


def _finger_options(fingers: list[str], missing: list[str]) -> tuple[list[FingerUpload], list[FingerException]]:
    """Parse POSITION=IMAGE and POSITION=REASON[:note] options; a malformed one is a usage error."""
    from enrollment.fingerprint import FingerException, FingerUpload

    uploads, exceptions = [], []
    for option in fingers:
        position, _, path = option.partition("=")
        if not position.strip().isdigit() or not path:
            _fail(f"--finger {option!r}: expected POSITION=IMAGE, e.g. 2=right-index.png")
        file = Path(path)
        if not file.is_file():
            _fail(f"--finger {option!r}: {file} is not a file")
        uploads.append(FingerUpload(int(position), file.read_bytes(), file.name, None))
    for option in missing:
        position, _, rest = option.partition("=")
        reason, _, note = rest.partition(":")
        if not position.strip().isdigit() or not reason:
            _fail(f"--missing-finger {option!r}: expected POSITION=REASON[:note], e.g. 7=amputated")
        exceptions.append(FingerException(int(position), reason, note or None))
    return uploads, exceptions


def _document_options(documents: list[str], check_methods: list[str]) -> list[DocumentEvidence]:
    """Parse TYPE:NUMBER:ISSUER:COUNTRY[:EXPIRY] options into checked documents; a bad one is a usage error."""
    from pydantic import ValidationError

    from enrollment.documents import DocumentEvidence
    from enrollment.schemas import DocumentIn, check_document_list

    parsed = []
    for option in documents:
        parts = option.split(":")
        if len(parts) not in (4, 5):
            _fail(
                f"--document {option!r}: expected TYPE:NUMBER:ISSUER:COUNTRY[:EXPIRY], "
                "e.g. passport:P01234567:Immigration Department:BLZ:2031-05-03"
            )
        try:
            parsed.append(
                DocumentIn.model_validate(
                    {
                        "type": parts[0],
                        "number": parts[1],
                        "issuer": {"name": parts[2], "country": parts[3]},
                        "date_of_expiry": parts[4] if len(parts) == 5 else None,
                        "check_methods": check_methods,
                    }
                )
            )
        except ValidationError as exc:
            _fail(
                f"--document {option!r}: "
                + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            )
    try:
        check_document_list(parsed)
    except ValueError as exc:
        _fail(f"--document: {exc}")
    return [DocumentEvidence.from_input(d) for d in parsed]


@abis_app.command("worker")
def abis_worker(
    max_jobs: int | None = typer.Option(
        None, min=1, help="Stop after deciding this many jobs (default: run until stopped)"
    ),
) -> None:
    """Take dedup jobs from the queue and decide them, until SIGTERM/SIGINT (start one or more, on any machine
    sharing the database; the registration service then runs with CIVID_DEDUP_INLINE=false)."""
    import signal
    import threading

    from civid.log_format import configure as configure_logging
    from enrollment.abis_worker import run_worker, worker_name
    from enrollment.dedup_queue import release_abandoned_here

    configure_logging(_settings().json_logs)
    services = _services()
    release_abandoned_here(services.sessions)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    err.print(
        f"abis worker {worker_name()} ready: {len(services.gallery)} face templates, {len(services.fingers)} fingers"
    )
    try:
        done = run_worker(services, stop, max_jobs=max_jobs)
    finally:
        services.close()
    err.print(f"abis worker {worker_name()} stopped after {done} jobs")


@index_app.command("rebuild")
def index_rebuild() -> None:
    """Rebuild the face gallery and the fingerprint index from the database (with progress bars)."""
    services = _services(open_gallery=False)
    count = services.gallery.rebuild(show_progress=True)
    fingers = services.fingers.rebuild(show_progress=True)
    out.print(
        f"face gallery rebuilt: {count} templates, index {services.gallery.kind}, saved to {services.gallery.location}"
    )
    out.print(
        f"fingerprint index rebuilt: {fingers} fingers, index {services.fingers.kind}, "
        f"saved to {services.fingers.location}"
    )


@index_app.command("status")
def index_status() -> None:
    """Load the indexes, reconcile them with the database, and say what they hold."""
    services = _services()
    out.print(f"backend: {services.settings.gallery.backend}")
    out.print(
        f"face gallery: {len(services.gallery)} templates, index {services.gallery.kind}, "
        f"watermark {services.gallery.watermark}, at {services.gallery.location}"
    )
    out.print(
        f"fingerprint index: {len(services.fingers)} fingers, index {services.fingers.kind}, "
        f"watermark {services.fingers.watermark}, at {services.fingers.location}"
    )


fingerprints_app = typer.Typer(help="Fingerprint templates (ISO/IEC 19794-2)", no_args_is_help=True)
app.add_typer(fingerprints_app, name="fingerprints")


@fingerprints_app.command("export")
def fingerprints_export(
    uin: str = typer.Argument(..., help="The person's UIN"),
    output: Path = typer.Option(..., "--out", "-o", dir_okay=False, help="Where to write the .iso record"),
    api_key: str = typer.Option(..., envvar="CIVID_API_KEY", help="An officer or adjudicator API key (audited)"),
) -> None:
    """Write a person's finger minutiae as one ISO/IEC 19794-2:2005 record for another AFIS."""
    from civid import audit
    from civid.auth import authenticate
    from civid.uin import normalise_uin
    from enrollment.fingerprint_export import export_identity

    services = _services(open_gallery=False)
    try:
        with services.sessions() as session:
            actor = authenticate(session, api_key)
            if actor.role not in ("officer", "adjudicator"):
                _fail(f"exporting fingerprints needs an officer or adjudicator key; this key's role is {actor.role}")
            number = normalise_uin(uin)
            data, positions = export_identity(services, session, number)
            audit.record(session, actor, "fingerprints.exported", "identity", number, positions=positions)
            session.commit()
    except CividError as exc:
        _fail(exc.detail)
    finally:
        services.close()
    output.write_bytes(data)
    out.print(f"wrote {len(data)} bytes ({len(positions)} fingers: {', '.join(map(str, positions))}) to {output}")


@apikey_app.command("create")
def apikey_create(
    name: str = typer.Option(...),
    role: str = typer.Option(..., help="officer|adjudicator|auditor|admin|registrar|abis"),
) -> None:
    """Create an API key; the secret is printed once."""
    from civid.audit import Actor
    from civid.auth import create_api_key

    services = _services(open_gallery=False)
    try:
        with services.sessions.begin() as session:
            row, secret = create_api_key(session, name, role, Actor(None, "cli", "admin"))
    except CividError as exc:
        _fail(exc.detail)
    out.print(f"created key {row.id} ({role}, {name}). Secret, shown once:")
    print(secret)


@apikey_app.command("list")
def apikey_list() -> None:
    """List API keys (never their secrets)."""
    from sqlalchemy import select

    from models import ApiKey

    services = _services(open_gallery=False)
    table = Table("id", "name", "role", "prefix", "created", "revoked")
    with services.sessions() as session:
        for row in session.scalars(select(ApiKey).order_by(ApiKey.id)):
            table.add_row(str(row.id), row.name, row.role, row.prefix, str(row.created_at), str(row.revoked_at or ""))
    out.print(table)


@keys_app.command("rotate-template-key")
def rotate_template_key() -> None:
    """Make a fresh AES key active for new templates; older keys stay to decrypt older rows."""
    from civid.audit import Actor, record

    services = _services(open_gallery=False)
    kid = services.keyring.rotate()
    with services.sessions.begin() as session:
        record(session, Actor(None, "cli", "admin"), "keys.template_key_rotated", "key", kid)
    out.print(f"active template key is now {kid}; key ring {services.keyring.path}")


@keys_app.command("reencrypt-templates")
def reencrypt_templates() -> None:
    """Re-seal every template (and kept photo) under the active key, so older keys can be retired."""
    from abis.references import reencrypt as reencrypt_abis
    from civid.audit import Actor, record
    from credentials.cards import reencrypt as reencrypt_cards
    from enrollment.templates import reencrypt_all

    services = _services(open_gallery=False)
    with services.sessions.begin() as session:
        # MOSIP's ABIS references (abis/) and the ID cards' QR (credentials/) are sealed by the same ring: a retired
        # key must not strand them.
        moved = (
            reencrypt_all(services.keyring, session)
            + reencrypt_abis(services.keyring, session)
            + reencrypt_cards(services.keyring, session)
        )
        record(
            session,
            Actor(None, "cli", "admin"),
            "keys.templates_reencrypted",
            "key",
            services.keyring.active,
            count=moved,
        )
    out.print(
        f"{moved} sealed items (templates, ABIS references, photos, document numbers, signing keys, ID cards) "
        f"re-sealed under "
        f"{services.keyring.active}"
    )


@keys_app.command("retire")
def retire_key(key_id: str = typer.Argument(..., help="A key id no template or photo uses any more")) -> None:
    """Remove an old key from the ring, refusing while any stored template or photo still needs it."""
    from sqlalchemy import func, select

    from civid.audit import Actor, record
    from models import AbisTemplate, FaceTemplate, FingerTemplate, IdentityDocument, Photo, SigningKey

    services = _services(open_gallery=False)
    with services.sessions.begin() as session:
        columns = (
            FaceTemplate.key_id,
            Photo.key_id,
            FingerTemplate.key_id,
            IdentityDocument.number_key_id,
            SigningKey.private_key_id,
            AbisTemplate.key_id,
        )
        in_use = sum(session.scalar(select(func.count()).where(column == key_id)) or 0 for column in columns)
        if in_use:
            _fail(f"{in_use} templates or photos are still sealed under {key_id}: run 'civid keys reencrypt-templates'")
        try:
            services.keyring.retire(key_id)
        except CividError as exc:
            _fail(exc.detail)
        record(session, Actor(None, "cli", "admin"), "keys.template_key_retired", "key", key_id)
    out.print(f"key {key_id} retired; the ring holds {', '.join(services.keyring.key_ids)}")


def _services_without_gallery() -> Services:
    """The services for a command that needs no index (the feature packages' commands get them from here)."""
    return _services(open_gallery=False, show_progress=False)


from idp.cli import install as _install_idp_commands  # noqa: E402  (civid clients, civid keys rotate|status)

_install_idp_commands(app, keys_app, _services_without_gallery)

from console.cli import install as _install_console_commands  # noqa: E402  (civid staff add|list|disable)

_install_console_commands(app, _services_without_gallery)


from server.abis_cli import install as _install_abis_commands  # noqa: E402  (civid abis dedup-bulk)

_install_abis_commands(app, _services_without_gallery)

from server.audit_cli import install as _install_audit_commands  # noqa: E402  (civid audit verify|prune|…)

_install_audit_commands(app, _services_without_gallery)

from server.backup_cli import install as _install_backup_commands  # noqa: E402  (civid backup, civid restore)

_install_backup_commands(app, _settings)

from server.doctor_cli import install as _install_doctor  # noqa: E402  (civid doctor)

_install_doctor(app, _settings)

from server.keys_cli import install as _install_key_ceremonies  # noqa: E402  (civid keys hsm-create|rotate-master|…)

_install_key_ceremonies(keys_app, _services_without_gallery, _settings)

from server.identity_cli import install as _install_identity_commands  # noqa: E402  (civid identity suspend|…)

_install_identity_commands(app, _services_without_gallery)

from server.notifications_cli import install as _install_notification_commands  # noqa: E402  (civid notifications …)

_install_notification_commands(app, _services_without_gallery)

from server.retention_cli import install as _install_retention_commands  # noqa: E402  (civid retention run|show)

_install_retention_commands(app, _services_without_gallery, _settings)

from server.card_cli import card_app  # noqa: E402
from server.card_cli import install as _install_card_commands  # noqa: E402  (civid card verify|…)
from server.card_lifecycle_cli import install as _install_card_lifecycle  # noqa: E402  (civid card issue|…)

_install_card_commands(app, _services_without_gallery)
_install_card_lifecycle(card_app, _services_without_gallery)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
