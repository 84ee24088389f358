"""The token endpoint's authorization_code grant: tokens issued, and every rule of redemption refused."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import jwt
from sqlalchemy import select, update

from idp.acr import ACR_FACE
from models import AuditEvent, AuthorizationCode, Grant, utcnow
from tests.conftest import seeded_fixtures
from tests.idp.conftest import REDIRECT_URI, basic, enrol_citizen, issue_code, redeem, register_client


def _populate(client, keys):  # type: ignore[no-untyped-def]
    return enrol_citizen(client, keys, given_name="Barack", family_name="Obama")


seed, settings, keys, citizen = seeded_fixtures(_populate, "citizen")


def _error(response, status: int, error: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert response.headers["cache-control"] == "no-store"
    return body


def _at_hash(token: str) -> str:
    digest = hashlib.sha256(token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def test_code_redemption_returns_signed_tokens_bound_to_the_login(client, services, citizen):
    client_id, secret = register_client(services)
    issued = issue_code(services, client_id, citizen, nonce="abc123")
    response = redeem(client, client_id, secret, issued)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0 and body["refresh_token"]
    assert body["scope"] == "openid profile email"
    issuer = services.settings.resolved_issuer

    id_token = services.signing_keys.verify(body["id_token"], audience=client_id)
    assert id_token["iss"] == issuer and id_token["aud"] == client_id and id_token["azp"] == client_id
    assert id_token["nonce"] == "abc123" and id_token["acr"] == ACR_FACE and id_token["amr"] == ["face"]
    assert id_token["at_hash"] == _at_hash(body["access_token"])
    assert id_token["sid"] and id_token["sub"] != citizen.uin and "uin" not in id_token
    assert jwt.get_unverified_header(body["id_token"])["alg"] == "ES256"
    assert "name" not in id_token  # scope claims go to UserInfo, not the ID token

    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt" and header["kid"]  # RFC 9068 §2.1
    access = services.signing_keys.verify(body["access_token"], audience=issuer, typ="at+jwt")
    assert access["client_id"] == client_id and access["sub"] == id_token["sub"] and access["jti"]
    assert access["scope"] == "openid profile email"
    with services.sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "oidc.tokens_issued")).all()
    assert events[-1].detail["grant_type"] == "authorization_code" and events[-1].subject_id == issued.grant_uid


def test_id_token_signed_with_the_clients_registered_algorithm(client, services, citizen):
    client_id, secret = register_client(services, id_token_signed_response_alg="RS256")
    body = redeem(client, client_id, secret, issue_code(services, client_id, citizen)).json()
    assert jwt.get_unverified_header(body["id_token"])["alg"] == "RS256"
    claims = services.signing_keys.verify(body["id_token"], audience=client_id)
    digest = hashlib.sha256(body["access_token"].encode()).digest()  # RS256 → SHA-256 left half
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def test_id_token_carries_consented_claims_asked_for_in_the_claims_parameter(client, services, citizen):
    client_id, secret = register_client(services)
    claims = {"id_token": {"given_name": {"essential": True}, "email": None}}
    issued = issue_code(services, client_id, citizen, claims=claims, consent_claims=["given_name"])
    id_token = services.signing_keys.verify(
        redeem(client, client_id, secret, issued).json()["id_token"], audience=client_id
    )
    assert id_token["given_name"] == "Barack" and "email" not in id_token  # email was not consented


def test_second_redemption_fails_and_revokes_the_tokens_of_the_first(client, services, citizen):
    client_id, secret = register_client(services)
    issued = issue_code(services, client_id, citizen)
    first = redeem(client, client_id, secret, issued).json()
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {first['access_token']}"}).status_code == 200

    _error(redeem(client, client_id, secret, issued), 400, "invalid_grant")

    rejected = client.get("/userinfo", headers={"Authorization": f"Bearer {first['access_token']}"})
    assert rejected.status_code == 401 and 'error="invalid_token"' in rejected.headers["www-authenticate"]
    introspected = client.post("/introspect", data={"token": first["access_token"]}, headers=basic(client_id, secret))
    assert introspected.json() == {"active": False}
    refreshed = client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        headers=basic(client_id, secret),
    )
    _error(refreshed, 400, "invalid_grant")
    with services.sessions() as session:
        grant = session.scalars(select(Grant).where(Grant.uid == issued.grant_uid)).one()
        assert grant.revoked_at is not None and grant.revoked_reason == "code_reuse"
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "oidc.grant_revoked")).first()


def test_wrong_code_verifier_is_refused(client, services, citizen):
    client_id, secret = register_client(services)
    issued = issue_code(services, client_id, citizen)
    body = _error(redeem(client, client_id, secret, issued, code_verifier="x" * 43), 400, "invalid_grant")
    assert "code_verifier" in body["error_description"]
    assert redeem(client, client_id, secret, issued).status_code == 200  # the code was not consumed


def test_missing_or_malformed_code_verifier_is_invalid_request(client, services, citizen):
    client_id, secret = register_client(services)
    issued = issue_code(services, client_id, citizen)
    _error(redeem(client, client_id, secret, issued, code_verifier=None), 400, "invalid_request")  # type: ignore[arg-type]
    _error(redeem(client, client_id, secret, issued, code_verifier="short"), 400, "invalid_request")
    _error(redeem(client, client_id, secret, issued, code_verifier="a" * 42 + "!"), 400, "invalid_request")
    _error(redeem(client, client_id, secret, issued, code_verifier="a" * 129), 400, "invalid_request")


def test_redirect_uri_must_match_exactly(client, services, citizen):
    client_id, secret = register_client(services)
    issued = issue_code(services, client_id, citizen)
    for variant in (
        REDIRECT_URI + "/",
        REDIRECT_URI.upper(),
        REDIRECT_URI + "?x=1",
        "https://portal.example.bz/",
        REDIRECT_URI.replace("https", "http"),
    ):
        _error(redeem(client, client_id, secret, issued, redirect_uri=variant), 400, "invalid_grant")
    _error(redeem(client, client_id, secret, issued, redirect_uri=None), 400, "invalid_request")  # type: ignore[arg-type]


def test_code_of_another_client_is_refused(client, services, citizen):
    owner_id, _ = register_client(services, name="Owner")
    thief_id, thief_secret = register_client(services, name="Thief")
    issued = issue_code(services, owner_id, citizen)
    _error(redeem(client, thief_id, thief_secret, issued), 400, "invalid_grant")


def test_expired_or_unknown_code_is_refused(client, services, citizen):
    client_id, secret = register_client(services)
    issued = issue_code(services, client_id, citizen)
    with services.sessions.begin() as session:
        session.execute(update(AuthorizationCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    _error(redeem(client, client_id, secret, issued), 400, "invalid_grant")
    _error(redeem(client, client_id, secret, issued, code="not-a-code"), 400, "invalid_grant")


def test_code_of_a_revoked_grant_is_refused(client, services, citizen):
    client_id, secret = register_client(services)
    issued = issue_code(services, client_id, citizen)
    with services.sessions.begin() as session:
        session.execute(update(Grant).values(revoked_at=Grant.created_at))
    _error(redeem(client, client_id, secret, issued), 400, "invalid_grant")


def test_token_endpoint_takes_form_encoding_only_and_each_parameter_once(client, services, citizen):
    client_id, secret = register_client(services)
    issued = issue_code(services, client_id, citizen)
    as_json = client.post(
        "/token", json={"grant_type": "authorization_code", "code": issued.code}, headers=basic(client_id, secret)
    )
    _error(as_json, 400, "invalid_request")
    body = (
        f"grant_type=authorization_code&code={issued.code}&code={issued.code}&redirect_uri={REDIRECT_URI}"
        f"&code_verifier={issued.verifier}"
    )
    twice = client.post(
        "/token",
        content=body,
        headers={**basic(client_id, secret), "Content-Type": "application/x-www-form-urlencoded"},
    )
    _error(twice, 400, "invalid_request")


def test_grant_type_is_required_and_must_be_supported(client, services):
    client_id, secret = register_client(services)
    _error(client.post("/token", data={}, headers=basic(client_id, secret)), 400, "invalid_request")
    for grant_type in ("password", "client_credentials", "implicit"):
        _error(
            client.post("/token", data={"grant_type": grant_type}, headers=basic(client_id, secret)),
            400,
            "unsupported_grant_type",
        )
