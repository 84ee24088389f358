"""Base45 (RFC 9285): bytes as the 45 characters of a QR code's alphanumeric mode, which packs 5.5 bits per
character where binary mode packs 8 per byte but needs a byte per character — so a Base45 QR is ~25 % smaller."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUES = {char: value for value, char in enumerate(ALPHABET)}


class Base45Error(ValueError):
    """Text that is not Base45."""


def encode(data: bytes) -> str:
    """Each two bytes → three characters, a last single byte → two (RFC 9285 §4)."""
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        e, n = divmod(n, 45 * 45)
        d, c = divmod(n, 45)
        out.append(ALPHABET[c] + ALPHABET[d] + ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out.append(ALPHABET[c] + ALPHABET[d])
    return "".join(out)


def decode(text: str) -> bytes:
    """The bytes of Base45 ``text``; raises ``Base45Error`` for a character outside the alphabet, a length of
    3k+1, or a group whose value does not fit its bytes (RFC 9285 §4.2)."""
    if len(text) % 3 == 1:
        raise Base45Error("Base45 text cannot have a length of 3k+1")
    try:
        values = [_VALUES[char] for char in text]
    except KeyError as exc:
        raise Base45Error(f"{exc.args[0]!r} is not a Base45 character") from exc
    out = bytearray()
    for i in range(0, len(values), 3):
        group = values[i : i + 3]
        n = sum(value * 45**power for power, value in enumerate(group))
        if len(group) == 3:
            if n > 0xFFFF:
                raise Base45Error("a Base45 group is larger than two bytes")
            out += n.to_bytes(2, "big")
        else:
            if n > 0xFF:
                raise Base45Error("a final Base45 pair is larger than one byte")
            out.append(n)
    return bytes(out)
