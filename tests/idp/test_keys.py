"""Signing-key rotation seen from outside: new tokens carry the new kid, old tokens keep verifying, and a
retired key leaves the JWKS only once every token it signed has expired."""

from __future__ import annotations

from datetime import timedelta

import jwt
from sqlalchemy import select, update

from models import SigningKey, utcnow
from tests.conftest import seeded_fixtures
from tests.idp.conftest import enrol_citizen, issue_code, redeem, register_client


def _populate(client, keys):  # type: ignore[no-untyped-def]
    return enrol_citizen(client, keys, given_name="Barack", family_name="Obama")


seed, settings, keys, citizen = seeded_fixtures(_populate, "citizen")


def _login(client, services, citizen, client_id, secret):  # type: ignore[no-untyped-def]
    return redeem(client, client_id, secret, issue_code(services, client_id, citizen)).json()


def _published_kids(client) -> set[str]:  # type: ignore[no-untyped-def]
    return {key["kid"] for key in client.get("/jwks.json").json()["keys"]}


def test_rotation_switches_new_tokens_to_the_new_key_and_keeps_old_tokens_verifiable(client, services, citizen):
    client_id, secret = register_client(services)
    before = _login(client, services, citizen, client_id, secret)
    old_kid = jwt.get_unverified_header(before["id_token"])["kid"]

    new_keys = services.signing_keys.rotate(lead_s=0)
    new_kid = next(row.kid for row in new_keys if row.alg == "ES256")
    after = _login(client, services, citizen, client_id, secret)
    assert jwt.get_unverified_header(after["id_token"])["kid"] == new_kid
    assert jwt.get_unverified_header(after["access_token"])["kid"] == new_kid

    # The old key still verifies what it signed: tokens in flight survive the rotation.
    assert services.signing_keys.verify(before["id_token"], audience=client_id)["aud"] == client_id
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {before['access_token']}"}).status_code == 200
    assert {old_kid, new_kid} <= _published_kids(client)
    states = {s.kid: s.state for s in services.signing_keys.status()}
    assert states[old_kid] == "retired" and states[new_kid] == "active"

    # The old key leaves the JWKS at its expires_at (the longest token lifetime after retirement), not before.
    with services.sessions() as session:
        old = session.scalars(select(SigningKey).where(SigningKey.kid == old_kid)).one()
        assert old.expires_at - old.retired_at >= timedelta(seconds=services.signing_keys.longest_token_lifetime_s)
    with services.sessions.begin() as session:
        session.execute(
            update(SigningKey).where(SigningKey.kid == old_kid).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    services.signing_keys.forget_cache()  # the row was changed directly, as by another process
    assert old_kid not in _published_kids(client) and new_kid in _published_kids(client)
    assert {s.kid: s.state for s in services.signing_keys.status()}[old_kid] == "expired"


def test_a_rotated_in_key_is_published_before_it_signs(client, services, citizen):
    client_id, secret = register_client(services)
    current = jwt.get_unverified_header(_login(client, services, citizen, client_id, secret)["id_token"])["kid"]
    pending = next(row.kid for row in services.signing_keys.rotate(lead_s=3600) if row.alg == "ES256")
    assert pending in _published_kids(client)  # relying parties can fetch it an hour before meeting it
    kid = jwt.get_unverified_header(_login(client, services, citizen, client_id, secret)["id_token"])["kid"]
    assert kid == current
    assert {s.kid: s.state for s in services.signing_keys.status()}[pending] == "pending"


def test_a_publish_lead_past_ten_years_is_a_422_problem_and_rotates_nothing(client, services, keys):
    before = {status.kid for status in services.signing_keys.status()}
    for lead in (10**15, 10 * 366 * 86400 + 1):  # the first overflowed timedelta: a 500
        response = client.post("/v1/signing-keys/rotate", json={"lead_seconds": lead}, headers=keys.admin)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    assert {status.kid for status in services.signing_keys.status()} == before


def test_admin_api_shows_and_rotates_signing_keys(client, services, keys):
    assert client.get("/v1/signing-keys", headers=keys.officer).status_code == 403
    response = client.post("/v1/signing-keys/rotate", json={"algs": ["RS256"], "lead_seconds": 0}, headers=keys.admin)
    assert response.status_code == 200, response.text
    created = response.json()
    assert [k["alg"] for k in created] == ["RS256"] and created[0]["state"] == "active"
    statuses = client.get("/v1/signing-keys", headers=keys.admin).json()
    by_kid = {k["kid"]: k for k in statuses}
    assert by_kid[created[0]["kid"]]["state"] == "active"
    assert sum(1 for k in statuses if k["alg"] == "RS256" and k["state"] == "retired") == 1
    assert sum(1 for k in statuses if k["alg"] == "ES256" and k["state"] == "active") == 1
    refused = client.post("/v1/signing-keys/rotate", json={"algs": ["HS256"]}, headers=keys.admin)
    assert refused.status_code == 422
