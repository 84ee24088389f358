"""KYC attestations (POST /v1/kyc/attestations): a bank with private_key_jwt, the citizen's access token and
consent get a signed attestation that verifies offline with another JOSE library (joserfc) against the
published JWKS; every missing condition is refused with the error that tells the bank what to do."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from joserfc import jwt as jose_jwt
from sqlalchemy import select, update

from civid.audit import Actor
from idp.acr import ACR_FACE, ACR_PASSKEY, AMR
from idp.consent import revoke_consent
from models import Attestation, AuditEvent, Consent, DataRelease, utcnow
from tests.conftest import seeded_fixtures
from tests.idp.conftest import ClientKey, assertion_form, basic, register_client
from tests.kyc.banks import (
    ATTESTATIONS,
    attest,
    citizen_tokens,
    civid_jwks,
    client_auth,
    enrol_documented_citizen,
    login_session,
    register_bank,
    verified_request,
    verify_with_joserfc,
)

seed, settings, keys, citizen = seeded_fixtures(enrol_documented_citizen, "citizen")


def _events(services, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _error(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code, body
    return body


def test_bank_gets_an_attestation_that_joserfc_verifies_against_the_published_jwks(client, services, citizen):
    bank = register_bank(services)
    tokens = citizen_tokens(client, services, bank, citizen)
    response = attest(
        client,
        services,
        bank,
        tokens["access_token"],
        verified_claims=verified_request(["given_name", "family_name", "birthdate", "place_of_birth", "nationalities"]),
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"].startswith("no-store")
    body = response.json()
    assert body["format"] == "jwt" and response.headers["location"] == f"{ATTESTATIONS}/{body['id']}/status"

    header, claims = verify_with_joserfc(body["attestation"], civid_jwks(client))
    issuer = services.settings.resolved_issuer
    jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": bank.client_id},
        exp={"essential": True},
        jti={"essential": True, "value": body["id"]},
    ).validate(claims)
    assert header["typ"] == "kyc-attestation+jwt" and header["kid"]
    assert claims["exp"] - claims["iat"] == services.settings.attestation_ttl_s
    id_token = services.signing_keys.verify(tokens["id_token"], audience=bank.client_id)
    assert claims["sub"] == id_token["sub"] != citizen.uin  # pairwise for the bank
    assert claims["acr"] == ACR_FACE and claims["auth_time"] == id_token["auth_time"]
    verification = claims["verified_claims"]["verification"]
    assert verification["trust_framework"] == services.settings.kyc_trust_framework
    # Always stated, asked for or not: how strongly, when, and in which enrolment the person was verified.
    assert verification["assurance_level"] == services.settings.kyc_assurance_level_document
    assert verification["time"].endswith("Z") and verification["verification_process"]
    assert "evidence" not in verification  # not asked for (and consented apart)
    assert claims["verified_claims"]["claims"] == {
        "given_name": "Barack",
        "family_name": "Obama",
        "birthdate": "1988-03-14",
        "place_of_birth": {"locality": "Orange Walk Town, Belize"},
        "nationalities": ["BLZ"],
    }
    status = claims["status"]["status_list"]
    assert status == body["status"]["status_list"] and status["uri"] == f"{issuer}/v1/kyc/status-lists/1"

    with services.sessions() as db:
        row = db.scalars(select(Attestation)).one()
        assert (row.uid, row.client_id, row.status_index) == (body["id"], bank.client_id, status["idx"])
        assert row.claims == [
            f"verified_claims:{name}"
            for name in ("birthdate", "family_name", "given_name", "nationalities", "place_of_birth")
        ]
        release = db.scalars(select(DataRelease).where(DataRelease.channel == "attestation")).one()
        assert release.verified and release.detail["attestation"] == row.uid
        assert "verified_claims:given_name" in release.claims
    [event] = _events(services, "kyc.attestation_issued")
    assert event.subject_id == body["id"] and (event.client_id, event.person) == (bank.client_id, citizen.uin)
    assert "Barack" not in json.dumps(event.detail) and "1988" not in json.dumps(event.detail)  # names, not values


def test_evidence_and_assurance_level_come_from_the_enrolment(client, services, citizen):
    bank = register_bank(services)
    tokens = citizen_tokens(client, services, bank, citizen)
    request = verified_request(
        ["given_name"],
        assurance_level=None,
        time=None,
        verification_process=None,
        evidence=[
            {
                "type": {"value": "document"},
                "check_details": [{"check_method": None}],
                "document_details": {"type": None, "issuer": None},
            }
        ],
    )
    response = attest(client, services, bank, tokens["access_token"], verified_claims=request)
    assert response.status_code == 201, response.text
    _, claims = verify_with_joserfc(response.json()["attestation"], civid_jwks(client))
    verification = claims["verified_claims"]["verification"]
    assert verification["assurance_level"] == services.settings.kyc_assurance_level_document
    [passport] = verification["evidence"]
    assert passport["type"] == "document" and passport["document_details"]["type"] == "passport"
    assert {c["check_method"] for c in passport["check_details"]} == {"vpip", "pvp"}
    assert claims["verified_claims"]["claims"] == {"given_name": "Barack"}  # only what was asked for


def test_trust_framework_filter_that_does_not_match_attests_nothing(client, services, citizen):
    bank = register_bank(services)
    tokens = citizen_tokens(client, services, bank, citizen)
    response = attest(
        client,
        services,
        bank,
        tokens["access_token"],
        verified_claims=verified_request(trust_framework={"value": "eidas"}),
    )
    assert response.status_code == 422 and response.json()["type"].endswith("kyc/nothing-to-attest")
    with services.sessions() as db:
        assert db.scalars(select(Attestation)).first() is None


def test_client_without_the_kyc_entitlement_is_refused(client, services, citizen):
    portal = register_bank(services, name="Tourism portal", entitlements=())
    tokens = citizen_tokens(client, services, portal, citizen)
    _error(attest(client, services, portal, tokens["access_token"]), 403, "access_denied")


def test_only_private_key_jwt_is_accepted(client, services, citizen):
    secret_bank_id, secret = register_client(
        services, name="Secret bank", entitlements=["kyc"], token_endpoint_auth_method="client_secret_post"
    )
    auth = {"client_id": secret_bank_id, "client_secret": secret}
    body = _error(attest(client, services, None, "x", auth=auth), 401, "invalid_client")
    assert "private_key_jwt" in body["error_description"]
    response = client.post(
        ATTESTATIONS, json={"verified_claims": verified_request()}, headers=basic(secret_bank_id, secret)
    )
    _error(response, 401, "invalid_client")
    # A bank registered with a secret cannot switch to an assertion either: it must use its registered method.
    assertion = ClientKey().assertion(secret_bank_id, services.settings.resolved_issuer + ATTESTATIONS)
    _error(attest(client, services, None, "x", auth=assertion_form(assertion)), 401, "invalid_client")


def test_a_wrong_assertion_audience_names_the_audiences_this_kyc_endpoint_accepts(client, services, citizen):
    bank = register_bank(services)
    tokens = citizen_tokens(client, services, bank, citizen)
    issuer = services.settings.resolved_issuer
    body = _error(
        attest(client, services, bank, tokens["access_token"], auth=client_auth(bank, services, "/par")),
        401,
        "invalid_client",
    )
    said = body["error_description"]
    assert "token endpoint" not in said
    assert f"{issuer}{ATTESTATIONS}" in said and f"{issuer}/token" in said and f"{issuer} " in said
    issued = attest(client, services, bank, tokens["access_token"]).json()
    status_path = f"{ATTESTATIONS}/{issued['id']}/status"
    refused = client.post(status_path, json=client_auth(bank, services, ATTESTATIONS))
    said = _error(refused, 401, "invalid_client")["error_description"]
    assert f"{issuer}{status_path}" in said and "token endpoint" not in said


def test_a_token_issued_to_another_bank_is_refused(client, services, citizen):
    bank, other = register_bank(services), register_bank(services, name="Heritage Bank")
    tokens = citizen_tokens(client, services, bank, citizen)
    body = _error(attest(client, services, other, tokens["access_token"]), 401, "invalid_token")
    assert "another client" in body["error_description"]
    _error(attest(client, services, bank, None), 401, "invalid_token")  # no token at all
    _error(attest(client, services, bank, tokens["access_token"] + "x"), 401, "invalid_token")


def test_claims_outside_the_consent_are_refused_naming_them(client, services, citizen):
    bank = register_bank(services)
    tokens = citizen_tokens(
        client,
        services,
        bank,
        citizen,
        consent=["given_name", "verified_claims:given_name", "verified_claims:family_name"],
    )
    body = _error(attest(client, services, bank, tokens["access_token"]), 403, "insufficient_scope")
    assert body["missing_consent"] == ["verified_claims:birthdate"]
    evidence = verified_request(["given_name"], evidence=[{"type": {"value": "document"}}])
    body = _error(
        attest(client, services, bank, tokens["access_token"], verified_claims=evidence), 403, "insufficient_scope"
    )
    assert body["missing_consent"] == ["verified_claims:evidence"]
    ok = attest(client, services, bank, tokens["access_token"], verified_claims=verified_request(["given_name"]))
    assert ok.status_code == 201, ok.text


def test_after_the_citizen_withdraws_consent_no_attestation_is_issued(client, services, citizen):
    bank = register_bank(services)
    tokens = citizen_tokens(client, services, bank, citizen)
    assert attest(client, services, bank, tokens["access_token"]).status_code == 201
    # The citizen withdraws it on their account page (which then lists the attestation and the release).
    login_session(services, client, citizen)
    page = client.get("/account")
    with services.sessions() as db:
        consent_uid = db.scalars(select(Consent.uid).where(Consent.client_id == bank.client_id)).one()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = client.post(f"/account/consents/{consent_uid}/revoke", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    _error(attest(client, services, bank, tokens["access_token"]), 401, "invalid_token")
    with services.sessions() as db:
        assert len(db.scalars(select(Attestation)).all()) == 1


def test_consent_expired_or_revoked_behind_a_live_token_is_refused(client, services, citizen):
    bank = register_bank(services)
    tokens = citizen_tokens(client, services, bank, citizen)
    with services.sessions.begin() as db:
        db.execute(
            update(Consent)
            .where(Consent.client_id == bank.client_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    body = _error(attest(client, services, bank, tokens["access_token"]), 403, "insufficient_scope")
    assert "verified_claims:given_name" in body["missing_consent"]
    with services.sessions.begin() as db:
        consent = db.scalars(select(Consent).where(Consent.client_id == bank.client_id)).one()
        revoke_consent(db, consent, Actor(None, f"citizen:{citizen.uin}", "citizen"))
    _error(attest(client, services, bank, tokens["access_token"]), 401, "invalid_token")


def test_max_age_demands_a_fresh_login_rfc9470(client, services, citizen):
    bank = register_bank(services)
    stale = citizen_tokens(client, services, bank, citizen, logged_in_s_ago=3600)
    response = attest(client, services, bank, stale["access_token"], max_age=300)
    body = _error(response, 401, "insufficient_user_authentication")
    assert "max_age=300" in body["error_description"] and "/authorize" in body["error_description"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="civid", error="insufficient_user_authentication"')
    assert "max_age=300" in challenge and "acr_values" not in challenge
    fresh = citizen_tokens(client, services, bank, citizen)
    assert attest(client, services, bank, fresh["access_token"], max_age=300).status_code == 201


def test_acr_demands_a_passkey_login(client, services, citizen):
    bank = register_bank(services)
    face = citizen_tokens(client, services, bank, citizen)
    response = attest(client, services, bank, face["access_token"], acr=ACR_PASSKEY)
    _error(response, 401, "insufficient_user_authentication")
    assert f'acr_values="{ACR_PASSKEY}"' in response.headers["www-authenticate"]
    passkey = citizen_tokens(client, services, bank, citizen, acr=ACR_PASSKEY, amr=AMR["passkey"])
    ok = attest(client, services, bank, passkey["access_token"], acr=ACR_FACE, max_age=60)  # passkey meets face
    assert ok.status_code == 201, ok.text
    _, claims = verify_with_joserfc(ok.json()["attestation"], civid_jwks(client))
    assert claims["acr"] == ACR_PASSKEY and claims["amr"] == AMR["passkey"]


def test_malformed_requests_are_invalid_request(client, services, citizen):
    bank = register_bank(services)
    tokens = citizen_tokens(client, services, bank, citizen)
    token = tokens["access_token"]
    for body in (
        {"verified_claims": {"claims": {"given_name": None}}},  # no verification
        {"verified_claims": verified_request(), "format": "xml"},
        {"verified_claims": verified_request(), "max_age": -1},
        {"verified_claims": verified_request(), "max_age": 10**20},  # past 10 years: not a login's age
        {"verified_claims": verified_request(), "acr": "urn:other:acr"},
        {"verified_claims": verified_request(), "color": "blue"},
        {"verified_claims": verified_request(["email"])},
    ):  # nothing civid attests
        _error(attest(client, services, bank, token, **body), 400, "invalid_request")
    not_json = client.post(ATTESTATIONS, content=b"[1]", headers={"Content-Type": "application/json"})
    _error(not_json, 400, "invalid_request")


def test_sd_jwt_format_and_array_requests_are_accepted(client, services, citizen):
    bank = register_bank(services)
    tokens = citizen_tokens(client, services, bank, citizen)
    both = [verified_request(["given_name"]), verified_request(["birthdate"], trust_framework={"value": "eidas"})]
    response = attest(client, services, bank, tokens["access_token"], verified_claims=both)
    assert response.status_code == 201, response.text
    _, claims = verify_with_joserfc(response.json()["attestation"], civid_jwks(client))
    assert [obj["claims"] for obj in claims["verified_claims"]] == [{"given_name": "Barack"}]  # eidas: not met


def test_account_page_lists_releases_and_attestations_in_plain_words(client, services, keys, citizen):
    bank = register_bank(services, name="Atlantic Bank")
    tokens = citizen_tokens(client, services, bank, citizen)
    issued = attest(client, services, bank, tokens["access_token"]).json()
    login_session(services, client, citizen)
    english = client.get("/account?lang=en").text
    assert "Who received your data" in english and "Atlantic Bank" in english
    assert "Your name (verified at enrolment)" in english and "In a signed identity attestation" in english
    assert "Identity attestations issued to banks" in english and "Valid" in english
    spanish = client.get("/account?lang=es").text
    assert "Quién recibió sus datos" in spanish and "Su nombre (verificado en el registro)" in spanish
    revoked = client.post(
        f"{ATTESTATIONS}/{issued['id']}/revoke", json={"reason": "identity fraud confirmed"}, headers=keys.adjudicator
    )
    assert revoked.status_code == 200, revoked.text
    assert "Retirada" in client.get("/account?lang=es").text


def test_end_to_end_authorize_consent_token_then_attestation(client, services, citizen):
    """The whole integration a bank builds: the claims parameter asks for verified claims, the citizen logs
    in with their face and consents on the real pages, the bank redeems the code with private_key_jwt and
    asks for an attestation of what was consented."""
    from tests.idp.frontchannel import code_for, portal

    key = ClientKey()
    bank = portal(
        services,
        name="Atlantic Bank",
        token_endpoint_auth_method="private_key_jwt",
        jwks=key.jwks,
        entitlements=["kyc"],
    )
    wanted = verified_request(["given_name", "family_name", "birthdate"])
    query = code_for(client, bank, citizen, claims=json.dumps({"userinfo": {"verified_claims": wanted}}))
    issuer = services.settings.resolved_issuer
    tokens = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": bank.redirect_uri,
            "code_verifier": bank.verifier,
            **assertion_form(key.assertion(bank.client_id, issuer + "/token")),
        },
    )
    assert tokens.status_code == 200, tokens.text
    response = client.post(
        ATTESTATIONS,
        headers={"Authorization": f"Bearer {tokens.json()['access_token']}"},
        json={
            "verified_claims": wanted,
            "max_age": 600,
            **assertion_form(key.assertion(bank.client_id, issuer + ATTESTATIONS)),
        },
    )
    assert response.status_code == 201, response.text
    _, claims = verify_with_joserfc(response.json()["attestation"], civid_jwks(client))
    assert claims["verified_claims"]["claims"] == {
        "given_name": "Barack",
        "family_name": "Obama",
        "birthdate": "1988-03-14",
    }
    assert claims["amr"] == ["face"]


def test_a_form_encoded_request_is_accepted_too(client, services, citizen):
    bank = register_bank(services)
    tokens = citizen_tokens(client, services, bank, citizen)
    issuer = services.settings.resolved_issuer
    form = {
        "verified_claims": json.dumps(verified_request(["given_name"])),
        "format": "sd-jwt",
        "max_age": "600",
        **assertion_form(bank.key.assertion(bank.client_id, issuer + ATTESTATIONS)),
    }
    response = client.post(ATTESTATIONS, data=form, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 201, response.text
    assert response.json()["format"] == "sd-jwt"


def test_a_dpop_bound_token_is_accepted_only_with_its_proof(client, services, citizen):
    from tests.idp.conftest import issue_code
    from tests.idp.dpop_keys import DpopKey
    from tests.kyc.banks import CONSENTED

    bank, key = register_bank(services), DpopKey()
    issuer = services.settings.resolved_issuer
    issued = issue_code(services, bank.client_id, citizen, scope="openid profile", consent_claims=CONSENTED)
    form = {"grant_type": "authorization_code", "code": issued.code, "redirect_uri": issued.redirect_uri}
    token_response = client.post(
        "/token",
        data={**form, "code_verifier": issued.verifier, **client_auth(bank, services)},
        headers={"DPoP": key.proof("POST", issuer + "/token")},
    )
    assert token_response.status_code == 200 and token_response.json()["token_type"] == "DPoP", token_response.text
    token = token_response.json()["access_token"]
    _error(attest(client, services, bank, token), 401, "invalid_token")  # RFC 9449 §7.2: never as Bearer
    payload = {"verified_claims": verified_request(), **client_auth(bank, services, ATTESTATIONS)}
    proof = key.proof("POST", issuer + ATTESTATIONS, token=token)
    accepted = client.post(ATTESTATIONS, json=payload, headers={"Authorization": f"DPoP {token}", "DPoP": proof})
    assert accepted.status_code == 201, accepted.text
