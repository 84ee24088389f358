"""Key binding of SD-JWT attestations (RFC 9901 "Key Binding", SD-JWT VC ``cnf``): the issuer-signed JWT
confirms the bank's key, and the independent ``sd-jwt`` reference implementation (on jwcrypto) plays both
the bank presenting with a Key Binding JWT and a third party that requires one. Real keys throughout."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwcrypto.jwk import JWK
from jwcrypto.jws import InvalidJWSObject, InvalidJWSSignature
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from sd_jwt.holder import SDJWTHolder
from sd_jwt.verifier import SDJWTVerifier
from sqlalchemy import func, select

from idp import client_auth
from models import Attestation, AuditEvent, DataRelease
from tests.conftest import seeded_fixtures
from tests.idp.conftest import ClientKey, assertion_form, register_client
from tests.idp.jwks_server import JwksServer
from tests.kyc.banks import (
    ATTESTATIONS,
    Bank,
    attest,
    citizen_tokens,
    civid_jwks,
    enrol_documented_citizen,
    register_bank,
    verified_request,
    verify_with_joserfc,
)

seed, settings, keys, citizen = seeded_fixtures(enrol_documented_citizen, "citizen")
ASKED = ["given_name", "family_name", "birthdate", "address"]
SHOW = {"verified_claims": {"claims": {"given_name": True, "birthdate": True}}}  # what the bank discloses
VERIFIER = "https://insurer.example.bz"  # the third party the bank presents to (the KB-JWT's aud)


def _issue(client, services, bank: Bank, citizen, **body: Any):  # type: ignore[no-untyped-def]
    """Ask for an SD-JWT attestation of ASKED as ``bank`` (``body``: more request members)."""
    tokens = citizen_tokens(client, services, bank, citizen)
    return attest(
        client, services, bank, tokens["access_token"], format="sd-jwt", verified_claims=verified_request(ASKED), **body
    )


def _issued(client, services, bank: Bank, citizen, **body: Any) -> str:  # type: ignore[no-untyped-def]
    response = _issue(client, services, bank, citizen, **body)
    assert response.status_code == 201, response.text
    return response.json()["attestation"]


def _public_jwk(public_key: Any) -> dict[str, Any]:
    """The RFC 7638 members of a public key, computed here with PyJWT (not civid's code)."""
    full = ECAlgorithm.to_jwk(public_key, as_dict=True)
    return {name: full[name] for name in ("kty", "crv", "x", "y")}


def _present(issued: str, private_key: Any, nonce: str, aud: str = VERIFIER) -> str:
    """The bank's presentation: a subset of the disclosures and a KB-JWT signed with ``private_key``."""
    holder = SDJWTHolder(issued)
    holder.create_presentation(SHOW, nonce=nonce, aud=aud, holder_key=JWK.from_pyca(private_key), sign_alg="ES256")
    return holder.sd_jwt_presentation


def _verify(
    client,
    presentation: str,
    nonce: str | None,  # type: ignore[no-untyped-def]
    aud: str | None = VERIFIER,
) -> dict[str, Any]:
    """The third party's check: civid's signature (key from /jwks.json), the disclosures and, when ``nonce``
    and ``aud`` are expected, the Key Binding JWT against ``cnf``."""
    jwks = client.get("/jwks.json").json()

    def issuer_key(issuer: str, header: dict[str, Any]) -> JWK:
        return JWK(**next(k for k in jwks["keys"] if k["kid"] == header["kid"]))

    return SDJWTVerifier(presentation, issuer_key, expected_aud=aud, expected_nonce=nonce).get_verified_payload()


def _stored(services) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """(attestations, data releases, KYC release audit events) in the database."""
    with services.sessions() as db:
        released = (
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action.in_(["kyc.attestation_issued", "kyc.verified_claims_released"]))
        )
        return (
            db.scalar(select(func.count()).select_from(Attestation)) or 0,
            db.scalar(select(func.count()).select_from(DataRelease)) or 0,
            db.scalar(released) or 0,
        )


def test_bank_presents_a_subset_with_a_key_binding_jwt_and_the_verifier_accepts(client, services, citizen):
    bank = register_bank(services)
    response = _issue(client, services, bank, citizen)
    assert response.status_code == 201, response.text
    issued = response.json()["attestation"]
    assert issued.endswith("~")  # as issued: no KB-JWT, the holder adds one when presenting
    bank_key = _public_jwk(bank.key.private.public_key())
    _, payload = verify_with_joserfc(issued.split("~")[0], civid_jwks(client))
    assert payload["cnf"] == {"jwk": bank_key}  # bound to the key its client assertion was signed with
    assert response.json()["cnf"] == {"jwk": bank_key}

    nonce = secrets.token_urlsafe(16)
    shown = _verify(client, _present(issued, bank.key.private, nonce), nonce)
    assert shown["verified_claims"]["claims"] == {"given_name": "Barack", "birthdate": "1988-03-14"}
    assert shown["cnf"] == {"jwk": bank_key} and shown["iss"] == services.settings.resolved_issuer

    with services.sessions() as db:  # the audit trail names the bound key by its RFC 7638 thumbprint
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "kyc.attestation_issued")).one()
    assert event.detail["holder_jkt"] == JWK(**bank_key).thumbprint()


def test_a_presentation_without_a_key_binding_jwt_is_refused_when_binding_is_required(client, services, citizen):
    bank = register_bank(services)
    issued = _issued(client, services, bank, citizen)
    holder = SDJWTHolder(issued)
    holder.create_presentation(SHOW)  # disclosures only, no KB-JWT: what someone holding a copy can make
    copied = holder.sd_jwt_presentation
    assert copied.endswith("~")
    assert _verify(client, copied, nonce=None, aud=None)["verified_claims"]["claims"]  # signature and digests fine
    with pytest.raises(InvalidJWSObject):  # the empty KB-JWT after the last "~" is no JWS
        _verify(client, copied, nonce=secrets.token_urlsafe(16))
    with pytest.raises(InvalidJWSObject):
        _verify(client, issued, nonce=secrets.token_urlsafe(16))


def test_a_key_binding_jwt_signed_by_another_key_is_refused(client, services, citizen):
    bank = register_bank(services)
    issued = _issued(client, services, bank, citizen)
    nonce = secrets.token_urlsafe(16)
    thief = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(InvalidJWSSignature):
        _verify(client, _present(issued, thief, nonce), nonce)
    other_bank = register_bank(services, name="Other Bank")  # even another bank's registered key
    with pytest.raises(InvalidJWSSignature):
        _verify(client, _present(issued, other_bank.key.private, nonce), nonce)
    assert _verify(client, _present(issued, bank.key.private, nonce), nonce)  # the bank's own key: accepted


def test_a_key_binding_jwt_for_another_nonce_or_audience_is_refused(client, services, citizen):
    bank = register_bank(services)
    issued = _issued(client, services, bank, citizen)
    nonce = secrets.token_urlsafe(16)
    presentation = _present(issued, bank.key.private, nonce)
    assert _verify(client, presentation, nonce)
    with pytest.raises(ValueError, match="nonce"):  # a replay to the same verifier, which asked with a fresh nonce
        _verify(client, presentation, secrets.token_urlsafe(16))
    with pytest.raises(ValueError, match="audience"):  # made for VERIFIER, replayed to another verifier
        _verify(client, presentation, nonce, aud="https://other-verifier.example.bz")


def test_a_holder_jwk_that_is_not_a_registered_key_of_the_bank_is_refused_and_nothing_is_stored(
    client, services, citizen
):
    bank = register_bank(services)
    other_bank = register_bank(services, name="Other Bank")
    private_ec = ECAlgorithm.to_jwk(bank.key.private, as_dict=True)
    refused = [
        _public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()),  # a key nobody registered
        other_bank.key.jwks["keys"][0],  # another bank's registered key
        {**private_ec, "kid": bank.key.kid},  # the bank's own key, but with its private part
        ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1()).public_key(), as_dict=True),  # not P-256
        RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 1024).public_key(), as_dict=True),  # too short
        {"kty": "oct", "k": "c2VjcmV0"},  # a symmetric key
        {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"},  # not a point
        "not a JWK",
    ]
    token = citizen_tokens(client, services, bank, citizen)["access_token"]
    before = _stored(services)
    for holder_jwk in refused:
        response = attest(
            client,
            services,
            bank,
            token,
            format="sd-jwt",
            verified_claims=verified_request(ASKED),
            holder_jwk=holder_jwk,
        )
        assert response.status_code == 400, response.text
        problem = response.json()  # RFC 6749 §5.2 members with the RFC 9457 ones beside them (civid.problems)
        assert problem["error"] == "invalid_request" and problem["status"] == 400 and problem["type"]
        assert "holder_jwk" in problem["error_description"]
        assert private_ec["d"] not in response.text
    as_jwt = attest(client, services, bank, token, format="jwt", holder_jwk=bank.key.jwks["keys"][0])
    assert as_jwt.status_code == 400 and as_jwt.json()["error"] == "invalid_request"  # a JWS is never key-bound
    assert _stored(services) == before  # no attestation, no data release, no audited release


def test_a_bank_authenticating_with_ed25519_binds_another_registered_key_named_as_holder_jwk(client, services, citizen):
    signing = ed25519.Ed25519PrivateKey.generate()
    presenting = ec.generate_private_key(ec.SECP256R1())
    jwks = {
        "keys": [
            {**OKPAlgorithm.to_jwk(signing.public_key(), as_dict=True), "kid": "auth", "use": "sig"},
            {**_public_jwk(presenting.public_key()), "kid": "present", "alg": "ES256"},
        ]
    }
    client_id, _ = register_client(
        services, name="Ed Bank", token_endpoint_auth_method="private_key_jwt", jwks=jwks, entitlements=["kyc"]
    )
    bank = Bank(client_id, ClientKey(kid="present", private=presenting))  # for its /token call only
    tokens = citizen_tokens(client, services, bank, citizen)

    def eddsa_auth() -> dict[str, str]:
        issuer = services.settings.resolved_issuer
        claims = {
            "iss": client_id,
            "sub": client_id,
            "aud": issuer + ATTESTATIONS,
            "jti": secrets.token_urlsafe(16),
            "exp": int(time.time()) + 60,
        }
        return assertion_form(jwt.encode(claims, signing, algorithm="EdDSA", headers={"kid": "auth"}))

    def ask(**body: Any):  # type: ignore[no-untyped-def]
        return attest(client, services, None, tokens["access_token"], auth=eddsa_auth(), format="sd-jwt", **body)

    not_bindable = ask()  # the assertion's key is Ed25519: an SD-JWT binds EC P-256 or RSA only
    assert not_bindable.status_code == 400 and "holder_jwk" in not_bindable.json()["error_description"]
    response = ask(holder_jwk=jwks["keys"][1])  # as registered, kid and alg included
    assert response.status_code == 201, response.text
    issued = response.json()["attestation"]
    assert response.json()["cnf"] == {"jwk": _public_jwk(presenting.public_key())}
    nonce = secrets.token_urlsafe(16)
    assert _verify(client, _present(issued, presenting, nonce), nonce)["verified_claims"]["claims"]


@pytest.fixture
def two_key_bank(services, monkeypatch) -> Iterator[tuple[Bank, Any]]:  # type: ignore[no-untyped-def]
    """A bank whose jwks_uri lists its authentication key and a second key it presents with."""
    monkeypatch.setattr(services.settings, "outbound_allow_private", True)  # the bank serves on loopback here
    auth, presenting = ClientKey(), ec.generate_private_key(ec.SECP256R1())
    keys = [auth.jwks["keys"][0], {**_public_jwk(presenting.public_key()), "kid": "present", "use": "sig"}]
    server = JwksServer({"keys": keys})
    client_auth.JWKS_CACHE.clear()
    client_id, _ = register_client(
        services,
        name="Uri Bank",
        token_endpoint_auth_method="private_key_jwt",
        jwks_uri=server.url,
        entitlements=["kyc"],
    )
    yield Bank(client_id, auth), presenting
    server.stop()
    client_auth.JWKS_CACHE.clear()


def test_a_holder_jwk_from_the_banks_jwks_uri_set_is_bound(client, services, citizen, two_key_bank):
    bank, presenting = two_key_bank
    presenting_jwk = _public_jwk(presenting.public_key())
    issued = _issued(client, services, bank, citizen, holder_jwk=presenting_jwk)
    _, payload = verify_with_joserfc(issued.split("~")[0], civid_jwks(client))
    assert payload["cnf"] == {"jwk": presenting_jwk}
    nonce = secrets.token_urlsafe(16)
    assert _verify(client, _present(issued, presenting, nonce), nonce)
    with pytest.raises(InvalidJWSSignature):  # bound to the named key, not to the one that authenticated
        _verify(client, _present(issued, bank.key.private, nonce), nonce)


def test_the_plain_jwt_form_is_not_key_bound(client, services, citizen):
    bank = register_bank(services)
    response = attest(client, services, bank, citizen_tokens(client, services, bank, citizen)["access_token"])
    assert response.status_code == 201, response.text
    header, claims = verify_with_joserfc(response.json()["attestation"], civid_jwks(client))
    assert header["typ"] == "kyc-attestation+jwt" and "cnf" not in claims and "cnf" not in response.json()
