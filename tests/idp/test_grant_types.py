"""Registered grant types (RFC 7591 §2 ``grant_types``) are kept per client and enforced at the token endpoint:
a client without ``refresh_token`` gets no refresh token and is refused the grant (RFC 6749 §5.2
``unauthorized_client``); what a client is told it may use is what it may use."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from civid.audit import SYSTEM
from civid.auth import create_api_key
from models import Client
from tests.conftest import seeded_fixtures
from tests.idp.conftest import REDIRECT_URI, basic, enrol_citizen, issue_code, redeem, register_client


def _populate(client, keys):  # type: ignore[no-untyped-def]
    return enrol_citizen(client, keys, given_name="Barack", family_name="Obama")


seed, settings, keys, citizen = seeded_fixtures(_populate, "citizen")


@pytest.fixture
def registrar(services) -> dict[str, str]:
    with services.sessions.begin() as session:
        _, secret = create_api_key(session, "registrar", "registrar", SYSTEM)
    return {"Authorization": f"Bearer {secret}"}


def _refresh(client, client_id: str, secret: str, refresh_token: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}, headers=basic(client_id, secret)
    )


def test_a_client_registered_for_authorization_code_only_gets_no_refresh_token_and_is_refused_the_grant(
    client, services, citizen, registrar, keys
):
    response = client.post(
        "/register", json={"redirect_uris": [REDIRECT_URI], "grant_types": ["authorization_code"]}, headers=registrar
    )
    assert response.status_code == 201, response.text
    registered = response.json()
    assert registered["grant_types"] == ["authorization_code"]
    client_id, secret = registered["client_id"], registered["client_secret"]
    assert client.get(f"/v1/clients/{client_id}", headers=keys.admin).json()["grant_types"] == ["authorization_code"]

    tokens = redeem(client, client_id, secret, issue_code(services, client_id, citizen))
    assert tokens.status_code == 200, tokens.text
    assert "refresh_token" not in tokens.json() and tokens.json()["access_token"]

    # Even with a refresh token of its own grant (one issued before, say), the grant type is refused.
    refused = _refresh(client, client_id, secret, "any-value")
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client", refused.text


def test_a_client_without_the_refresh_token_grant_is_not_registered_for_offline_access(client, registrar):
    registered = client.post(
        "/register",
        json={
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code"],
            "scope": "openid profile offline_access",
        },
        headers=registrar,
    ).json()
    assert registered["scope"] == "openid profile" and registered["grant_types"] == ["authorization_code"]
    both = client.post(
        "/register",
        json={
            "redirect_uris": [REDIRECT_URI],
            "scope": "openid offline_access",
            "grant_types": ["authorization_code", "refresh_token"],
        },
        headers=registrar,
    ).json()
    assert both["scope"] == "openid offline_access"


def test_a_client_with_both_grants_still_gets_and_uses_refresh_tokens(client, services, citizen, registrar):
    registered = client.post(
        "/register",
        json={"redirect_uris": [REDIRECT_URI], "grant_types": ["authorization_code", "refresh_token"]},
        headers=registrar,
    ).json()
    client_id, secret = registered["client_id"], registered["client_secret"]
    tokens = redeem(client, client_id, secret, issue_code(services, client_id, citizen)).json()
    renewed = _refresh(client, client_id, secret, tokens["refresh_token"])
    assert renewed.status_code == 200, renewed.text and renewed.json()["refresh_token"]


def test_the_admin_api_stores_grant_types_and_defaults_to_both(client, keys, services):
    only_code = client.post(
        "/v1/clients",
        json={"name": "Kiosk", "redirect_uris": [REDIRECT_URI], "grant_types": ["authorization_code"]},
        headers=keys.admin,
    )
    assert only_code.status_code == 201, only_code.text
    assert only_code.json()["client"]["grant_types"] == ["authorization_code"]
    default = client.post("/v1/clients", json={"name": "Portal", "redirect_uris": [REDIRECT_URI]}, headers=keys.admin)
    assert default.json()["client"]["grant_types"] == ["authorization_code", "refresh_token"]
    for grant_types in (["refresh_token"], ["implicit", "authorization_code"], []):
        refused = client.post(
            "/v1/clients",
            json={"name": "x", "redirect_uris": [REDIRECT_URI], "grant_types": grant_types},
            headers=keys.admin,
        )
        # A grant civid does not know is refused by the API schema (422); one without a code by the registry.
        assert (refused.status_code, refused.json().get("error")) in ((422, None), (400, "invalid_client_metadata")), (
            grant_types,
            refused.text,
        )
    with services.sessions() as db:
        kiosk = db.scalars(select(Client).where(Client.name == "Kiosk")).one()
        assert kiosk.grant_types == ["authorization_code"]


def test_the_registry_default_is_both_grants(services):
    client_id, _ = register_client(services)
    with services.sessions() as db:
        assert db.scalars(select(Client.grant_types).where(Client.client_id == client_id)).one() == [
            "authorization_code",
            "refresh_token",
        ]
