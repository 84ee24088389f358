"""The IETF Token Status List's bit array (draft-ietf-oauth-status-list): one bit per credential, 1 = revoked,
compressed and base64url-encoded as a status list token's ``lst``. Shared by the KYC attestations' lists (kyc/) and
the ID cards' and wallet credentials' lists (credentials/), each of which allocates its own indexes.
"""

from __future__ import annotations

import base64
import zlib

STATUS_LIST_TYP = "statuslist+jwt"  # Token Status List, "Status List Token in JWT Format"
MEDIA_TYPE = "application/statuslist+jwt"  # Token Status List, "Status List Response"
BITS = 1  # 0 = VALID, 1 = INVALID (revoked); no suspension: a revocation is final ("Status Types")
VALID, INVALID = 0, 1


def encode(revoked_indexes: list[int] | set[int], size: int) -> str:
    """``lst``: base64url (no padding) of the ZLIB-compressed bit array; index i is bit i % 8 (least
    significant first) of byte i // 8 (Token Status List, "Status List")."""
    bits = bytearray((size + 7) // 8)
    for index in revoked_indexes:
        if not 0 <= index < size:
            raise ValueError(f"status index {index} outside a list of {size}")
        bits[index // 8] |= 1 << (index % 8)
    compressed = zlib.compress(bytes(bits), level=9)  # DEFLATE in the ZLIB format (RFC 1950), highest level
    return base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode(lst: str) -> bytes:
    """The uncompressed bit array of an ``lst`` value (what a relying party computes)."""
    return zlib.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4)))


def status_at(bit_array: bytes, index: int) -> int:
    """The 1-bit status at ``index`` of an uncompressed bit array."""
    return (bit_array[index // 8] >> (index % 8)) & 1
