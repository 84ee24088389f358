"""ID-card QR texts for the verifier's tests, built here (cbor2, zlib, Base45) apart from civid's encoder so the
page is checked against the spec, not against civid's own Python: a Claim 169 CWT in a COSE_Sign1 (ES256, ``kid``
in the protected header), a card's status reference included, and a tampered copy of a QR."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import cbor2
import cv2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tests.conftest import jpeg_bytes, load_rgb

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"  # RFC 9285
Signer = Callable[[bytes], tuple[str, bytes]]  # Sig_structure → (kid, r||s)


def base45_encode(data: bytes) -> str:
    digits: list[int] = []
    for i in range(0, len(data), 2):
        chunk = data[i : i + 2]
        n = chunk[0] * 256 + chunk[1] if len(chunk) == 2 else chunk[0]
        width = 3 if len(chunk) == 2 else 2
        for _ in range(width):
            n, digit = divmod(n, 45)
            digits.append(digit)
    return "".join(ALPHABET[d] for d in digits)


def base45_decode(text: str) -> bytes:
    out = bytearray()
    for i in range(0, len(text), 3):
        chunk = text[i : i + 3]
        n = sum(ALPHABET.index(c) * 45**j for j, c in enumerate(chunk))
        out += n.to_bytes(2 if len(chunk) == 3 else 1, "big")
    return bytes(out)


def small_photo() -> bytes:
    """A card-sized face photo (JPEG, under 2 KB): what fits a QR beside the claims."""
    rgb = load_rgb("obama_2012_portrait.jpg")
    return jpeg_bytes(cv2.resize(rgb, (48, 60), interpolation=cv2.INTER_AREA), quality=40)


def identity_claims(uin: str, photo: bytes | None = None) -> dict[int, Any]:
    """Claim 169 with numeric keys (mosip/id-claim-169): id, names, date of birth, gender, nationality, photo."""
    claims: dict[int, Any] = {1: uin, 4: "Barack Hussein Obama", 5: "Barack", 6: "Hussein", 7: "Obama"}
    claims |= {8: "19610804", 9: 1, 13: "BLZ"}
    if photo:
        claims |= {16: photo, 17: 1}  # 17: photo format 1 = JPEG
    return claims


def card_qr(
    sign: Signer,
    kid: str,
    identity: dict[int, Any],
    *,
    issuer: str,
    issued_at: int,
    expires_at: int,
    card_number: str,
    status: dict[str, Any] | None = None,
) -> str:
    """The QR text of a card signed by ``sign`` with key ``kid`` (CWT: iss, exp, nbf, iat, cti, status, 169)."""
    protected = cbor2.dumps({1: -7, 4: kid.encode()})  # alg ES256, kid (RFC 9052 §3.1)
    cwt: dict[int, Any] = {1: issuer, 4: expires_at, 5: issued_at, 6: issued_at, 7: card_number.encode()}
    if status is not None:
        cwt[65535] = status  # Token Status List's "status" claim in a CWT
    cwt[169] = identity
    payload = cbor2.dumps(cwt)
    signed_kid, signature = sign(cbor2.dumps(["Signature1", protected, b"", payload]))
    assert signed_kid == kid
    sign1 = cbor2.CBORTag(18, [protected, {}, payload, signature])
    return base45_encode(zlib.compress(cbor2.dumps(sign1), 9))


def tampered(qr: str, old: bytes, new: bytes) -> str:
    """``qr`` with ``old`` replaced by ``new`` (same length) in its payload, re-compressed and re-Base45'd: the
    signature no longer covers what the QR says."""
    assert len(old) == len(new)
    tag = cbor2.loads(zlib.decompress(base45_decode(qr)))
    protected, unprotected, payload, signature = tag.value
    assert old in payload
    forged = cbor2.CBORTag(18, [protected, unprotected, payload.replace(old, new, 1), signature])
    return base45_encode(zlib.compress(cbor2.dumps(forged), 9))


def stranger_signer() -> tuple[Signer, ec.EllipticCurvePrivateKey]:
    """An ES256 signer whose key civid never published."""
    key = ec.generate_private_key(ec.SECP256R1())

    def sign(data: bytes) -> tuple[str, bytes]:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return "not-a-civid-key", r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return sign, key
