"""The ID card's QR against an independent Claim 169 implementation (the `claim169` package, MOSIP's format in
Rust): what civid signs, it decodes and verifies; what it signs with civid's key, civid verifies; and civid refuses
what it must (another key, a changed byte, another algorithm, an expired card, malformed or oversized input)."""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime, timedelta

import cbor2
import claim169
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from credentials import base45
from credentials.claim169 import CardHolder, QrError, decode, encode, verify

ISSUER = "https://id.gov.bz"
STATUS = {"status_list": {"idx": 4711, "uri": ISSUER + "/v1/credentials/status-lists/1"}}
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4  # JPEG magic, then bytes of every value
HOLDER = CardHolder(
    id="4058075267",
    full_name="Ana María Pérez Ñúñez",
    first_name="Ana",
    middle_name="María",
    last_name="Pérez Ñúñez",
    date_of_birth=date(1990, 4, 21),
    sex="F",
    nationality="BLZ",
    photo=PHOTO,
)
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def _qr(services, **overrides) -> str:  # type: ignore[no-untyped-def]
    fields = {
        "issuer": ISSUER,
        "card_number": "BZ4711000",
        "issued_at": NOW,
        "expires_at": NOW + timedelta(days=3650),
        "status": STATUS,
        "keys": services.credential_keys,
        "country": "BLZ",
    }
    return encode(overrides.pop("holder", HOLDER), **{**fields, **overrides})


def _sec1(services, kid: str) -> bytes:  # type: ignore[no-untyped-def]
    return services.credential_keys.public_key(kid).public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _find(services):  # type: ignore[no-untyped-def]
    return services.credential_keys.public_key


def test_base45_matches_the_rfc_examples_and_refuses_what_is_not_base45():
    assert base45.encode(b"AB") == "BB8" and base45.encode(b"Hello!!") == "%69 VD92EX0"
    assert base45.encode(b"base-45") == "UJCLQE7W581" and base45.decode("QED8WEX0") == b"ietf!"
    assert base45.decode(base45.encode(bytes(range(256)))) == bytes(range(256))
    for bad in ("GGW", "a1", "1234"):  # a group above 65535, lower case, a 3k+1 length
        with pytest.raises(ValueError):
            base45.decode(bad)


def test_the_independent_implementation_verifies_what_civid_signed_and_reads_every_field(services):
    text = _qr(services)
    kid = services.credential_keys.active_kid()
    assert claim169.inspect(text).key_id == kid.encode() and claim169.inspect(text).algorithm == "ES256"
    result = claim169.decode_with_ecdsa_p256(text, _sec1(services, kid), validate_timestamps=True)
    assert result.is_verified()
    c = result.claim169
    assert (c.id, c.full_name, c.first_name, c.middle_name, c.last_name) == (
        "4058075267",
        "Ana María Pérez Ñúñez",
        "Ana",
        "María",
        "Pérez Ñúñez",
    )
    assert (c.date_of_birth, c.gender, c.nationality, c.photo, c.photo_format) == ("19900421", 2, "BLZ", PHOTO, 1)
    assert c.country_of_issuance == "BLZ"
    meta = result.cwt_meta
    assert (meta.issuer, meta.issued_at, meta.expires_at) == (
        ISSUER,
        int(NOW.timestamp()),
        int((NOW + timedelta(days=3650)).timestamp()),
    )


def test_the_independent_implementation_refuses_a_changed_byte_and_another_key(services):
    text = _qr(services)
    kid = services.credential_keys.active_kid()
    cose = cbor2.loads(zlib.decompress(base45.decode(text)))
    protected, unprotected, payload, signature = cose.value
    forged = payload.replace(b"4058075267", b"4058075268")
    tampered = base45.encode(zlib.compress(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, forged, signature]))))
    with pytest.raises(claim169.SignatureError):
        claim169.decode_with_ecdsa_p256(tampered, _sec1(services, kid))
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(claim169.SignatureError):
        claim169.decode_with_ecdsa_p256(
            text, other.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
    assert verify(tampered, _find(services), NOW).reason == "bad-signature"


def test_civid_reads_back_its_own_qr_with_the_status_and_card_number(services):
    checked = verify(_qr(services), _find(services), NOW)
    assert checked.valid and checked.reason is None
    d = checked.decoded
    assert d.holder == HOLDER and d.kid == services.credential_keys.active_kid()
    assert (d.issuer, d.card_number, d.status, d.country_of_issuance) == (ISSUER, "BZ4711000", STATUS, "BLZ")
    assert d.expires_at == NOW + timedelta(days=3650) and d.issued_at == NOW


def test_civid_verifies_a_qr_the_independent_implementation_signed_with_civids_key(services):
    kid = services.credential_keys.active_kid()
    claims = claim169.Claim169Input(
        id="4058075267", full_name="Barack Obama", date_of_birth="1961-08-04", gender=1, photo=PHOTO, photo_format=4
    )
    meta = claim169.CwtMetaInput(issuer=ISSUER, expires_at=int((NOW + timedelta(days=30)).timestamp()))
    text = claim169.encode_with_signer(
        claims,
        meta,
        lambda alg, key_id, data: services.credential_keys.sign_bytes(data, kid=kid)[1],
        "ES256",
        kid.encode(),
    )
    checked = verify(text, _find(services), NOW)
    assert checked.valid, checked.reason
    h = checked.decoded.holder
    assert (h.id, h.full_name, h.date_of_birth, h.sex, h.photo, h.photo_format) == (
        "4058075267",
        "Barack Obama",
        date(1961, 8, 4),
        "M",
        PHOTO,
        "webp",
    )
    assert checked.decoded.status is None and checked.decoded.card_number is None


def test_civid_refuses_another_key_another_algorithm_and_an_expired_card(services):
    claims = claim169.Claim169Input(id="4058075267", full_name="Barack Obama")
    meta = claim169.CwtMetaInput(issuer=ISSUER, expires_at=int((NOW + timedelta(days=30)).timestamp()))
    stranger = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big")
    assert verify(claim169.encode_with_ecdsa_p256(claims, meta, stranger), _find(services), NOW).reason == "unknown-key"
    ed = ed25519.Ed25519PrivateKey.generate().private_bytes_raw()
    assert verify(claim169.encode_with_ed25519(claims, meta, ed), _find(services), NOW).reason == "wrong-algorithm"
    text = _qr(services, expires_at=NOW + timedelta(days=1))
    assert verify(text, _find(services), NOW + timedelta(days=2)).reason == "expired"
    assert verify(text, _find(services), NOW - timedelta(days=1)).reason == "not-yet-valid"
    # A key rotated out and expired is no longer published: its cards no longer verify.
    assert verify(text, lambda kid: None, NOW).reason == "unknown-key"


def test_malformed_or_oversized_input_is_a_reason_not_a_crash():
    cases = {
        "not base45": "hello world",
        "not zlib": base45.encode(b"plain bytes"),
        "zip bomb": base45.encode(zlib.compress(b"\0" * (1 << 20))),
        "not cbor": base45.encode(zlib.compress(b"\xff\xff")),
        "not cose": base45.encode(zlib.compress(cbor2.dumps({"a": 1}))),
        "encrypted": base45.encode(zlib.compress(cbor2.dumps(cbor2.CBORTag(16, [b"", {}, b""])))),
        "no claim 169": base45.encode(
            zlib.compress(cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -7}), {}, cbor2.dumps({1: "x"}), b""])))
        ),
        # An expiry 300 million years away or before year 1 (or no number at all): datetime cannot hold it.
        **{
            f"absurd date {exp!r}": base45.encode(
                zlib.compress(
                    cbor2.dumps(
                        cbor2.CBORTag(18, [cbor2.dumps({1: -7}), {}, cbor2.dumps({4: exp, 169: {1: "x"}}), b""])
                    )
                )
            )
            for exp in (10**16, -(10**16), float("nan"), float("inf"))
        },
    }
    for name, text in cases.items():
        with pytest.raises(QrError) as raised:
            decode(text)
        assert str(raised.value), name


def test_the_published_jwk_is_the_key_the_qr_names(client, services):
    kid = claim169.inspect(_qr(services)).key_id.decode()
    jwk = next(k for k in client.get("/v1/credentials/jwks.json").json()["keys"] if k["kid"] == kid)
    assert verify(_qr(services), lambda k: jwt.PyJWK(jwk).key if k == kid else None, NOW).valid
