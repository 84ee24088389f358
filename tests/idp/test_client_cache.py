"""The in-process caches of the hot paths answer from memory but never for a client or a key that has changed:
a client disabled or given a new secret, or a signing key rotated in, shows on the very next request."""

from __future__ import annotations

from sqlalchemy import update

from civid.audit import SYSTEM
from idp import client_cache, clients
from idp.server_secrets import sha256_hex
from models import Client
from tests.conftest import seeded_fixtures
from tests.idp.conftest import basic, enrol_citizen, issue_code, redeem, register_client


def _populate(client, keys):  # type: ignore[no-untyped-def]
    return enrol_citizen(client, keys, given_name="Barack", family_name="Obama")


seed, settings, keys, citizen = seeded_fixtures(_populate, "citizen")


def _refresh(client, client_id, secret, refresh_token):  # type: ignore[no-untyped-def]
    return client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        headers=basic(client_id, secret),
    )


def test_a_cached_client_is_a_copy_outside_any_session(client, services, citizen):
    client_id, _ = register_client(services)
    with services.sessions() as db:
        first = client_cache.find(db, client_id)
        again = client_cache.find(db, client_id)
        assert first is not None and first is again  # the second lookup is the cached copy
        assert first not in db and first.client_id == client_id
        assert client_cache.find(db, "no-such-client") is None


def test_disabling_a_client_refuses_its_next_token_request(client, services, citizen):
    client_id, secret = register_client(services)
    tokens = redeem(client, client_id, secret, issue_code(services, client_id, citizen)).json()
    refreshed = _refresh(client, client_id, secret, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text  # the client is now in the cache
    with services.sessions.begin() as db:
        clients.disable(db, client_id, SYSTEM)
    refused = _refresh(client, client_id, secret, refreshed.json()["refresh_token"])
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client", refused.text


def test_a_new_secret_written_by_a_bulk_update_is_the_only_one_accepted_next(client, services, citizen):
    client_id, secret = register_client(services)
    tokens = redeem(client, client_id, secret, issue_code(services, client_id, citizen)).json()
    assert _refresh(client, client_id, secret, tokens["refresh_token"]).status_code == 200
    # An UPDATE statement, not an edited instance: the cache hears of it all the same.
    with services.sessions.begin() as db:
        db.execute(update(Client).where(Client.client_id == client_id).values(secret_hash=sha256_hex("new secret")))
    tokens = redeem(client, client_id, "new secret", issue_code(services, client_id, citizen))
    assert tokens.status_code == 200, tokens.text
    old = _refresh(client, client_id, secret, tokens.json()["refresh_token"])
    assert old.status_code == 401, old.text


def test_a_rotated_in_signing_key_signs_the_next_token(client, services, citizen):
    client_id, secret = register_client(services)
    tokens = redeem(client, client_id, secret, issue_code(services, client_id, citizen)).json()
    first = _refresh(client, client_id, secret, tokens["refresh_token"]).json()
    [new_key] = services.signing_keys.rotate(algs=(services.settings.signing_alg,), lead_s=0)
    second = _refresh(client, client_id, secret, first["refresh_token"]).json()
    import jwt

    assert jwt.get_unverified_header(second["access_token"])["kid"] == new_key.kid
    assert jwt.get_unverified_header(first["access_token"])["kid"] != new_key.kid
    # The token signed by the retired key still verifies at UserInfo (its key stays published).
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {first['access_token']}"}).status_code == 200
