"""C2SP signed notes (c2sp.org/signed-note) with Ed25519, and tlog checkpoints (c2sp.org/tlog-checkpoint) in them.

A note is text ending in a newline, a blank line, then signature lines ``— <key name> <base64(key id || sig)>``.
The key id is the first four bytes of SHA-256(key name || 0x0A || 0x01 || public key), so a verifier can pick the
key a line claims without trying them all. A checkpoint's text is three lines: the log's origin, the tree size in
decimal, the base64 root hash. The format is the one Go's checksum database and the transparency-dev witnesses
read, so a witness need not know civid.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from civid.errors import InvalidInput

ED25519 = 0x01  # the signature type byte of Ed25519 in key ids and verifier keys
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
MAX_SIGNATURES = 100


@dataclass(frozen=True)
class Verifier:
    """A public key as a note verifier: its name and key id decide which signature lines are its."""

    name: str
    key_id: bytes
    public_key: bytes  # the 32 raw bytes of the Ed25519 key

    @property
    def vkey(self) -> str:
        """The verifier key text a log publishes: ``<name>+<hex key id>+<base64(0x01 || key)>``."""
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([ED25519]) + self.public_key).decode()}"

    def verifies(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True)
class Note:
    text: str  # ends in a newline; what the signatures cover
    signatures: tuple[Signature, ...]

    def serialise(self) -> str:
        lines = "".join(
            f"{SIGNATURE_PREFIX}{s.name} {base64.b64encode(s.key_id + s.signature).decode()}\n" for s in self.signatures
        )
        return f"{self.text}\n{lines}"

    def signed_by(self, verifiers: list[Verifier]) -> Verifier | None:
        """The first of ``verifiers`` whose signature line is here and valid, or None."""
        for verifier in verifiers:
            for line in self.signatures:
                if (line.name, line.key_id) == (verifier.name, verifier.key_id):
                    if verifier.verifies(self.text.encode(), line.signature):
                        return verifier
        return None


@dataclass(frozen=True)
class Checkpoint:
    """A tlog checkpoint: the log (origin), how many leaves, and the root of the tree of that many."""

    origin: str
    size: int
    root: bytes

    @property
    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def key_id(name: str, public_key: bytes) -> bytes:
    """c2sp.org/signed-note: SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


class NoteSigner(Protocol):
    """What signs a note: an Ed25519 private key, or one in a PKCS#11 token (``civid.audit_key.TokenEd25519Key``)."""

    def sign(self, data: bytes) -> bytes: ...

    def public_key(self) -> Ed25519PublicKey: ...


def verifier_of(name: str, private_key: Ed25519PrivateKey | NoteSigner) -> Verifier:
    raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Verifier(name, key_id(name, raw), raw)


def parse_vkey(vkey: str) -> Verifier:
    """A verifier key as ``Verifier.vkey`` writes it; its key id must be the one its name and key imply."""
    try:
        name, hex_id, encoded = vkey.strip().split("+", 2)  # a name holds no "+"; base64 may
        raw = base64.b64decode(encoded, validate=True)
        claimed = bytes.fromhex(hex_id)
    except (ValueError, binascii.Error) as exc:
        raise InvalidInput(f"not a verifier key (name+keyid+base64 key): {exc}") from exc
    if len(raw) != 33 or raw[0] != ED25519:
        raise InvalidInput("the verifier key is not an Ed25519 key")
    if key_id(name, raw[1:]) != claimed:
        raise InvalidInput("the verifier key's id does not match its name and key")
    return Verifier(name, claimed, raw[1:])


def sign(text: str, name: str, private_key: Ed25519PrivateKey | NoteSigner) -> Note:
    """Sign ``text`` (ending in a newline) as key ``name``."""
    if not text.endswith("\n") or "\n\n" in text:
        raise ValueError("a note's text ends in one newline and holds no blank line")
    verifier = verifier_of(name, private_key)
    return Note(text, (Signature(name, verifier.key_id, private_key.sign(text.encode())),))


def parse_note(raw: str) -> Note:
    """A signed note's text and signature lines; InvalidInput when it is not one."""
    if any(ord(c) < 0x20 and c != "\n" for c in raw):
        raise InvalidInput("a signed note holds no control characters other than newline")
    head, separator, tail = raw.rpartition("\n\n")
    if not separator or not tail.endswith("\n"):
        raise InvalidInput("a signed note is text, a blank line, then signature lines")
    signatures = []
    for line in tail[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise InvalidInput(f"not a signature line: {line[:60]!r}")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].rpartition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise InvalidInput(f"a signature is not base64: {exc}") from exc
        if not name or len(blob) < 5:
            raise InvalidInput("a signature line names its key and carries a key id and a signature")
        signatures.append(Signature(name, blob[:4], blob[4:]))
    if not signatures or len(signatures) > MAX_SIGNATURES:
        raise InvalidInput("a signed note carries between 1 and 100 signatures")
    return Note(head + "\n", tuple(signatures))


def parse_checkpoint(text: str) -> Checkpoint:
    """The first three lines of a checkpoint note's text (later lines are extensions, ignored)."""
    lines = text.split("\n")
    try:
        origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    except (IndexError, ValueError, binascii.Error) as exc:
        raise InvalidInput(f"not a checkpoint (origin, size, base64 root hash): {exc}") from exc
    if not origin or size < 0 or len(root) != 32 or str(size) != lines[1]:
        raise InvalidInput("not a checkpoint (origin, size, base64 root hash)")
    return Checkpoint(origin, size, root)


def split_notes(raw: str) -> list[str]:
    """The notes of a file that holds several one after another (a witness's append-only checkpoint file)."""
    notes: list[str] = []
    current: list[str] = []
    in_signatures = False
    for line in raw.splitlines(keepends=True):
        if in_signatures and not line.startswith(SIGNATURE_PREFIX):
            notes.append("".join(current))
            current, in_signatures = [], False
        current.append(line)
        if line == "\n":
            in_signatures = True
    if current:
        notes.append("".join(current))
    return [note for note in notes if note.strip()]
