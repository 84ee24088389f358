"""A registration drive's ZIP: checked against ZIP bombs and odd paths, split into one package per person,
each package sealed (AES-256-GCM under the key ring) in the data folder until it has been enrolled.

Layout of the ZIP: one folder per person (its path is the package's name), holding ``person.json``
(``{"demographics": {...}, "documents": [...], "finger_exceptions": [...]}``, the API's shapes), one or more
``face*.jpg|jpeg|png`` and any ``finger-<position>.png|tif|tiff|bmp`` (position 1-10). Every folder without
sub-folders is a package, an empty one too (its record says so): the report has a row per folder.

Archive limits are checked from the central directory before anything is decompressed: member count, total
uncompressed size, each member's size and compression ratio; ``zipfile`` never yields more bytes than the
directory declares (and checks the CRC), so a member that lies is caught while it is read. Paths are never
used as file names here (nothing is extracted), but absolute paths, ``..``, backslashes, symbolic links and
encrypted members are refused all the same: such an archive was not made by a registration kit.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from civid.errors import InvalidInput, PayloadTooLarge
from civid.keyring import KeyRing, Sealed
from civid.settings import Settings
from civid.web.i18n import size_text
from enrollment.schemas import Demographics, DocumentIn, FingerExceptionIn, check_document_list

PERSON_FILE = "person.json"
MAX_PERSON_BYTES = 64 * 1024
MAX_PACKAGE_NAME = 80  # the idempotency key "batch:<36-char id>:<package>" must fit in 128 characters
FACE_FILE = re.compile(r"^face[^/]*\.(jpe?g|png)$", re.IGNORECASE)
FINGER_FILE = re.compile(r"^finger-(\d{1,2})\.(png|tiff?|bmp)$", re.IGNORECASE)
# What operating systems add to a ZIP on their own; skipped rather than reported.
_SYSTEM_JUNK = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$|desktop\.ini$)", re.IGNORECASE)
_SEALED_MAGIC = b"civid/batch-package/v1\n"


class PersonIn(BaseModel):
    """``person.json``: what the officer in the field typed, in the API's shapes."""

    model_config = ConfigDict(extra="forbid")

    demographics: Demographics
    documents: list[DocumentIn] = Field(default_factory=list)
    finger_exceptions: list[FingerExceptionIn] = Field(default_factory=list)


@dataclass(frozen=True)
class Issue:
    """Why a package cannot be enrolled: a stable code, the English sentence, and the values that let a page say
    it in another language (``console.batch.reasons``)."""

    code: str
    message: str
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **({"params": self.params} if self.params else {})}


@dataclass
class Package:
    """One person's files, by their name inside the folder (bytes read and size-checked)."""

    name: str
    files: dict[str, bytes] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)


def _check_member(info: zipfile.ZipInfo, settings: Settings) -> None:
    """Refuse the whole archive for a member no registration kit makes, or one built to explode."""
    name = info.filename
    parts = name.rstrip("/").split("/")
    if (
        name.startswith("/")
        or "\\" in name
        or any(p in ("", ".", "..") for p in parts)
        or re.match(r"^[A-Za-z]:", name)
        or "\x00" in name
    ):
        raise InvalidInput(
            f"the archive holds a file with an unsafe path ({name!r}): absolute paths, '..' and "
            "backslashes are refused",
            code="unsafe_path",
            params={"member": name},
        )
    if info.flag_bits & 0x1:
        raise InvalidInput(
            f"{name}: encrypted ZIP members are not accepted", code="encrypted_member", params={"member": name}
        )
    if (info.external_attr >> 16) & 0o170000 == 0o120000:
        raise InvalidInput(f"{name}: symbolic links are not accepted", code="symlink", params={"member": name})
    if info.is_dir():
        return
    limit = MAX_PERSON_BYTES if parts[-1].lower() == PERSON_FILE else settings.max_upload_bytes
    if info.file_size > limit:
        raise PayloadTooLarge(
            f"{name}: {size_text(info.file_size, 'en')} uncompressed, over the limit of "
            f"{size_text(limit, 'en')} per file",
            code="member_too_large",
            params={"member": name, "size": info.file_size, "limit": limit},
        )
    if info.file_size > 1024 * 1024 and info.file_size > settings.batch_max_compression_ratio * max(
        info.compress_size, 1
    ):
        ratio = info.file_size // max(info.compress_size, 1)
        raise PayloadTooLarge(
            f"{name}: expands {ratio} times; refused as a decompression bomb",
            code="compression_ratio",
            params={"member": name, "ratio": ratio},
        )


def open_archive(upload: IO[bytes], settings: Settings) -> tuple[zipfile.ZipFile, dict[str, list[zipfile.ZipInfo]]]:
    """Open and check the ZIP; its members grouped by package folder, in archive order."""
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InvalidInput(f"the file is not a readable ZIP archive ({exc})", code="not_a_zip") from exc
    members = archive.infolist()
    if len(members) > settings.batch_max_members:
        raise PayloadTooLarge(
            f"the archive has {len(members)} entries; at most {settings.batch_max_members} are accepted",
            code="too_many_members",
            params={"count": len(members), "limit": settings.batch_max_members},
        )
    total = sum(info.file_size for info in members)
    if total > settings.batch_max_uncompressed_bytes:
        raise PayloadTooLarge(
            f"the archive expands to {size_text(total, 'en')}; at most "
            f"{size_text(settings.batch_max_uncompressed_bytes, 'en')} is accepted",
            code="too_large_uncompressed",
            params={"size": total, "limit": settings.batch_max_uncompressed_bytes},
        )
    packages: dict[str, list[zipfile.ZipInfo]] = defaultdict(list)
    seen: set[str] = set()
    for info in members:
        _check_member(info, settings)
        if info.filename in seen:
            raise InvalidInput(
                f"{info.filename} appears twice in the archive",
                code="duplicate_member",
                params={"member": info.filename},
            )
        seen.add(info.filename)
        if "__MACOSX/" in info.filename:
            continue
        # A folder (its own entry, or one holding only what the operating system added) is a package even when
        # it is empty: the officer must see a row for every person's folder, not 42 rows for 43 people.
        folder = info.filename.rstrip("/") if info.is_dir() else info.filename.rpartition("/")[0]
        if info.is_dir() or _SYSTEM_JUNK.search(info.filename):
            if folder:
                packages.setdefault(folder, [])
            continue
        packages[folder].append(info)
    parents = {name[:i] for name in packages for i, char in enumerate(name) if char == "/"}
    for name in [name for name, found in packages.items() if not found and name in parents]:
        del packages[name]  # an empty entry of a folder that holds person folders (``drive/``), not a person
    if not packages:
        raise InvalidInput(
            "the archive holds no packages: put each person's files in a folder of their own", code="empty"
        )
    if len(packages) > settings.batch_max_packages:
        raise PayloadTooLarge(
            f"the archive holds {len(packages)} packages; at most {settings.batch_max_packages} per batch",
            code="too_many_packages",
            params={"count": len(packages), "limit": settings.batch_max_packages},
        )
    return archive, dict(packages)


def read_packages(archive: zipfile.ZipFile, groups: dict[str, list[zipfile.ZipInfo]]) -> Iterator[Package]:
    """Each package with its files read (bounded by the sizes already checked) and its layout checked."""
    for folder, members in groups.items():
        package = Package(folder or "(top level)")
        if not folder:
            package.issues.append(
                Issue("no_folder", "files at the top of the archive: put each person's files in a folder of their own")
            )
        elif len(folder) > MAX_PACKAGE_NAME:
            package.issues.append(
                Issue(
                    "name_too_long",
                    f"the folder name is over {MAX_PACKAGE_NAME} characters",
                    {"limit": MAX_PACKAGE_NAME},
                )
            )
        for info in members:
            base = info.filename.rpartition("/")[2]
            try:
                with archive.open(info) as member:
                    data = member.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise InvalidInput(
                    f"{info.filename} is damaged in the archive ({exc})",
                    code="damaged_member",
                    params={"member": info.filename},
                ) from exc
            if base.lower() == PERSON_FILE:
                package.files[PERSON_FILE] = data
            elif FACE_FILE.match(base) or FINGER_FILE.match(base):
                package.files[base] = data
            else:
                package.issues.append(
                    Issue(
                        "unexpected_file",
                        f"{base}: not person.json, face*.jpg|png or finger-<position>.png",
                        {"file": base},
                    )
                )
        if folder and not members:
            package.issues.append(Issue("empty_folder", "the folder is empty"))
        elif folder:
            package.issues.extend(layout_issues(package.files))
        yield package


def layout_issues(files: dict[str, bytes]) -> list[Issue]:
    """What a package lacks or gets wrong before its contents are even parsed."""
    issues = []
    if PERSON_FILE not in files:
        issues.append(Issue("no_person_json", "the folder has no person.json"))
    else:
        issues.extend(parse_person(files[PERSON_FILE])[1])
    if not any(FACE_FILE.match(name) for name in files):
        issues.append(Issue("no_face", "the folder has no face photo (face*.jpg or face*.png)"))
    positions = [int(m.group(1)) for name in files if (m := FINGER_FILE.match(name))]
    for position in positions:
        if not 1 <= position <= 10:
            issues.append(
                Issue("finger_position", f"finger-{position}: a finger position is 1 to 10", {"position": position})
            )
    if len(set(positions)) != len(positions):
        issues.append(Issue("finger_position", "the same finger position is given twice", {"twice": True}))
    return issues


def parse_person(data: bytes) -> tuple[PersonIn | None, list[Issue]]:
    """``person.json`` validated as the API validates its fields; the issues name the field at fault."""
    try:
        person = PersonIn.model_validate_json(data)
        check_document_list(person.documents)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        return None, [
            Issue(
                "invalid_person_json",
                "person.json: "
                + "; ".join(f"{_error_place(e)}: {str(e['msg']).removeprefix('Value error, ')}" for e in errors),
                {"errors": [_plain_error(e) for e in errors]},
            )
        ]
    except ValueError as exc:  # check_document_list
        error = {"loc": ["documents"], "type": "value_error", "msg": str(exc)}
        return None, [Issue("invalid_person_json", f"person.json: documents: {exc}", {"errors": [error]})]
    return person, []


def _error_place(error: ErrorDetails) -> str:
    """Where in person.json a pydantic error is, as a dotted path."""
    return ".".join(str(part) for part in error["loc"]) or "whole file"


def _plain_error(error: Any) -> dict[str, Any]:
    """A pydantic error as stored with the record: where, its type, its English sentence and its simple values
    (what ``console.enrol.form.message_for`` needs to say it again in the officer's language)."""
    return {
        "loc": [str(part) for part in error["loc"]],
        "type": error["type"],
        "msg": str(error["msg"]),
        "ctx": {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, (int, str))},
    }


# --- sealed packages at rest ---------------------------------------------------------------------------


def package_aad(batch_id: str, package: str) -> bytes:
    """Binds a sealed package to its batch and name: a file copied to another slot fails to open."""
    return f"batch-package:{batch_id}:{package}".encode()


def _pack(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def write_sealed(keyring: KeyRing, path: Path, batch_id: str, package: Package) -> None:
    """Seal one package's files and write them with owner-only permissions."""
    sealed = keyring.seal(_pack(package.files), package_aad(batch_id, package.name))
    kid = sealed.key_id.encode()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(_SEALED_MAGIC + bytes([len(kid)]) + kid + sealed.nonce + sealed.ciphertext)


def read_sealed(keyring: KeyRing, path: Path, batch_id: str, package: str) -> dict[str, bytes]:
    """Open a sealed package (raises ConfigurationError when tampered, swapped or its key is gone)."""
    raw = path.read_bytes()
    if not raw.startswith(_SEALED_MAGIC):
        raise InvalidInput(f"{path.name} is not a sealed batch package")
    rest = raw[len(_SEALED_MAGIC) :]
    length = rest[0]
    kid, nonce, ciphertext = rest[1 : 1 + length].decode(), rest[1 + length : 13 + length], rest[13 + length :]
    plain = keyring.open(Sealed(kid, nonce, ciphertext), package_aad(batch_id, package))
    with zipfile.ZipFile(io.BytesIO(plain)) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def content_digest(package: Package) -> str:
    """SHA-256 over the package's files (each name and its bytes, length-prefixed, in name order), not its
    folder name: the same person's package gives the same digest in any archive, zipped any way."""
    digest = hashlib.sha256()
    for name in sorted(package.files):
        for part in (name.encode("utf-8"), package.files[name]):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()


def person_digest(person: PersonIn) -> str:
    """SHA-256 over ``person.json`` as parsed and normalised (keys sorted, no layout, defaults filled in): the
    same person's file re-indented or re-saved by another tool gives the same digest; a corrected one does not."""
    canonical = json.dumps(person.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def files_of(files: dict[str, bytes]) -> dict[str, Any]:
    """A package's files sorted by kind: ``person`` (bytes), ``faces`` [(name, bytes)],
    ``fingers`` {position: (name, bytes)}."""
    faces = sorted((name, data) for name, data in files.items() if FACE_FILE.match(name))
    fingers = {int(m.group(1)): (name, data) for name, data in files.items() if (m := FINGER_FILE.match(name))}
    return {"person": files.get(PERSON_FILE, b""), "faces": faces, "fingers": fingers}
