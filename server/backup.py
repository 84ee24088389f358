"""``civid backup`` and ``civid restore``: a consistent snapshot of one instance, and its return on another machine.

An archive holds the database (SQLite's online backup API, or ``pg_dump`` of the schema in an exported snapshot),
the key files (the template key ring, the audit key, the identity provider's secrets), optionally the gallery's
saved indexes (they rebuild from the database), and a manifest: the schema revision, the row count of every table
as of the snapshot, and every member's SHA-256. The whole is one encrypted stream (server/backup_container.py):
the key files are in it only in that wrapped form, and a ``.sha256`` file beside the archive lets an operator
check a copy without the passphrase.

Consistency: the counts are read in the very snapshot the dump is taken from (SQLite: from the copy; PostgreSQL:
``pg_export_snapshot()`` in a repeatable-read transaction, the snapshot ``pg_dump --snapshot`` then uses), so a
restore of a backup taken under load can be checked row for row. The key files are copied after the snapshot: a
key made after it is harmless, and a key retired after it cannot be, since retiring needs no row sealed under it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, make_url

from civid.errors import Conflict, InvalidInput
from civid.settings import Settings
from server.backup_container import BackupRefused, DecryptingReader, EncryptingWriter

MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/civid.sqlite"
PG_MEMBER = "database/civid.pgdump"
# What each key file is called inside an archive, and where its settings put it.
KEY_FILES: dict[str, Callable[[Settings], Path]] = {
    "keys/template-keys.json": lambda s: s.resolved_template_keys_file,
    "keys/audit-keys.json": lambda s: s.resolved_audit_key_file,
    "keys/idp-secrets.json": lambda s: s.resolved_idp_secrets_file,
    "keys/vid-key.json": lambda s: s.resolved_vid_key_file,
}
GALLERY_PREFIX = "gallery/"
Advance = Callable[[int], None]  # bytes done, for a progress bar


@dataclass(frozen=True)
class Manifest:
    created_at: str
    dialect: str  # sqlite | postgresql
    schema: str | None  # PostgreSQL: the schema dumped (a restore goes into the schema of that name)
    revision: str | None  # Alembic's
    tables: dict[str, int]
    members: dict[str, dict[str, object]] = field(default_factory=dict)  # name -> {"sha256", "size"}

    @classmethod
    def parse(cls, raw: bytes) -> Manifest:
        try:
            return cls(**json.loads(raw))
        except (ValueError, TypeError) as exc:
            raise BackupRefused(f"the archive's manifest is damaged: {exc}") from exc


def dialect_of(settings: Settings) -> str:
    return make_url(settings.resolved_database_url).get_backend_name()


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as a libpq URI for pg_dump and pg_restore (``options=-csearch_path=…`` is kept)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.resolved_database_url).database
    if not database or database == ":memory:":
        raise InvalidInput("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _counts(connection: Connection) -> dict[str, int]:
    names = sorted(inspect(connection).get_table_names())
    return {name: int(connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()) for name in names}


def _revision(connection: Connection, tables: dict[str, int]) -> str | None:
    if "alembic_version" not in tables:
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise InvalidInput(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-800:]}")


# --- backup -------------------------------------------------------------------------------------
def _snapshot_database(settings: Settings, folder: Path) -> tuple[str, str | None, str | None, dict[str, int]]:
    """Write the database's snapshot into ``folder``; return its member name, schema, revision and counts."""
    url = settings.resolved_database_url
    if dialect_of(settings) == "sqlite":
        source_path = _sqlite_path(settings)
        if not source_path.is_file():
            raise InvalidInput(f"no database at {source_path}: nothing to back up")
        copy = folder / "civid.sqlite"
        # One step (pages=-1): in WAL mode a stepwise copy restarts whenever another connection writes.
        with sqlite3.connect(source_path) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        engine = create_engine(f"sqlite:///{copy}")
        try:
            with engine.connect() as connection:
                counts = _counts(connection)
                return SQLITE_MEMBER, None, _revision(connection, counts), counts
        finally:
            engine.dispose()
    engine = create_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection, connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
            counts = _counts(connection)
            revision = _revision(connection, counts)
            # The dump sees exactly what the counts saw: the snapshot lives while this transaction is open.
            _run(
                [
                    "pg_dump",
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    f"--schema={schema}",
                    "--no-owner",
                    "--no-privileges",
                    f"--file={folder / 'civid.pgdump'}",
                    f"--dbname={_libpq(url)}",
                ],
                "pg_dump",
            )
        return PG_MEMBER, schema, revision, counts
    finally:
        engine.dispose()


def _members(settings: Settings, folder: Path, database_member: str, with_gallery: bool) -> dict[str, Path]:
    members = {database_member: folder / Path(database_member).name}
    for name, where in KEY_FILES.items():
        path = where(settings)
        if path.is_file():
            members[name] = path
    if with_gallery and settings.gallery_dir.is_dir():
        for path in sorted(settings.gallery_dir.rglob("*")):
            if path.is_file():
                members[GALLERY_PREFIX + path.relative_to(settings.gallery_dir).as_posix()] = path
    return members


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Counting:
    """A file read for the archive that moves a progress bar as it goes."""

    def __init__(self, handle: BinaryIO, advance: Advance) -> None:
        self._handle, self._advance = handle, advance

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._advance(len(data))
        return data


def create(
    settings: Settings,
    destination: Path,
    passphrase: str,
    *,
    with_gallery: bool = False,
    started: Callable[[int], Advance] | None = None,
) -> Manifest:
    """Write an encrypted archive of this instance to ``destination`` (refused if it exists). ``started(total)``,
    called once the size is known, returns the progress callback."""
    if destination.exists():
        raise Conflict(f"{destination} exists: a backup never overwrites a file")
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".civid-backup-", dir=destination.parent) as tmp:
        folder = Path(tmp)
        database_member, schema, revision, counts = _snapshot_database(settings, folder)
        members = _members(settings, folder, database_member, with_gallery)
        described = {name: {"sha256": _sha256(path), "size": path.stat().st_size} for name, path in members.items()}
        manifest = Manifest(
            datetime.now(UTC).isoformat(timespec="seconds"), dialect_of(settings), schema, revision, counts, described
        )
        advance = started(sum(path.stat().st_size for path in members.values())) if started else (lambda _n: None)
        partial = destination.with_name(destination.name + ".partial")
        with partial.open("wb") as sink:
            writer = EncryptingWriter(sink, passphrase)
            with tarfile.open(fileobj=writer, mode="w|") as archive:  # type: ignore[call-overload]
                for name, path in members.items():
                    info = tarfile.TarInfo(name)
                    info.size, info.mode, info.mtime = path.stat().st_size, 0o600, int(path.stat().st_mtime)
                    with path.open("rb") as handle:
                        archive.addfile(info, _Counting(handle, advance))
                body = json.dumps(asdict(manifest), indent=1, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode = len(body), 0o600
                archive.addfile(info, _BytesReader(body))
            writer.close()
            sink.flush()
            os.fsync(sink.fileno())
        partial.rename(destination)
    checksum_file(destination).write_text(f"{_sha256(destination)}  {destination.name}\n")
    return manifest


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int = -1) -> bytes:
        size = len(self._data) if size < 0 else size
        chunk, self._data = self._data[:size], self._data[size:]
        return chunk


def checksum_file(archive: Path) -> Path:
    return archive.with_name(archive.name + ".sha256")


# --- restore ------------------------------------------------------------------------------------
def _refuse_unless_empty(settings: Settings) -> None:
    occupied = [str(where(settings)) for where in KEY_FILES.values() if where(settings).exists()]
    if dialect_of(settings) == "sqlite":
        database = _sqlite_path(settings)
        if database.exists():
            occupied.append(str(database))
    else:
        engine = create_engine(settings.resolved_database_url)
        try:
            with engine.connect() as connection:
                tables = inspect(connection).get_table_names()
                schema = connection.execute(text("SELECT current_schema()")).scalar()
        finally:
            engine.dispose()
        if tables:
            occupied.append(f"schema {schema} ({len(tables)} tables)")
    if occupied:
        raise Conflict("a restore goes into an empty instance only; these exist: " + ", ".join(occupied))


def _check_sidecar(archive: Path) -> None:
    sidecar = checksum_file(archive)
    if sidecar.is_file():
        expected = sidecar.read_text().split()[0] if sidecar.read_text().split() else ""
        if expected != _sha256(archive):
            raise BackupRefused(f"{archive.name} does not match its checksum in {sidecar.name}: a damaged copy")


def _unpack(archive: Path, passphrase: str, folder: Path, advance: Advance) -> Manifest:
    """Decrypt ``archive`` into ``folder``; check every member against the manifest."""
    with archive.open("rb") as source:
        reader = DecryptingReader(_Counting(source, advance), passphrase)  # type: ignore[arg-type]
        try:
            with tarfile.open(fileobj=reader, mode="r|") as packed:  # type: ignore[call-overload]
                # The "data" filter refuses absolute names, "..", links and devices: a crafted archive writes
                # nothing outside the folder.
                packed.extractall(folder, filter="data")
        except tarfile.TarError as exc:
            raise BackupRefused(f"the archive's contents are damaged: {exc}") from exc
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise BackupRefused("the archive has no manifest")
    manifest = Manifest.parse(manifest_path.read_bytes())
    found = {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()} - {MANIFEST}
    if found != set(manifest.members):
        raise BackupRefused(f"the archive's members differ from its manifest: {sorted(found ^ set(manifest.members))}")
    for name, described in manifest.members.items():
        if _sha256(folder / name) != described["sha256"]:
            raise BackupRefused(f"{name} in the archive does not match its checksum")
    return manifest


def _place_database(settings: Settings, manifest: Manifest, folder: Path) -> None:
    if manifest.dialect == "sqlite":
        target = _sqlite_path(settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / SQLITE_MEMBER, target)
        return
    url = settings.resolved_database_url
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar()
            exists = connection.execute(
                text("SELECT count(*) FROM pg_namespace WHERE nspname = :name"), {"name": manifest.schema}
            ).scalar_one()
    finally:
        engine.dispose()
    if schema is not None and schema != manifest.schema:
        raise InvalidInput(
            f"the backup holds schema {manifest.schema!r} but the target uses {schema!r}: restore into a database "
            f"whose search_path names {manifest.schema!r}"
        )
    dump = str(folder / PG_MEMBER)
    listing = subprocess.run(["pg_restore", "--list", dump], capture_output=True, text=True, check=True).stdout
    if exists:  # an empty schema of that name is there already (``public`` always is): do not create it again
        listing = "\n".join(line for line in listing.splitlines() if f" SCHEMA - {manifest.schema} " not in line)
    (folder / "restore.list").write_text(listing)
    _run(
        [
            "pg_restore",
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
            f"--use-list={folder / 'restore.list'}",
            f"--dbname={_libpq(url)}",
            dump,
        ],
        "pg_restore",
    )


def _place_files(settings: Settings, manifest: Manifest, folder: Path) -> None:
    for name in manifest.members:
        if name in KEY_FILES:
            target = KEY_FILES[name](settings)
        elif name.startswith(GALLERY_PREFIX):
            target = settings.gallery_dir / name.removeprefix(GALLERY_PREFIX)
        else:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / name, target)
        if name in KEY_FILES:
            target.chmod(0o600)


def restore(
    settings: Settings, archive: Path, passphrase: str, *, started: Callable[[int], Advance] | None = None
) -> tuple[Manifest, dict[str, int]]:
    """Put ``archive`` into the empty instance ``settings`` name; return its manifest and the restored counts."""
    if not archive.is_file():
        raise InvalidInput(f"no archive at {archive}")
    _refuse_unless_empty(settings)
    _check_sidecar(archive)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    advance = started(archive.stat().st_size) if started else (lambda _n: None)
    with _scratch(settings.data_dir) as folder:
        manifest = _unpack(archive, passphrase, folder, advance)
        if manifest.dialect != dialect_of(settings):
            raise InvalidInput(f"the backup is of a {manifest.dialect} database; the target is {dialect_of(settings)}")
        try:
            _place_files(settings, manifest, folder)
            _place_database(settings, manifest, folder)
        except BaseException:
            _remove_placed(settings, manifest)  # the target was empty: leave it so, and a retry is not refused
            raise
    engine = create_engine(settings.resolved_database_url)
    try:
        with engine.connect() as connection:
            counts = _counts(connection)
    finally:
        engine.dispose()
    return manifest, counts


def _remove_placed(settings: Settings, manifest: Manifest) -> None:
    placed = [where(settings) for name, where in KEY_FILES.items() if name in manifest.members]
    if manifest.dialect == "sqlite":
        database = _sqlite_path(settings)
        placed += [database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")]
    for path in placed:
        path.unlink(missing_ok=True)
    if any(name.startswith(GALLERY_PREFIX) for name in manifest.members):
        shutil.rmtree(settings.gallery_dir, ignore_errors=True)


@contextmanager
def _scratch(data_dir: Path) -> Iterator[Path]:
    """A private folder beside the data for the decrypted members (0700), removed whatever happens."""
    with tempfile.TemporaryDirectory(prefix=".civid-restore-", dir=data_dir) as tmp:
        os.chmod(tmp, 0o700)
        yield Path(tmp)
