"""The encrypted envelope of a ``civid backup`` archive: a passphrase-derived key and a chunked AES-GCM stream.

Layout: ``CIVIDBAK1\\n``, a 4-byte big-endian header length, the JSON header (format, scrypt parameters and salt,
chunk size), then records of a 4-byte length and one AES-256-GCM ciphertext each. The key is scrypt(passphrase,
salt) with a fresh salt per archive, so a counter is a safe nonce; every chunk authenticates the header as
associated data, and the last one says it is last (the STREAM construction: Hoang, Reyhanitabar, Rogaway and
Vizár), so a chunk cut off the end, swapped with another, or a header edited to weaken the KDF is refused rather
than restored. Why a passphrase and not the template key ring: the archive carries that ring, and the ring is
exactly what a restore on a new machine does not yet have.
"""

from __future__ import annotations

import json
import os
import secrets
import struct
from base64 import b64decode, b64encode
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from civid.errors import InvalidInput

MAGIC = b"CIVIDBAK1\n"
CHUNK = 1 << 20
MIN_PASSPHRASE = 12
# scrypt at N=2^17, r=8: 128 MiB and about half a second per derivation, OWASP's floor for a stored secret.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 17, 8, 1
_LENGTH = struct.Struct(">I")
_FINAL = 1 << 95  # the last chunk's nonce has its top bit set


class BackupRefused(InvalidInput):
    """An archive that cannot be opened: wrong passphrase, not an archive, tampered with or cut short."""

    type_slug = "backup-refused"
    title = "Backup archive refused"


def _key(passphrase: str, header: dict[str, object]) -> bytes:
    kdf = Scrypt(
        salt=b64decode(str(header["salt"])),
        length=32,
        n=int(str(header["n"])),
        r=int(str(header["r"])),
        p=int(str(header["p"])),
    )
    return kdf.derive(passphrase.encode())


def _nonce(index: int, final: bool) -> bytes:
    return ((_FINAL if final else 0) | index).to_bytes(12, "big")


class EncryptingWriter:
    """A write-only binary file that encrypts what is written into ``sink`` (close it to write the last chunk)."""

    def __init__(self, sink: BinaryIO, passphrase: str) -> None:
        if len(passphrase) < MIN_PASSPHRASE:
            raise InvalidInput(f"the backup passphrase must have at least {MIN_PASSPHRASE} characters")
        header = {
            "format": 1,
            "kdf": "scrypt",
            "n": SCRYPT_N,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
            "salt": b64encode(secrets.token_bytes(16)).decode(),
            "chunk": CHUNK,
        }
        self._header = json.dumps(header, sort_keys=True).encode()
        self._cipher = AESGCM(_key(passphrase, header))
        self._sink = sink
        self._buffer = bytearray()
        self._index = 0
        self.closed = False
        sink.write(MAGIC + _LENGTH.pack(len(self._header)) + self._header)

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK:  # keep at least one byte back: the last chunk is written by close()
            self._emit(bytes(self._buffer[:CHUNK]), final=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _emit(self, chunk: bytes, final: bool) -> None:
        sealed = self._cipher.encrypt(_nonce(self._index, final), chunk, self._header)
        self._sink.write(_LENGTH.pack(len(sealed)) + sealed)
        self._index += 1

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self._buffer), final=True)
            self._buffer.clear()
            self.closed = True


def decrypted_chunks(source: BinaryIO, passphrase: str) -> Iterator[bytes]:
    """The plaintext of an archive, chunk by chunk; raises BackupRefused at the first chunk that does not open."""
    if source.read(len(MAGIC)) != MAGIC:
        raise BackupRefused("this file is not a civid backup archive")
    raw_length = source.read(_LENGTH.size)
    header_bytes = source.read(_LENGTH.unpack(raw_length)[0]) if len(raw_length) == _LENGTH.size else b""
    try:
        header = json.loads(header_bytes)
        if header.get("format") != 1 or header.get("kdf") != "scrypt" or int(header["n"]) < SCRYPT_N:
            raise ValueError("unsupported format or a weakened key derivation")
        cipher = AESGCM(_key(passphrase, header))
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupRefused(f"the archive's header is damaged: {exc}") from exc
    index = 0
    while True:
        raw_length = source.read(_LENGTH.size)
        if len(raw_length) < _LENGTH.size:
            raise BackupRefused("the archive is cut short (its last chunk is missing)")
        length = _LENGTH.unpack(raw_length)[0]
        sealed = source.read(length)
        if len(sealed) < length:
            raise BackupRefused(f"the archive is cut short (in chunk {index})")
        for final in (False, True):
            try:
                chunk = cipher.decrypt(_nonce(index, final), sealed, header_bytes)
                break
            except InvalidTag:
                continue
        else:
            detail = "wrong passphrase, or the archive was altered" if index == 0 else f"chunk {index} was altered"
            raise BackupRefused(f"the archive does not open: {detail}")
        yield chunk
        index += 1
        if final:
            if source.read(1):
                raise BackupRefused("the archive has data after its last chunk")
            return


class DecryptingReader:
    """A read-only binary file over ``decrypted_chunks`` (what ``tarfile`` reads a stream from)."""

    def __init__(self, source: BinaryIO, passphrase: str) -> None:
        self._chunks = decrypted_chunks(source, passphrase)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def read_passphrase(path: str | None) -> str:
    """The passphrase from a file (its first line), else ``CIVID_BACKUP_PASSPHRASE``; never from a command line
    argument, which every user of the machine can read in the process list."""
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                value = handle.readline().rstrip("\r\n")
        except OSError as exc:
            raise InvalidInput(f"cannot read the passphrase file {path}: {exc.strerror}") from exc
    else:
        value = os.environ.get("CIVID_BACKUP_PASSPHRASE", "")
    if not value:
        raise InvalidInput("no backup passphrase: give --passphrase-file FILE or set CIVID_BACKUP_PASSPHRASE")
    if len(value) < MIN_PASSPHRASE:
        raise InvalidInput(f"the backup passphrase must have at least {MIN_PASSPHRASE} characters")
    return value
