"""What the OpenID Foundation's Basic and Config OP plans ask of civid: a confidential client that may use
nonce instead of PKCE (RFC 9700 §2.1.1), ``request_uri_not_supported`` for a request_uri civid did not issue
(OIDC Core §3.1.2.6), ``sector_identifier_uri`` at registration (OIDC Core §8.1), no ``key_ops`` beside
``use`` in the JWKS (RFC 7517 §4.3), ``offline_access`` only with ``prompt=consent`` (OIDC Core §11), and
unknown scopes ignored (OIDC Core §3.1.2.1)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from civid.audit import SYSTEM
from civid.auth import create_api_key
from idp import clients
from idp.errors import InvalidClientMetadata
from models import Client
from tests.conftest import seeded_fixtures
from tests.idp.conftest import basic
from tests.idp.frontchannel import REDIRECT_URI, authorize, code_for, enrol_people, location, portal, query_of
from tests.idp.jwks_server import FixedAnswerServer, JwksServer
from tests.server import free_port

seed, settings, keys, people = seeded_fixtures(enrol_people, "people")

NO_PKCE = {"code_challenge": None, "code_challenge_method": None}
AFTER = "https://portal.example.bz/signed-out"


def _redeem(client, rp, code: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri, **extra},
        headers=basic(rp.client_id, rp.secret),
    )


def _redirected_error(response, rp) -> str:  # type: ignore[no-untyped-def]
    assert location(response).startswith(rp.redirect_uri + "?")
    return query_of(response)["error"]


# --- nonce instead of PKCE, for a confidential client that is registered for it ----------------------------


def test_a_confidential_client_allowed_nonce_instead_of_pkce_signs_in_without_pkce(client, services, people):
    rp = portal(services, require_pkce=False)
    query = code_for(client, rp, people.obama, **NO_PKCE)
    tokens = _redeem(client, rp, query["code"])
    assert tokens.status_code == 200, tokens.text
    id_token = services.signing_keys.verify(tokens.json()["id_token"], audience=rp.client_id)
    assert id_token["nonce"] == "n-456"  # the nonce is what binds the code to the client's session


def test_a_verifier_for_a_code_issued_without_pkce_is_refused(client, services, people):
    rp = portal(services, require_pkce=False)
    query = code_for(client, rp, people.obama, **NO_PKCE)
    # RFC 9700 §2.1.1: a code_verifier is accepted only if the request carried a code_challenge (downgrade).
    refused = _redeem(client, rp, query["code"], code_verifier=rp.verifier)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", refused.text


def test_such_a_client_that_sends_pkce_must_prove_it(client, services, people):
    rp = portal(services, require_pkce=False)
    query = code_for(client, rp, people.obama)
    missing = _redeem(client, rp, query["code"])
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request", missing.text


def test_without_a_nonce_such_a_client_still_needs_pkce(client, services):
    rp = portal(services, require_pkce=False)
    assert _redirected_error(authorize(client, rp, nonce=None, **NO_PKCE), rp) == "invalid_request"


def test_pkce_stays_required_by_default_even_with_a_nonce(client, services):
    rp = portal(services)
    assert _redirected_error(authorize(client, rp, **NO_PKCE), rp) == "invalid_request"


def test_prompt_none_without_pkce_for_such_a_client_is_login_required(client, services):
    rp = portal(services, require_pkce=False)
    assert _redirected_error(authorize(client, rp, prompt="none", **NO_PKCE), rp) == "login_required"


def test_only_a_confidential_client_may_be_registered_without_pkce(services):
    with services.sessions() as db, pytest.raises(InvalidClientMetadata) as refused:
        clients.register(
            db,
            clients.ClientMetadata(
                name="App",
                redirect_uris=[REDIRECT_URI],
                token_endpoint_auth_method="none",
                allowed_scopes=["civid_pid"],  # a wallet's scope: what is refused is only the missing PKCE
                require_pkce=False,
            ),
            SYSTEM,
        )
    assert refused.value.code == "pkce_public_client"


def test_admins_register_nonce_instead_of_pkce_and_dynamic_registration_cannot(client, keys, services):
    created = client.post(
        "/v1/clients",
        json={"name": "Certified RP", "redirect_uris": [REDIRECT_URI], "require_pkce": False},
        headers=keys.admin,
    )
    assert created.status_code == 201 and created.json()["client"]["require_pkce"] is False, created.text
    with services.sessions.begin() as db:
        _, secret = create_api_key(db, "registrar", "registrar", SYSTEM)
    registered = client.post(
        "/register",
        json={"redirect_uris": [REDIRECT_URI], "require_pkce": False},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert registered.status_code == 201
    with services.sessions() as db:
        row = db.scalars(select(Client).where(Client.client_id == registered.json()["client_id"])).one()
        assert row.require_pkce is True  # an admin's decision, like entitlements


# --- request_uri -----------------------------------------------------------------------------------------


def test_a_request_uri_civid_did_not_issue_is_redirected_as_request_uri_not_supported(client, services):
    rp = portal(services)
    response = authorize(client, rp, request_uri="https://portal.example.bz/request.jwt")
    assert _redirected_error(response, rp) == "request_uri_not_supported"
    assert query_of(response)["state"] == "st-123"


def test_a_foreign_request_uri_with_an_unregistered_redirect_uri_is_shown_not_redirected(client, services):
    rp = portal(services)
    response = authorize(
        client, rp, request_uri="https://portal.example.bz/request.jwt", redirect_uri="https://evil.example/cb"
    )
    assert response.status_code == 400 and "location" not in response.headers


# --- sector_identifier_uri (OIDC Core §8.1, OIDC Registration §2) ------------------------------------------


@pytest.fixture
def registrar(services) -> dict[str, str]:
    with services.sessions.begin() as session:
        _, secret = create_api_key(session, "registrar", "registrar", SYSTEM)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def sector_file():  # type: ignore[no-untyped-def]
    server = JwksServer(["https://a.portal.example.bz/cb", "https://b.portal.example.bz/cb"])  # type: ignore[arg-type]
    yield server
    server.stop()


def test_sector_identifier_uri_lets_redirect_uris_on_two_hosts_share_one_pairwise_sector(
    client, services, registrar, sector_file, monkeypatch
):
    monkeypatch.setattr(services.settings, "outbound_allow_private", True)  # the file is served on loopback here
    body = {
        "redirect_uris": ["https://a.portal.example.bz/cb", "https://b.portal.example.bz/cb"],
        "sector_identifier_uri": sector_file.url,
    }
    response = client.post("/register", json=body, headers=registrar)
    assert response.status_code == 201, response.text
    assert response.json()["sector_identifier_uri"] == sector_file.url and sector_file.fetches == 1
    with services.sessions() as db:
        row = db.scalars(select(Client).where(Client.client_id == response.json()["client_id"])).one()
        assert row.sector_identifier == "127.0.0.1"  # OIDC Core §8.1: the host of the sector_identifier_uri
        assert row.sector_identifier_uri == sector_file.url


@pytest.mark.parametrize(
    "content, redirect_uris, phrase",
    [
        (
            ["https://a.portal.example.bz/cb"],
            ["https://a.portal.example.bz/cb", "https://b.portal.example.bz/cb"],
            "not listed",
        ),
        ({"redirect_uris": ["https://a.portal.example.bz/cb"]}, ["https://a.portal.example.bz/cb"], "JSON array"),
        ([1, 2], ["https://a.portal.example.bz/cb"], "JSON array"),
    ],
)
def test_a_sector_identifier_uri_that_does_not_list_the_redirect_uris_is_invalid_client_metadata(
    client, services, registrar, monkeypatch, content, redirect_uris, phrase
):
    monkeypatch.setattr(services.settings, "outbound_allow_private", True)
    server = JwksServer(content)  # type: ignore[arg-type]
    try:
        response = client.post(
            "/register", json={"redirect_uris": redirect_uris, "sector_identifier_uri": server.url}, headers=registrar
        )
    finally:
        server.stop()
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata", response.text
    assert phrase in response.json()["error_description"]


def test_a_sector_identifier_uri_on_a_private_address_is_not_fetched(client, registrar, sector_file):
    response = client.post(
        "/register",
        json={"redirect_uris": ["https://a.portal.example.bz/cb"], "sector_identifier_uri": sector_file.url},
        headers=registrar,
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata", response.text
    assert sector_file.fetches == 0


def test_a_sector_identifier_uri_must_be_https(client, registrar):
    response = client.post(
        "/register",
        json={"redirect_uris": [REDIRECT_URI], "sector_identifier_uri": "http://portal.example.bz/sector.json"},
        headers=registrar,
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata", response.text


@pytest.mark.parametrize(
    "answer, said, detail",
    [
        (None, "could not be fetched", "refused"),  # nothing listens on the port
        ((200, b"<html>not json</html>"), "is not a JSON array of strings", "Expecting value"),
        ((404, b"gone"), "answered HTTP 404", "404"),
    ],
)
def test_a_sector_identifier_uri_that_cannot_be_read_is_told_in_words_and_the_details_are_logged(
    client, services, registrar, monkeypatch, caplog, answer, said, detail
):
    monkeypatch.setattr(services.settings, "outbound_allow_private", True)
    server = FixedAnswerServer(*answer) if answer else None
    url = server.url if server else f"http://127.0.0.1:{free_port()}/sector.json"
    try:
        with caplog.at_level(logging.WARNING, logger="civid.idp"):
            response = client.post(
                "/register",
                json={"redirect_uris": ["https://a.portal.example.bz/cb"], "sector_identifier_uri": url},
                headers=registrar,
            )
    finally:
        if server:
            server.server.shutdown()
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata", response.text
    description = response.json()["error_description"]
    assert said in description and "Errno" not in description and "Expecting" not in description, description
    assert "refused" not in description.lower()  # the exception's own words stay in the log
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("civid.idp")]
    assert any(url in line and detail in line for line in logged), logged


# --- the JWKS ---------------------------------------------------------------------------------------------


def test_published_keys_carry_use_but_no_key_ops(client, services):
    services.signing_keys.ensure()
    keys_published = client.get("/jwks.json").json()["keys"]
    assert {key["kty"] for key in keys_published} == {"EC", "RSA"}
    for key in keys_published:
        assert key["use"] == "sig" and "key_ops" not in key, key  # RFC 7517 §4.3: not both


# --- scopes: offline_access (OIDC Core §11) and unknown ones (OIDC Core §3.1.2.1) -------------------------


def _signed_in_tokens(client, rp, citizen, **overrides):  # type: ignore[no-untyped-def]
    query = code_for(client, rp, citizen, **overrides)
    tokens = _redeem(client, rp, query["code"], code_verifier=rp.verifier)
    assert tokens.status_code == 200, tokens.text
    return tokens.json()


def _refresh(client, rp, tokens):  # type: ignore[no-untyped-def]
    return client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic(rp.client_id, rp.secret),
    )


def _log_out(client, tokens) -> None:  # type: ignore[no-untyped-def]
    response = client.get(
        "/logout",
        params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": AFTER},
        follow_redirects=False,
    )
    assert response.status_code in (302, 303), response.text[:500]


def test_offline_access_without_prompt_consent_is_ignored_and_the_refresh_token_ends_at_logout(
    client, services, people
):
    rp = portal(services, allowed_scopes=["openid", "profile", "offline_access"], post_logout_redirect_uris=[AFTER])
    tokens = _signed_in_tokens(client, rp, people.obama, scope="openid profile offline_access")
    assert tokens["scope"] == "openid profile"
    _log_out(client, tokens)
    assert _refresh(client, rp, tokens).json()["error"] == "invalid_grant"


def test_offline_access_with_prompt_consent_keeps_the_refresh_token_after_logout(client, services, people):
    rp = portal(services, allowed_scopes=["openid", "profile", "offline_access"], post_logout_redirect_uris=[AFTER])
    tokens = _signed_in_tokens(client, rp, people.obama, scope="openid profile offline_access", prompt="consent")
    assert tokens["scope"] == "openid profile offline_access" and tokens["refresh_token"]
    _log_out(client, tokens)
    renewed = _refresh(client, rp, tokens)
    assert renewed.status_code == 200, renewed.text  # offline: the citizen said so on the consent page


def test_offline_access_for_a_client_not_allowed_it_is_ignored(client, services, people):
    rp = portal(services)
    tokens = _signed_in_tokens(client, rp, people.obama, scope="openid profile offline_access", prompt="consent")
    assert tokens["scope"] == "openid profile"


def test_unknown_scopes_are_ignored_and_not_granted(client, services, people):
    rp = portal(services)
    tokens = _signed_in_tokens(client, rp, people.obama, scope="openid wallet profile x-unknown")
    assert tokens["scope"] == "openid profile"
