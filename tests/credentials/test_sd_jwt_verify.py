"""civid's SD-JWT verifier (credentials.sd_jwt_verify) against the independent ``sd-jwt`` package: an SD-JWT that
package issues with nested objects, array elements and decoys, presented by its holder, resolves to the same claims
in civid's code as in the package's own verifier; and the structural refusals RFC 9901 asks for."""

from __future__ import annotations

import base64
import hashlib
import json

import jwt
import pytest
from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from civid import sd_jwt
from credentials.sd_jwt_verify import Rejected, disclose, sd_hash, split

CLAIMS = {
    "iss": "https://id.example.gov.bz",
    SDObj("given_name"): "Adriana",
    "address": {SDObj("locality"): "Belmopan", SDObj("country"): "BZ"},
    SDObj("nationalities"): [SDObj("BZ"), "GT"],
}


def _payload(token: str) -> dict:
    return jwt.decode(token.split("~")[0], options={"verify_signature": False})


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_nested_and_array_disclosures_resolve_as_the_sd_jwt_package_resolves_them():
    issuer_key = JWK.generate(kty="EC", crv="P-256")
    issued = SDJWTIssuer(CLAIMS, issuer_key, sign_alg="ES256", add_decoy_claims=True).sd_jwt_issuance
    holder = SDJWTHolder(issued)
    holder.create_presentation({"given_name": True, "address": {"locality": True}, "nationalities": [True]})
    presentation = holder.sd_jwt_presentation
    theirs = SDJWTVerifier(presentation, lambda iss, header: issuer_key).get_verified_payload()
    parts = split(presentation)
    ours = disclose(_payload(presentation), parts.disclosures)
    assert ours == theirs
    assert ours["address"] == {"locality": "Belmopan"} and ours["nationalities"] == ["BZ", "GT"]
    assert parts.kb_jwt is None and parts.without_kb == presentation


def test_structural_refusals():
    concealed, disclosures = sd_jwt.conceal({"given_name": "Adriana", "family_name": "Castillo"})
    payload = {"iss": "x", **concealed}
    one = disclosures[0].encoded
    with pytest.raises(Rejected) as repeated:
        disclose(payload, [one, one])
    assert repeated.value.code == "duplicate_disclosure"
    with pytest.raises(Rejected) as forged:
        disclose(payload, [sd_jwt.disclose("given_name", "Eve").encoded])
    assert forged.value.code == "unreferenced_disclosure"
    with pytest.raises(Rejected) as garbage:
        disclose(payload, ["not-base64-json!"])
    assert garbage.value.code == "malformed_disclosure"
    # A disclosure may not overwrite a claim the issuer stated in the clear.
    clash = sd_jwt.disclose("iss", "https://forger.example")
    with pytest.raises(Rejected) as overwrite:
        disclose({"iss": "x", "_sd": [clash.digest]}, [clash.encoded])
    assert overwrite.value.code == "malformed_disclosure"
    # The same digest twice in the payload is refused even if presented once.
    with pytest.raises(Rejected) as twice:
        disclose({"_sd": [disclosures[0].digest], "nested": {"_sd": [disclosures[0].digest]}}, [one])
    assert twice.value.code == "duplicate_disclosure"
    with pytest.raises(Rejected) as reserved:
        sneaky = _b64(["salt", "_sd", ["x"]])
        disclose({"_sd": [sd_jwt.digest(sneaky)]}, [sneaky])
    assert reserved.value.code == "malformed_disclosure"
    for broken in ("no-tilde", "jwt~~", "~d~"):
        with pytest.raises(Rejected):
            split(broken)


def test_sd_hash_is_sha256_of_the_presentation_without_the_kb_jwt():
    expected = base64.urlsafe_b64encode(hashlib.sha256(b"a.b.c~d~").digest()).rstrip(b"=").decode()
    assert sd_hash("a.b.c~d~") == expected
