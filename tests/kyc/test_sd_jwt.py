"""SD-JWT attestations: each verified claim a salted Disclosure, digests (and decoys) in the signed JWT; a
bank presents a subset and an independent verifier (the ``sd-jwt`` reference implementation of the
OpenWallet Foundation, on jwcrypto) sees exactly that subset. Digests are also recomputed with hashlib."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

from civid import sd_jwt
from kyc.attestations import SD_PAD_TO, VCT
from tests.conftest import seeded_fixtures
from tests.kyc.banks import (
    attest,
    citizen_tokens,
    civid_jwks,
    enrol_documented_citizen,
    register_bank,
    verified_request,
    verify_with_joserfc,
)

seed, settings, keys, citizen = seeded_fixtures(enrol_documented_citizen, "citizen")
ASKED = ["given_name", "family_name", "birthdate", "address", "nationalities"]


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sd_jwt_attestation(client, services, citizen, claims=ASKED) -> str:  # type: ignore[no-untyped-def]
    bank = register_bank(services)
    tokens = citizen_tokens(client, services, bank, citizen)
    response = attest(
        client,
        services,
        bank,
        tokens["access_token"],
        format="sd-jwt",
        verified_claims=verified_request(claims, evidence=[{"type": {"value": "document"}}]),
    )
    assert response.status_code == 201, response.text
    assert response.json()["format"] == "sd-jwt"
    return response.json()["attestation"]


def _verify_independently(client, presentation: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The sd-jwt library verifies the issuer signature (jwcrypto, key from /jwks.json) and the disclosures."""
    jwks = client.get("/jwks.json").json()

    def issuer_key(issuer: str, header: dict[str, Any]) -> JWK:
        return JWK(**next(k for k in jwks["keys"] if k["kid"] == header["kid"]))

    return SDJWTVerifier(presentation, issuer_key).get_verified_payload()


def test_digest_matches_the_specifications_example():
    # SD-JWT, "Hashing Disclosures": the digest of this Disclosure of family_name "Möbius".
    assert (
        sd_jwt.digest("WyI2cU1RdlJMNWhhaiIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0")
        == "uutlBuYeMDyjLLTpf6Jxi7yNkEF35jdyWMn9U7b_RYY"
    )


def test_conceal_pads_with_decoys_and_hides_the_order():
    concealed, disclosures = sd_jwt.conceal({"b": 1, "a": "ü"}, pad_to=5)
    assert len(concealed["_sd"]) == 5 and concealed["_sd"] == sorted(concealed["_sd"])
    assert {d.digest for d in disclosures} < set(concealed["_sd"])
    salt, name, value = json.loads(_b64decode(disclosures[1].encoded))
    assert (name, value) == ("a", "ü") and len(_b64decode(salt)) == sd_jwt.SALT_BYTES
    assert len({d.salt for d in disclosures}) == 2  # a fresh salt per claim


def test_issuer_signed_jwt_carries_only_digests_of_the_claims(client, services, citizen):
    issued = _sd_jwt_attestation(client, services, citizen)
    assert issued.endswith("~")
    issuer_jwt, *disclosures, key_binding = issued.split("~")
    assert key_binding == "" and len(disclosures) == len(ASKED) + 1  # and the evidence
    header, payload = verify_with_joserfc(issuer_jwt, civid_jwks(client))  # a second, independent JOSE library
    assert header["typ"] == "dc+sd-jwt" and payload["vct"] == VCT and payload["_sd_alg"] == "sha-256"
    assert "aud" not in payload and payload["status"]["status_list"]["uri"].endswith("/v1/kyc/status-lists/1")
    concealed = payload["verified_claims"]["claims"]
    assert set(concealed) == {"_sd"} and len(concealed["_sd"]) == SD_PAD_TO  # decoys: the count is hidden
    assert "Barack" not in json.dumps(payload) and "1988-03-14" not in json.dumps(payload)
    # Framework, level and time stay in plain view; the evidence (it may hold a document number) is disclosable.
    verification = payload["verified_claims"]["verification"]
    assert verification["trust_framework"] and verification["assurance_level"] and "evidence" not in verification
    digests = set(concealed["_sd"]) | set(verification["_sd"])
    for disclosure in disclosures:  # recomputed with hashlib: base64url(SHA-256(ASCII of the Disclosure))
        expected = base64.urlsafe_b64encode(hashlib.sha256(disclosure.encode("ascii")).digest()).rstrip(b"=").decode()
        assert expected in digests


def test_a_presented_subset_of_disclosures_reveals_exactly_that_subset(client, services, citizen):
    issued = _sd_jwt_attestation(client, services, citizen)
    issuer_jwt, *disclosures, _ = issued.split("~")
    by_name = {json.loads(_b64decode(d))[1]: d for d in disclosures}
    assert set(by_name) == {*ASKED, "evidence"}
    everything = _verify_independently(client, issued)
    assert everything["verified_claims"]["claims"]["given_name"] == "Barack"
    assert everything["verified_claims"]["claims"]["address"]["locality"] == "Belize City"
    assert everything["verified_claims"]["verification"]["evidence"][0]["type"] == "document"

    # The bank shows a third party only the name and date of birth.
    presentation = "~".join([issuer_jwt, by_name["given_name"], by_name["birthdate"]]) + "~"
    shown = _verify_independently(client, presentation)
    assert shown["verified_claims"]["claims"] == {"given_name": "Barack", "birthdate": "1988-03-14"}
    assert shown["iss"] == services.settings.resolved_issuer and shown["vct"] == VCT
    assert "evidence" not in shown["verified_claims"]["verification"]
    nothing = _verify_independently(client, issuer_jwt + "~")
    assert nothing["verified_claims"]["claims"] == {}


def test_a_forged_disclosure_matches_no_digest(client, services, citizen):
    issued = _sd_jwt_attestation(client, services, citizen, ["birthdate"])
    issuer_jwt, *disclosures, _ = issued.split("~")
    [genuine] = [d for d in disclosures if json.loads(_b64decode(d))[1] == "birthdate"]
    salt, name, _value = json.loads(_b64decode(genuine))
    forged = base64.urlsafe_b64encode(json.dumps([salt, name, "1970-01-01"]).encode()).rstrip(b"=").decode()
    _, payload = verify_with_joserfc(issuer_jwt, civid_jwks(client))
    assert sd_jwt.digest(forged) not in payload["verified_claims"]["claims"]["_sd"]
    shown = _verify_independently(client, f"{issuer_jwt}~{forged}~")
    assert "birthdate" not in shown["verified_claims"]["claims"]  # the forged value is never accepted
