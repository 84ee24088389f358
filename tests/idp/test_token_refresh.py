"""The refresh_token grant: rotation, reuse detection revoking the family, scope narrowing, ended grants."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from idp.consent import client_consent, revoke_consent
from models import AuditEvent, Grant, RefreshToken, utcnow
from tests.conftest import seeded_fixtures
from tests.idp.conftest import basic, enrol_citizen, issue_code, redeem, register_client


def _populate(client, keys):  # type: ignore[no-untyped-def]
    return enrol_citizen(client, keys, given_name="Barack", family_name="Obama")


seed, settings, keys, citizen = seeded_fixtures(_populate, "citizen")


def _refresh(client, client_id, secret, refresh_token, **extra):  # type: ignore[no-untyped-def]
    return client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, **extra},
        headers=basic(client_id, secret),
    )


def _error(response, error: str, status: int = 400) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.json()


def _tokens(client, services, citizen, **meta):  # type: ignore[no-untyped-def]
    client_id, secret = register_client(services, **meta)
    issued = issue_code(services, client_id, citizen)
    body = redeem(client, client_id, secret, issued).json()
    return client_id, secret, body, issued


def _active(client, client_id, secret, token) -> bool:  # type: ignore[no-untyped-def]
    return client.post("/introspect", data={"token": token}, headers=basic(client_id, secret)).json()["active"]


def test_refresh_rotates_the_refresh_token_and_issues_new_tokens(client, services, citizen):
    client_id, secret, first, _ = _tokens(client, services, citizen)
    response = _refresh(client, client_id, secret, first["refresh_token"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    id_token = services.signing_keys.verify(second["id_token"], audience=client_id)
    assert "nonce" not in id_token  # OIDC Core §12.2
    original = services.signing_keys.verify(first["id_token"], audience=client_id)
    assert id_token["sub"] == original["sub"] and id_token["auth_time"] == original["auth_time"]
    assert not _active(client, client_id, secret, first["refresh_token"])
    assert _active(client, client_id, secret, second["refresh_token"])
    with services.sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "oidc.tokens_issued")).all()
    assert [e.detail["grant_type"] for e in events] == ["authorization_code", "refresh_token"]


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(client, services, citizen):
    client_id, secret, first, issued = _tokens(client, services, citizen)
    second = _refresh(client, client_id, secret, first["refresh_token"]).json()

    _error(_refresh(client, client_id, secret, first["refresh_token"]), "invalid_grant")

    _error(_refresh(client, client_id, secret, second["refresh_token"]), "invalid_grant")  # the new one too
    assert not _active(client, client_id, secret, second["access_token"])
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {second['access_token']}"}).status_code == 401
    with services.sessions() as session:
        grant = session.scalars(select(Grant).where(Grant.uid == issued.grant_uid)).one()
        assert grant.revoked_reason == "refresh_token_reuse"
        revoked = session.scalars(select(RefreshToken.revoked_at).where(RefreshToken.grant_id == grant.id)).all()
        assert all(revoked)


def test_refresh_may_narrow_the_scope_but_not_widen_it(client, services, citizen):
    client_id, secret, first, _ = _tokens(client, services, citizen)
    _error(_refresh(client, client_id, secret, first["refresh_token"], scope="openid profile phone"), "invalid_scope")
    narrowed = _refresh(client, client_id, secret, first["refresh_token"], scope="openid profile")
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["scope"] == "openid profile"
    userinfo = client.get("/userinfo", headers={"Authorization": f"Bearer {narrowed.json()['access_token']}"}).json()
    assert "given_name" in userinfo and "email" not in userinfo
    # The family keeps the original grant: the next refresh may ask for everything granted again.
    full = _refresh(client, client_id, secret, narrowed.json()["refresh_token"])
    assert full.json()["scope"] == "openid profile email"


def test_refresh_token_of_another_client_is_refused(client, services, citizen):
    _, _, first, _ = _tokens(client, services, citizen)
    other_id, other_secret = register_client(services, name="Other portal")
    _error(_refresh(client, other_id, other_secret, first["refresh_token"]), "invalid_grant")


def test_refresh_after_revocation_expiry_or_ended_consent_is_refused(client, services, citizen):
    client_id, secret, first, _ = _tokens(client, services, citizen)
    assert (
        client.post(
            "/revoke",
            data={"token": first["refresh_token"], "token_type_hint": "refresh_token"},
            headers=basic(client_id, secret),
        ).status_code
        == 200
    )
    _error(_refresh(client, client_id, secret, first["refresh_token"]), "invalid_grant")

    client_id, secret, second, _ = _tokens(client, services, citizen)
    with services.sessions.begin() as session:
        session.execute(
            update(Grant).where(Grant.client_id == client_id).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    _error(_refresh(client, client_id, secret, second["refresh_token"]), "invalid_grant")

    client_id, secret, third, _ = _tokens(client, services, citizen)
    with services.sessions.begin() as session:
        [consent] = client_consent(session, citizen.identity_id, client_id).rows
        consent.expires_at = utcnow() - timedelta(seconds=1)
    _error(_refresh(client, client_id, secret, third["refresh_token"]), "invalid_grant")


def test_citizen_revoking_consent_ends_the_refresh_family(client, services, citizen):
    from civid.audit import Actor

    client_id, secret, first, _ = _tokens(client, services, citizen)
    with services.sessions.begin() as session:
        [consent] = client_consent(session, citizen.identity_id, client_id).rows
        revoke_consent(session, consent, Actor(None, f"citizen:{citizen.uin}", "citizen"))
    _error(_refresh(client, client_id, secret, first["refresh_token"]), "invalid_grant")
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {first['access_token']}"}).status_code == 401


def test_unknown_or_missing_refresh_token_is_refused(client, services):
    client_id, secret = register_client(services)
    _error(_refresh(client, client_id, secret, "not-a-token"), "invalid_grant")
    _error(
        client.post("/token", data={"grant_type": "refresh_token"}, headers=basic(client_id, secret)), "invalid_request"
    )
