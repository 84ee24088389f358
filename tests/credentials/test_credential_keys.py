"""The credential keys: apart from the OpenID keys, ES256, raw COSE-style signatures that verify with the published
key, and a retired key kept published for as long as the cards it signed are valid."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import select

from civid.errors import ConfigurationError
from models import SigningKey


def _verify_raw(public_key, data: bytes, signature: bytes) -> None:  # type: ignore[no-untyped-def]
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))


def test_credential_keys_are_published_apart_from_the_openid_keys(client, services):
    oidc = {key["kid"] for key in client.get("/jwks.json").json()["keys"]}
    response = client.get("/v1/credentials/jwks.json")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/jwk-set+json")
    credential = response.json()["keys"]
    assert [key["alg"] for key in credential] == ["ES256"] and credential[0]["crv"] == "P-256"
    assert not {key["kid"] for key in credential} & oidc
    assert all("d" not in key for key in credential)  # the public half only
    metadata = client.get("/.well-known/jwt-vc-issuer").json()
    assert metadata == {
        "issuer": services.settings.resolved_issuer,
        "jwks_uri": services.settings.resolved_issuer + "/v1/credentials/jwks.json",
    }


def test_a_raw_signature_verifies_with_the_published_key_and_not_after_a_change(client, services):
    kid, signature = services.credential_keys.sign_bytes(b"Signature1 structure")
    assert len(signature) == 64  # r || s, as COSE and JWS carry it
    jwk = next(key for key in client.get("/v1/credentials/jwks.json").json()["keys"] if key["kid"] == kid)
    public_key = jwt.PyJWK(jwk).key
    _verify_raw(public_key, b"Signature1 structure", signature)
    with pytest.raises(InvalidSignature):
        _verify_raw(public_key, b"Signature1 structurE", signature)
    assert services.credential_keys.public_key(kid) is not None
    assert services.credential_keys.public_key("no-such-kid") is None
    with pytest.raises(ConfigurationError):
        services.credential_keys.sign_bytes(b"x", alg="RS256")


def test_rotating_the_credential_key_leaves_the_openid_keys_alone_and_keeps_old_cards_verifiable(client, services):
    oidc_before = {s.kid: s.state for s in services.signing_keys.status()}
    old_kid, _ = services.credential_keys.sign_bytes(b"card")
    (new,) = services.credential_keys.rotate(lead_s=0)
    assert new.kid.startswith("cred-es256-") and new.purpose == "credential"
    assert services.credential_keys.sign_bytes(b"card")[0] == new.kid
    assert {s.kid: s.state for s in services.signing_keys.status()} == oidc_before
    states = {s.kid: s.state for s in services.credential_keys.status()}
    assert states == {old_kid: "retired", new.kid: "active"}
    with services.sessions() as session:
        old = session.scalars(select(SigningKey).where(SigningKey.kid == old_kid)).one()
        # A card is valid credential_validity_days: the key that signed it stays published that long.
        assert old.expires_at - old.retired_at == timedelta(days=services.settings.credential_validity_days)
    assert {key["kid"] for key in client.get("/v1/credentials/jwks.json").json()["keys"]} == {old_kid, new.kid}
    with pytest.raises(ConfigurationError):
        services.credential_keys.rotate(algs=("RS256",))


def test_civid_keys_rotate_credential_from_the_command_line(services, civid):
    before = {s.kid for s in services.credential_keys.status()}
    result = civid("keys", "rotate", "--credential", "--lead-seconds", "0")
    assert result.exit_code == 0, result.output
    services.credential_keys.forget_cache()
    after = {s.kid for s in services.credential_keys.status()}
    assert len(after - before) == 1 and "cred-es256-" in result.output
    refused = civid("keys", "rotate", "--credential", "--alg", "RS256")
    assert refused.exit_code != 0 and "unknown algorithm RS256" in refused.output
    status = civid("keys", "status", "--credential")
    assert status.exit_code == 0 and all(kid in status.output for kid in after)
