"""The ID card's QR in MOSIP's Claim 169 format: what the card states, signed, readable with no network.

The pipeline (mosip/id-claim-169; IANA CWT claim 169 "identity-data"):

    claim 169 map (numeric keys) → CWT (RFC 8392) → COSE_Sign1 (RFC 9052, ES256) → zlib → Base45 (RFC 9285) → QR

The CWT carries ``iss`` (1), ``exp`` (4), ``nbf`` (5), ``iat`` (6), the card number as ``cti`` (7), claim 169,
and the Token Status List's ``status`` claim (65535, draft-ietf-oauth-status-list "Referenced Token" in CWT
form) that names the card's bit in a list a verifier may fetch when online. The COSE protected header holds the
algorithm (-7, ES256) and the credential key's ``kid`` (4): protected, so a copied signature cannot be pointed at
another key. Only ES256 is accepted on reading: civid's credential keys are ES256, and a verifier that takes what
the QR says about its own algorithm is open to algorithm substitution.

``decode`` parses without trusting; ``verify`` checks the signature against a key found by ``kid`` and the dates.
Every malformed input raises ``QrError`` with a reason a verifier can show (never a stack trace).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from credentials import base45

CLAIM = 169  # IANA CWT claim "identity-data"
STATUS_CLAIM = 65535  # CWT claim "status" (Token Status List)
CWT_ISS, CWT_SUB, CWT_EXP, CWT_NBF, CWT_IAT, CWT_CTI = 1, 2, 4, 5, 6, 7
COSE_SIGN1_TAG = 18
COSE_ALG, COSE_KID = 1, 4
ES256 = -7
MAX_INFLATED = 64 * 1024  # a QR holds at most ~4 kB; inflating more is a zip bomb, not a card
# Claim 169 keys (mosip/id-claim-169, "CBOR Map Structure Overview").
ID, VERSION, LANGUAGE, FULL_NAME, FIRST_NAME, MIDDLE_NAME, LAST_NAME, DATE_OF_BIRTH, GENDER = range(1, 10)
NATIONALITY, PHOTO, PHOTO_FORMAT, COUNTRY_OF_ISSUANCE = 13, 16, 17, 23
GENDERS = {"M": 1, "F": 2, "X": 3}  # civid's ICAO 9303 letters ↔ Claim 169's 1 male, 2 female, 3 other
PHOTO_FORMATS = {"jpeg": 1, "jpeg2000": 2, "avif": 3, "webp": 4}
VERSION_1 = "1.0"

FindKey = Callable[[str], Any]  # kid → an EC public key, or None when no published key has that id


class CoseSigner(Protocol):
    """What signs a card (``idp.keys.SigningKeys`` of purpose ``credential``)."""

    def active_kid(self, alg: str = "ES256") -> str: ...

    def sign_bytes(self, data: bytes, alg: str = "ES256", kid: str | None = None) -> tuple[str, bytes]: ...


class QrError(ValueError):
    """The QR text is not a Claim 169 credential civid can read (the message says why)."""


@dataclass(frozen=True)
class CardHolder:
    """What the QR states about the holder (Claim 169 keys 1, 4-9, 13, 16, 17)."""

    id: str  # the UIN or VID printed on the card
    full_name: str
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    date_of_birth: date | None = None
    sex: str | None = None  # "M" | "F" | "X", as civid stores it
    nationality: str | None = None
    photo: bytes | None = None  # the small photo for a face check at the counter
    photo_format: str = "jpeg"  # "jpeg" | "webp"


@dataclass(frozen=True)
class Decoded:
    """A parsed QR, not yet trusted."""

    holder: CardHolder
    kid: str | None
    alg: int | None
    issuer: str | None
    card_number: str | None
    issued_at: datetime | None
    not_before: datetime | None
    expires_at: datetime | None
    status: dict[str, Any] | None  # {"status_list": {"idx": n, "uri": "..."}}
    country_of_issuance: str | None = None
    unknown_claims: dict[int, Any] = field(default_factory=dict)  # claim 169 keys civid does not read
    signed: bytes = b""  # the Sig_structure the signature covers
    signature: bytes = b""


@dataclass(frozen=True)
class Verification:
    """The verifier's answer: ``valid`` only when the signature checks with a published key and the dates hold."""

    valid: bool
    reason: str | None  # why not: unknown-key | bad-signature | expired | not-yet-valid | wrong-algorithm
    decoded: Decoded


# --- writing ---------------------------------------------------------------------------------------------------
def claim_map(holder: CardHolder, *, language: str | None = None, country: str | None = None) -> dict[int, Any]:
    """Claim 169 of ``holder``: numeric keys, absent values left out (every field is optional in the spec)."""
    values: dict[int, Any] = {
        ID: holder.id,
        VERSION: VERSION_1,
        LANGUAGE: language,
        FULL_NAME: holder.full_name,
        FIRST_NAME: holder.first_name,
        MIDDLE_NAME: holder.middle_name,
        LAST_NAME: holder.last_name,
        DATE_OF_BIRTH: holder.date_of_birth.strftime("%Y%m%d") if holder.date_of_birth else None,
        GENDER: GENDERS.get(holder.sex) if holder.sex else None,
        NATIONALITY: holder.nationality,
        PHOTO: holder.photo,
        PHOTO_FORMAT: PHOTO_FORMATS[holder.photo_format] if holder.photo else None,
        COUNTRY_OF_ISSUANCE: country,
    }
    return {key: value for key, value in values.items() if value not in (None, "")}


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """What COSE_Sign1 signs (RFC 9052 §4.4): ``["Signature1", protected, external_aad = b"", payload]``."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def encode(
    holder: CardHolder,
    *,
    issuer: str,
    card_number: str,
    issued_at: datetime,
    expires_at: datetime,
    status: dict[str, Any],
    keys: CoseSigner,
    language: str | None = None,
    country: str | None = None,
) -> str:
    """The Base45 text of the card's QR, signed with the active credential key (``services.credential_keys``)."""
    cwt = {
        CWT_ISS: issuer,
        CWT_IAT: int(issued_at.timestamp()),
        CWT_NBF: int(issued_at.timestamp()),
        CWT_EXP: int(expires_at.timestamp()),
        CWT_CTI: card_number.encode("ascii"),
        CLAIM: claim_map(holder, language=language, country=country),
        STATUS_CLAIM: status,
    }
    payload = cbor2.dumps(cwt)
    kid = keys.active_kid()
    protected = cbor2.dumps({COSE_ALG: ES256, COSE_KID: kid.encode("utf-8")})
    _, signature = keys.sign_bytes(sig_structure(protected, payload), kid=kid)
    cose = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return base45.encode(zlib.compress(cose, level=9))


# --- reading ---------------------------------------------------------------------------------------------------
def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_INFLATED + 1)
    except zlib.error as exc:
        raise QrError("the QR's data is not zlib-compressed") from exc
    if len(out) > MAX_INFLATED or inflater.unconsumed_tail:
        raise QrError("the QR's data inflates beyond 64 kB: refused")
    return out


def _loads(data: bytes, what: str) -> Any:
    try:
        return cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as exc:
        raise QrError(f"the {what} is not valid CBOR") from exc


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise QrError("a date of the CWT is not a number of seconds")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:  # a year past 9999 or before 1: no date a card can carry
        raise QrError("a date of the CWT is out of range") from exc


def _text(value: Any, key: int) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise QrError(f"claim 169 key {key} must be text")


def _birth(value: Any) -> date | None:
    text = _text(value, DATE_OF_BIRTH)
    if text is None:
        return None
    for layout in ("%Y%m%d", "%Y-%m-%d"):  # the spec's YYYYMMDD; YYYY-MM-DD as other issuers write it
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            continue
    raise QrError("the date of birth is neither YYYYMMDD nor YYYY-MM-DD")


def _plain(value: Any) -> Any:
    """A decoded CBOR value with frozendicts and tuples as dicts and lists (what JSON and callers expect)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _holder(claims: Mapping[Any, Any]) -> tuple[CardHolder, str | None, dict[int, Any]]:
    sexes = {code: letter for letter, code in GENDERS.items()}
    formats = {code: name for name, code in PHOTO_FORMATS.items()}
    photo = claims.get(PHOTO)
    if photo is not None and not isinstance(photo, bytes):
        raise QrError("the photo (claim 169 key 16) must be bytes")
    gender, photo_format = claims.get(GENDER), claims.get(PHOTO_FORMAT)
    holder = CardHolder(
        id=_text(claims.get(ID), ID) or "",
        full_name=_text(claims.get(FULL_NAME), FULL_NAME) or "",
        first_name=_text(claims.get(FIRST_NAME), FIRST_NAME),
        middle_name=_text(claims.get(MIDDLE_NAME), MIDDLE_NAME),
        last_name=_text(claims.get(LAST_NAME), LAST_NAME),
        date_of_birth=_birth(claims.get(DATE_OF_BIRTH)),
        sex=sexes.get(gender) if isinstance(gender, int) else None,
        nationality=_text(claims.get(NATIONALITY), NATIONALITY),
        photo=photo,
        photo_format=formats.get(photo_format, "jpeg") if isinstance(photo_format, int) else "jpeg",
    )
    known = {ID, VERSION, LANGUAGE, FULL_NAME, FIRST_NAME, MIDDLE_NAME, LAST_NAME, DATE_OF_BIRTH, GENDER}
    known |= {NATIONALITY, PHOTO, PHOTO_FORMAT, COUNTRY_OF_ISSUANCE}
    unknown = {key: _plain(value) for key, value in claims.items() if key not in known}
    return holder, _text(claims.get(COUNTRY_OF_ISSUANCE), COUNTRY_OF_ISSUANCE), unknown


def decode(text: str) -> Decoded:
    """Parse the QR's text into what it claims, trusting nothing (``verify`` checks it)."""
    try:
        data = _inflate(base45.decode(text.strip()))
    except base45.Base45Error as exc:
        raise QrError(f"the QR text is not Base45: {exc}") from exc
    cose = _loads(data, "QR's content")
    if isinstance(cose, cbor2.CBORTag):
        if cose.tag != COSE_SIGN1_TAG:
            raise QrError(f"the QR holds CBOR tag {cose.tag}, not a COSE_Sign1 (18): encrypted or another format")
        cose = cose.value
    # cbor2 reads a tagged array as an immutable tuple and its maps as frozendicts: any sequence and mapping will do.
    if not (isinstance(cose, list | tuple) and len(cose) == 4):
        raise QrError("the QR does not hold a COSE_Sign1 structure")
    protected_bytes, unprotected, payload, signature = cose
    if not isinstance(protected_bytes, bytes) or not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise QrError("the COSE_Sign1 structure is malformed")
    protected = _loads(protected_bytes, "COSE protected header") if protected_bytes else {}
    if not isinstance(protected, Mapping) or not isinstance(unprotected, Mapping):
        raise QrError("a COSE header is not a map")
    raw_kid = protected.get(COSE_KID, unprotected.get(COSE_KID))
    kid = raw_kid.decode("utf-8", "replace") if isinstance(raw_kid, bytes) else None
    cwt = _loads(payload, "CWT")
    if not isinstance(cwt, Mapping):
        raise QrError("the CWT is not a map")
    claims = cwt.get(CLAIM)
    if not isinstance(claims, Mapping):
        raise QrError("the QR carries no claim 169 (identity data)")
    holder, country, unknown = _holder(claims)
    cti = cwt.get(CWT_CTI)
    status = cwt.get(STATUS_CLAIM)
    issuer = cwt.get(CWT_ISS)
    return Decoded(
        holder=holder,
        kid=kid,
        alg=protected.get(COSE_ALG),
        issuer=issuer if isinstance(issuer, str) else None,
        card_number=cti.decode("ascii", "replace") if isinstance(cti, bytes) else None,
        issued_at=_when(cwt.get(CWT_IAT)),
        not_before=_when(cwt.get(CWT_NBF)),
        expires_at=_when(cwt.get(CWT_EXP)),
        status=_plain(status) if isinstance(status, Mapping) else None,
        country_of_issuance=country,
        unknown_claims=unknown,
        signed=sig_structure(protected_bytes, payload),
        signature=signature,
    )


def verify(text: str, find_key: FindKey, now: datetime | None = None, leeway_s: int = 60) -> Verification:
    """Decode and check: ES256 only, a published key by ``kid``, the signature, ``nbf`` and ``exp``."""
    decoded = decode(text)
    if decoded.alg != ES256:
        return Verification(False, "wrong-algorithm", decoded)
    key = find_key(decoded.kid) if decoded.kid else None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        return Verification(False, "unknown-key", decoded)
    if len(decoded.signature) != 64:
        return Verification(False, "bad-signature", decoded)
    r, s = int.from_bytes(decoded.signature[:32], "big"), int.from_bytes(decoded.signature[32:], "big")
    try:
        key.verify(encode_dss_signature(r, s), decoded.signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return Verification(False, "bad-signature", decoded)
    moment = (now or datetime.now(UTC)).timestamp()
    if decoded.not_before and decoded.not_before.timestamp() > moment + leeway_s:
        return Verification(False, "not-yet-valid", decoded)
    if decoded.expires_at and decoded.expires_at.timestamp() <= moment - leeway_s:
        return Verification(False, "expired", decoded)
    return Verification(True, None, decoded)
