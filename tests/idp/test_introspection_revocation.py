"""Introspection (RFC 7662) and revocation (RFC 7009): client-authenticated, each client sees only its own."""

from __future__ import annotations

from sqlalchemy import select

from models import AuditEvent, Grant
from tests.conftest import seeded_fixtures
from tests.idp.conftest import basic, enrol_citizen, issue_code, redeem, register_client


def _populate(client, keys):  # type: ignore[no-untyped-def]
    return enrol_citizen(client, keys, given_name="Barack", family_name="Obama")


seed, settings, keys, citizen = seeded_fixtures(_populate, "citizen")


def _tokens(client, services, citizen, name="Portal"):  # type: ignore[no-untyped-def]
    client_id, secret = register_client(services, name=name)
    issued = issue_code(services, client_id, citizen)
    return client_id, secret, redeem(client, client_id, secret, issued).json(), issued


def _introspect(client, client_id, secret, token, hint=None):  # type: ignore[no-untyped-def]
    data = {"token": token, **({"token_type_hint": hint} if hint else {})}
    response = client.post("/introspect", data=data, headers=basic(client_id, secret))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


def _revoke(client, client_id, secret, token, hint=None):  # type: ignore[no-untyped-def]
    data = {"token": token, **({"token_type_hint": hint} if hint else {})}
    return client.post("/revoke", data=data, headers=basic(client_id, secret))


def test_introspection_describes_an_active_access_and_refresh_token(client, services, citizen):
    client_id, secret, body, _ = _tokens(client, services, citizen)
    access = _introspect(client, client_id, secret, body["access_token"])
    assert access["active"] is True and access["client_id"] == client_id and access["token_type"] == "Bearer"
    assert access["scope"] == "openid profile email" and access["exp"] > access["iat"]
    assert access["sub"] == services.signing_keys.verify(body["id_token"], audience=client_id)["sub"]
    refresh = _introspect(client, client_id, secret, body["refresh_token"], hint="refresh_token")
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token" and refresh["sub"] == access["sub"]
    # A wrong hint is only a hint (RFC 7662 §2.1).
    assert _introspect(client, client_id, secret, body["refresh_token"], hint="access_token")["active"] is True


def test_a_client_cannot_introspect_another_clients_token(client, services, citizen):
    _, _, body, _ = _tokens(client, services, citizen)
    other_id, other_secret = register_client(services, name="Other")
    assert _introspect(client, other_id, other_secret, body["access_token"]) == {"active": False}
    assert _introspect(client, other_id, other_secret, body["refresh_token"]) == {"active": False}


def test_introspection_needs_client_authentication_and_a_token(client, services, citizen):
    client_id, secret, body, _ = _tokens(client, services, citizen)
    assert client.post("/introspect", data={"token": body["access_token"]}).status_code == 401
    assert (
        client.post("/introspect", data={"token": body["access_token"]}, headers=basic(client_id, "wrong")).status_code
        == 401
    )
    missing = client.post("/introspect", data={}, headers=basic(client_id, secret))
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    assert _introspect(client, client_id, secret, "garbage") == {"active": False}


def test_revoking_an_access_token_revokes_only_that_token(client, services, citizen):
    client_id, secret, body, _ = _tokens(client, services, citizen)
    response = _revoke(client, client_id, secret, body["access_token"], hint="access_token")
    assert response.status_code == 200 and response.content == b""
    assert _introspect(client, client_id, secret, body["access_token"]) == {"active": False}
    assert _introspect(client, client_id, secret, body["refresh_token"])["active"] is True
    with services.sessions() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "oidc.token_revoked")).one()


def test_revoking_a_refresh_token_revokes_the_grant(client, services, citizen):
    client_id, secret, body, issued = _tokens(client, services, citizen)
    assert _revoke(client, client_id, secret, body["refresh_token"]).status_code == 200  # no hint: still found
    assert _introspect(client, client_id, secret, body["access_token"]) == {"active": False}
    assert _introspect(client, client_id, secret, body["refresh_token"]) == {"active": False}
    with services.sessions() as session:
        assert (
            session.scalars(select(Grant.revoked_reason).where(Grant.uid == issued.grant_uid)).one()
            == "refresh_token_revoked"
        )


def test_revoking_unknown_or_already_revoked_tokens_answers_200(client, services, citizen):
    client_id, secret, body, _ = _tokens(client, services, citizen)
    assert _revoke(client, client_id, secret, "unknown-token").status_code == 200  # RFC 7009 §2.2
    assert _revoke(client, client_id, secret, body["refresh_token"]).status_code == 200
    assert _revoke(client, client_id, secret, body["refresh_token"]).status_code == 200


def test_a_client_cannot_revoke_another_clients_token(client, services, citizen):
    client_id, secret, body, _ = _tokens(client, services, citizen)
    other_id, other_secret = register_client(services, name="Other")
    refused = _revoke(client, other_id, other_secret, body["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    assert _revoke(client, other_id, other_secret, body["access_token"]).status_code == 400
    assert _introspect(client, client_id, secret, body["refresh_token"])["active"] is True
    assert client.post("/revoke", data={"token": body["refresh_token"]}).status_code == 401
