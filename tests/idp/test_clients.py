"""The client registry from outside: admin API, Dynamic Client Registration (RFC 7591) and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from civid.audit import SYSTEM
from civid.auth import create_api_key
from civid.settings import get_settings
from idp import clients
from idp.errors import InvalidRedirectUri
from server.cli import app
from tests.idp.conftest import REDIRECT_URI, ClientKey, basic

BOGUS = {"grant_type": "refresh_token", "refresh_token": "bogus"}


def _can_authenticate(client, client_id: str, secret: str) -> bool:  # type: ignore[no-untyped-def]
    return client.post("/token", data=BOGUS, headers=basic(client_id, secret)).status_code == 400


# --- admin API ------------------------------------------------------------------------------------------------
def test_admin_registers_lists_and_disables_clients(client, keys):
    body = {
        "name": "Tax portal",
        "redirect_uris": [REDIRECT_URI],
        "entitlements": ["uin"],
        "scopes": ["openid", "profile", "uin"],
        "subject_type": "public",
        "require_par": True,
    }
    assert client.post("/v1/clients", json=body, headers=keys.officer).status_code == 403
    created = client.post("/v1/clients", json=body, headers=keys.admin)
    assert created.status_code == 201, created.text
    registered = created.json()
    client_id, secret = registered["client"]["client_id"], registered["client_secret"]
    assert registered["client"]["entitlements"] == ["uin"] and registered["client"]["subject_type"] == "public"
    assert registered["client"]["require_pushed_authorization_requests"] is True
    assert "secret_hash" not in json.dumps(registered["client"])
    assert _can_authenticate(client, client_id, secret)

    listed = client.get("/v1/clients", headers=keys.admin).json()
    assert [c["client_id"] for c in listed] == [client_id]
    assert client.get(f"/v1/clients/{client_id}", headers=keys.admin).json()["client_name"] == "Tax portal"
    assert client.get("/v1/clients/nope", headers=keys.admin).status_code == 404

    disabled = client.post(f"/v1/clients/{client_id}/disable", headers=keys.admin)
    assert disabled.status_code == 200 and disabled.json()["client"]["disabled_at"]
    assert not _can_authenticate(client, client_id, secret)
    assert client.post(f"/v1/clients/{client_id}/disable", headers=keys.admin).status_code == 200  # idempotent


def test_admin_api_refuses_bad_metadata(client, keys):
    for body, error in (
        ({"name": "x", "redirect_uris": ["https://p.example/cb#frag"]}, "invalid_redirect_uri"),
        ({"name": "x", "redirect_uris": ["http://p.example/cb"]}, "invalid_redirect_uri"),
        ({"name": "x", "redirect_uris": ["https://p.example/*"]}, "invalid_redirect_uri"),
        (
            {"name": "x", "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt"},
            "invalid_client_metadata",
        ),
    ):
        response = client.post("/v1/clients", json=body, headers=keys.admin)
        assert response.status_code == 400 and response.json()["error"] == error, response.text


def test_a_refusal_carries_its_code_for_pages_but_not_in_the_problem_body(client, keys):
    response = client.post(
        "/v1/clients", json={"name": "x", "redirect_uris": ["http://p.example/cb"]}, headers=keys.admin
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_redirect_uri",
        "title": "invalid_redirect_uri",
        "status": 400,
        "type": "https://civid.dev/problems/oauth/invalid_redirect_uri",
        "error_description": "redirect URI 'http://p.example/cb' must use https (http only on localhost)",
        "detail": "redirect URI 'http://p.example/cb' must use https (http only on localhost)",
    }
    with client.app.state.services.sessions() as db, pytest.raises(InvalidRedirectUri) as refused:
        clients.register(db, clients.ClientMetadata(name="x", redirect_uris=["http://p.example/cb"]), SYSTEM)
    assert refused.value.code == "redirect_uri_http" and refused.value.params == {"uri": "http://p.example/cb"}


# --- Dynamic Client Registration (RFC 7591) -------------------------------------------------------------------
@pytest.fixture
def registrar(services) -> dict[str, str]:
    with services.sessions.begin() as session:
        _, secret = create_api_key(session, "registrar", "registrar", SYSTEM)
    return {"Authorization": f"Bearer {secret}"}


def test_dynamic_registration_returns_credentials_and_metadata(client, registrar):
    body = {
        "redirect_uris": [REDIRECT_URI],
        "client_name": "Health portal",
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile",
        "unknown_member": "ignored",
    }
    response = client.post("/register", json=body, headers=registrar)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    registered = response.json()
    assert registered["client_secret"] and registered["client_secret_expires_at"] == 0
    assert registered["client_id_issued_at"] > 0 and registered["redirect_uris"] == [REDIRECT_URI]
    assert registered["token_endpoint_auth_method"] == "client_secret_basic"  # RFC 7591 §2 default
    assert registered["grant_types"] == ["authorization_code", "refresh_token"]
    assert registered["scope"] == "openid profile" and "unknown_member" not in registered
    assert _can_authenticate(client, registered["client_id"], registered["client_secret"])


def test_dynamic_registration_of_a_private_key_jwt_client_has_no_secret(client, registrar):
    body = {"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt", "jwks": ClientKey().jwks}
    registered = client.post("/register", json=body, headers=registrar).json()
    assert "client_secret" not in registered and registered["jwks"]["keys"]


def test_dynamic_registration_needs_an_initial_access_token(client, keys):
    body = {"redirect_uris": [REDIRECT_URI]}
    missing = client.post("/register", json=body)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert client.post("/register", json=body, headers={"Authorization": "Bearer civid_wrong"}).status_code == 401
    assert client.post("/register", json=body, headers=keys.officer).status_code == 403
    assert client.post("/register", json=body, headers=keys.admin).status_code == 201


def test_dynamic_registration_refuses_bad_metadata_and_entitlements(client, registrar):
    cases = (
        ({"redirect_uris": ["https://p.example/cb#x"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "scope": "openid uin"}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "entitlements": ["uin"], "scope": "openid kyc"}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "response_types": ["token"]}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "grant_types": ["implicit"]}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none"}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
    )
    for body, error in cases:
        response = client.post("/register", json=body, headers=registrar)
        assert response.status_code == 400 and response.json()["error"] == error, (body, response.text)
    entitled = client.post(
        "/register", json={"redirect_uris": [REDIRECT_URI], "entitlements": ["uin"]}, headers=registrar
    )
    assert entitled.status_code == 201 and "entitlements" not in entitled.json()  # ignored: admin only
    not_json = client.post("/register", data={"redirect_uris": REDIRECT_URI}, headers=registrar)
    assert not_json.status_code == 400


# --- CLI ------------------------------------------------------------------------------------------------------
@pytest.fixture
def cli(tmp_path: Path) -> Iterator:
    """Run ``civid ARGS`` against a fresh data folder."""
    runner = CliRunner()
    env = {"CIVID_DATA_DIR": str(tmp_path / "cli-var")}

    def run(*args: str):  # type: ignore[no-untyped-def]
        get_settings.cache_clear()
        return runner.invoke(app, list(args), env=env)

    yield run
    get_settings.cache_clear()


def _value(output: str, name: str) -> str:
    return next(line.split(": ", 1)[1] for line in output.splitlines() if line.startswith(f"{name}: "))


def test_cli_adds_lists_and_disables_clients(cli, tmp_path):
    added = cli(
        "clients",
        "add",
        "--name",
        "Education portal",
        "--redirect-uri",
        REDIRECT_URI,
        "--redirect-uri",
        "https://portal.example.bz/other",
        "--scope",
        "openid profile",
        "--entitle",
        "uin",
        "--public-subject",
        "--require-par",
        "--post-logout-redirect-uri",
        "https://portal.example.bz/bye",
        "--backchannel-logout-uri",
        "https://portal.example.bz/bcl",
        "--backchannel-logout-session-required",
    )
    assert added.exit_code == 0, added.output
    client_id, secret = _value(added.stdout, "client_id"), _value(added.stdout, "client_secret")
    assert len(secret) > 30

    jwks_file = tmp_path / "rp-jwks.json"
    jwks_file.write_text(json.dumps(ClientKey().jwks))
    jwt_client = cli(
        "clients",
        "add",
        "--name",
        "Bank",
        "--redirect-uri",
        "https://bank.example/cb",
        "--auth",
        "private_key_jwt",
        "--jwks-file",
        str(jwks_file),
    )
    assert jwt_client.exit_code == 0, jwt_client.output
    assert "client_secret" not in jwt_client.stdout

    listed = cli("clients", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = {row["client_id"]: row for row in json.loads(listed.stdout)}
    assert rows[client_id]["redirect_uris"] == [REDIRECT_URI, "https://portal.example.bz/other"]
    assert rows[client_id]["entitlements"] == ["uin"] and rows[client_id]["subject_type"] == "public"
    assert (
        rows[client_id]["require_pushed_authorization_requests"] is True
        and rows[client_id]["scope"] == "openid profile"
    )
    assert rows[client_id]["post_logout_redirect_uris"] == ["https://portal.example.bz/bye"]
    assert rows[client_id]["backchannel_logout_uri"] == "https://portal.example.bz/bcl"
    assert rows[client_id]["backchannel_logout_session_required"] is True
    assert secret not in listed.stdout
    table = cli("clients", "list")
    assert table.exit_code == 0 and "Education" in table.stdout

    disabled = cli("clients", "disable", client_id)
    assert disabled.exit_code == 0, disabled.output
    assert json.loads(cli("clients", "list", "--json").stdout)[0]["disabled_at"]


def test_cli_registers_the_grant_types_a_client_may_use(cli):
    only_code = cli(
        "clients", "add", "--name", "Kiosk", "--redirect-uri", REDIRECT_URI, "--grant-type", "authorization_code"
    )
    assert only_code.exit_code == 0, only_code.output
    default = cli("clients", "add", "--name", "Portal", "--redirect-uri", REDIRECT_URI)
    rows = {row["client_id"]: row for row in json.loads(cli("clients", "list", "--json").stdout)}
    assert rows[_value(only_code.stdout, "client_id")]["grant_types"] == ["authorization_code"]
    assert rows[_value(default.stdout, "client_id")]["grant_types"] == ["authorization_code", "refresh_token"]
    no_pkce = cli("clients", "add", "--name", "Certified RP", "--redirect-uri", REDIRECT_URI, "--nonce-instead-of-pkce")
    rows = {row["client_id"]: row for row in json.loads(cli("clients", "list", "--json").stdout)}
    assert rows[_value(no_pkce.stdout, "client_id")]["require_pkce"] is False
    assert rows[_value(default.stdout, "client_id")]["require_pkce"] is True
    dpop = cli("clients", "add", "--name", "FAPI bank", "--redirect-uri", REDIRECT_URI, "--require-dpop")
    rows = {row["client_id"]: row for row in json.loads(cli("clients", "list", "--json").stdout)}
    assert rows[_value(dpop.stdout, "client_id")]["dpop_bound_access_tokens"] is True  # RFC 9449 §5.2
    assert rows[_value(default.stdout, "client_id")]["dpop_bound_access_tokens"] is False
    refused = cli("clients", "add", "--name", "x", "--redirect-uri", REDIRECT_URI, "--grant-type", "password")
    assert refused.exit_code == 2 and "grant_types" in refused.output


def test_cli_refuses_bad_client_input_with_a_message(cli, tmp_path):
    wildcard = cli("clients", "add", "--name", "x", "--redirect-uri", "https://p.example/*")
    assert wildcard.exit_code == 2 and "wildcards" in wildcard.output
    no_keys = cli("clients", "add", "--name", "x", "--redirect-uri", REDIRECT_URI, "--auth", "private_key_jwt")
    assert no_keys.exit_code == 2 and "--jwks-uri or --jwks-file" in no_keys.output
    bad_method = cli("clients", "add", "--name", "x", "--redirect-uri", REDIRECT_URI, "--auth", "password")
    assert bad_method.exit_code == 2 and "token_endpoint_auth_method" in bad_method.output
    bad_entitlement = cli("clients", "add", "--name", "x", "--redirect-uri", REDIRECT_URI, "--entitle", "all")
    assert bad_entitlement.exit_code == 2 and "entitlements" in bad_entitlement.output
    private = tmp_path / "private.json"
    key = ClientKey()
    from jwt.algorithms import ECAlgorithm

    private.write_text(json.dumps({"keys": [ECAlgorithm.to_jwk(key.private, as_dict=True)]}))
    leaked = cli(
        "clients",
        "add",
        "--name",
        "x",
        "--redirect-uri",
        REDIRECT_URI,
        "--auth",
        "private_key_jwt",
        "--jwks-file",
        str(private),
    )
    assert leaked.exit_code == 2 and "private key" in leaked.output
    unknown = cli("clients", "disable", "no-such-client")
    assert unknown.exit_code == 2


def test_cli_rotates_signing_keys_and_shows_their_status(cli):
    first = cli("keys", "status")
    assert first.exit_code == 0, first.output
    rotated = cli("keys", "rotate", "--alg", "ES256", "--lead-seconds", "0")
    assert rotated.exit_code == 0, rotated.output
    assert "new ES256 key" in rotated.stdout
    status = cli("keys", "status")
    assert "retired" in status.stdout and "active" in status.stdout
    bad = cli("keys", "rotate", "--alg", "HS256")
    assert bad.exit_code == 2 and "unknown algorithm" in bad.output


def test_cli_refuses_a_publish_lead_past_ten_years_as_a_usage_error(cli):
    refused = cli("keys", "rotate", "--lead-seconds", str(10**15))  # overflowed timedelta: a traceback
    assert refused.exit_code == 2 and "--lead-seconds" in refused.output, refused.output


def test_absurd_client_metadata_is_refused_not_a_server_error(services):
    import pytest

    from civid.audit import SYSTEM
    from idp import clients
    from idp.errors import InvalidClientMetadata

    with services.sessions.begin() as db, pytest.raises(InvalidClientMetadata):
        clients.register(db, clients.ClientMetadata(name="x" * 201, redirect_uris=["https://rp.example/cb"]), SYSTEM)


def test_deeply_nested_claims_parameter_is_invalid_request_not_a_crash():
    import pytest

    from idp.claims import parse_claims_parameter
    from idp.claims_extensions import ClaimsExtensions
    from idp.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        parse_claims_parameter('{"userinfo": ' + "[" * 100_000 + "]" * 100_000 + "}", ClaimsExtensions())
