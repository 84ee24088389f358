"""Pushed Authorization Requests (RFC 9126): authenticated push, JSON errors, single-use and expiring
request_uri, other parameters ignored at /authorize, and clients that require PAR."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from models import AuthorizationRequest, utcnow
from tests.conftest import seeded_fixtures
from tests.idp.conftest import basic
from tests.idp.frontchannel import (
    REDIRECT_URI,
    approve_consent,
    assert_error_page,
    authorize,
    enrol_people,
    location,
    portal,
    query_of,
    sign_in,
)

seed, settings, keys, people = seeded_fixtures(enrol_people, "people")
PREFIX = "urn:ietf:params:oauth:request_uri:"


def par_form(rp, **overrides):
    form = {
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "response_type": "code",
        "scope": "openid profile",
        "state": "par-state",
        "nonce": "par-nonce",
        "code_challenge": rp.challenge,
        "code_challenge_method": "S256",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def push(client, rp, headers=None, **overrides):
    return client.post(
        "/par", data=par_form(rp, **overrides), headers=basic(rp.client_id, rp.secret) if headers is None else headers
    )


def pushed_uri(client, rp, **overrides) -> str:
    response = push(client, rp, **overrides)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["request_uri"].startswith(PREFIX)
    assert body["expires_in"] == client.app.state.services.settings.par_ttl_s
    assert response.headers["cache-control"] == "no-store"
    return body["request_uri"]


def test_pushed_request_is_used_with_client_id_and_request_uri_only(client, services, people):
    rp = portal(services)
    uri = pushed_uri(client, rp)
    # RFC 9126 §4: anything else in the front channel is ignored, even a different redirect URI or state.
    response = client.get(
        "/authorize",
        params={
            "client_id": rp.client_id,
            "request_uri": uri,
            "redirect_uri": "https://evil.example/cb",
            "state": "tampered",
            "scope": "openid uin",
        },
        follow_redirects=False,
    )
    login = location(response)
    assert login.startswith("/login/")
    consent = location(client.get(location(sign_in(client, login, people.obama)), follow_redirects=False))
    final = approve_consent(client, consent)
    assert location(final).startswith(REDIRECT_URI + "?")
    query = query_of(final)
    assert query["state"] == "par-state" and query["code"] and query["iss"] == services.settings.resolved_issuer
    tokens = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": rp.verifier,
        },
        headers=basic(rp.client_id, rp.secret),
    )
    assert tokens.status_code == 200, tokens.text


def test_request_uri_is_single_use(client, services):
    rp = portal(services)
    uri = pushed_uri(client, rp)
    assert location(
        client.get("/authorize", params={"client_id": rp.client_id, "request_uri": uri}, follow_redirects=False)
    ).startswith("/login/")
    again = client.get("/authorize", params={"client_id": rp.client_id, "request_uri": uri}, follow_redirects=False)
    assert_error_page(again, "invalid_request_uri")


def test_expired_request_uri_is_refused(client, services):
    rp = portal(services)
    uri = pushed_uri(client, rp)
    with services.sessions.begin() as db:
        db.execute(update(AuthorizationRequest).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = client.get("/authorize", params={"client_id": rp.client_id, "request_uri": uri}, follow_redirects=False)
    assert_error_page(response, "invalid_request_uri")


def test_request_uri_of_another_client_or_unknown_is_refused(client, services):
    rp, other = portal(services), portal(services, name="Other portal")
    uri = pushed_uri(client, rp)
    for client_id, request_uri in ((other.client_id, uri), (rp.client_id, PREFIX + "unknown")):
        response = client.get(
            "/authorize", params={"client_id": client_id, "request_uri": request_uri}, follow_redirects=False
        )
        assert_error_page(response, "invalid_request_uri")
    # Not one of ours, and no redirect URI to tell the client at: shown (OIDC Core §3.1.2.6).
    foreign = client.get(
        "/authorize",
        params={"client_id": rp.client_id, "request_uri": "https://evil.example/request.jwt"},
        follow_redirects=False,
    )
    assert_error_page(foreign, "request_uri_not_supported")
    # The refused attempt by the other client did not spend it.
    assert location(
        client.get("/authorize", params={"client_id": rp.client_id, "request_uri": uri}, follow_redirects=False)
    ).startswith("/login/")


def test_client_requiring_par_is_refused_without_it_and_accepted_with_it(client, services):
    rp = portal(services, require_par=True)
    assert_error_page(authorize(client, rp), "invalid_request")
    uri = pushed_uri(client, rp)
    assert location(
        client.get("/authorize", params={"client_id": rp.client_id, "request_uri": uri}, follow_redirects=False)
    ).startswith("/login/")


def test_pushed_request_is_stored_validated(client, services):
    rp = portal(services)
    uri = pushed_uri(client, rp, ui_locales="es", max_age="30")
    with services.sessions() as db:
        row = db.scalars(select(AuthorizationRequest).where(AuthorizationRequest.uid == uri[len(PREFIX) :])).one()
    assert row.pushed and row.params["scope"] == ["openid", "profile"] and row.params["max_age"] == 30
    assert row.params["ui_locales"] == ["es"] and "client_secret" not in row.params


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"redirect_uri": REDIRECT_URI + "/"}, "invalid_request"),
        ({"redirect_uri": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"request_uri": PREFIX + "abc"}, "invalid_request"),  # RFC 9126 §2.1
        ({"prompt": "none consent"}, "invalid_request"),
    ],
)
def test_invalid_pushed_requests_are_json_errors(client, services, overrides, error):
    rp = portal(services)
    response = push(client, rp, **overrides)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == error and response.json()["error_description"]


def test_par_requires_client_authentication(client, services):
    rp = portal(services)
    assert push(client, rp, headers={}).status_code == 401
    response = push(client, rp, headers=basic(rp.client_id, "wrong-secret"))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    other = portal(services, name="Other portal")
    response = push(client, rp, headers=basic(other.client_id, other.secret))  # body names another client
    assert response.status_code in (400, 401) and response.json()["error"] in ("invalid_client", "invalid_request")


def test_par_accepts_only_form_bodies(client, services):
    rp = portal(services)
    response = client.post("/par", json=par_form(rp), headers=basic(rp.client_id, rp.secret))
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
