"""Discovery (OIDC Discovery §3, RFC 8414) and the JWKS: what a relying-party library reads to integrate."""

from __future__ import annotations

from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet

from idp.acr import ACR_VALUES_SUPPORTED
from tests.conftest import seeded_fixtures
from tests.idp.conftest import enrol_citizen, issue_code, redeem, register_client


def _populate(client, keys):  # type: ignore[no-untyped-def]
    return enrol_citizen(client, keys, given_name="Barack", family_name="Obama")


seed, settings, keys, citizen = seeded_fixtures(_populate, "citizen")


def test_discovery_document_states_what_the_op_does(client, services):
    response = client.get("/.well-known/openid-configuration")
    assert response.status_code == 200 and "max-age" in response.headers["cache-control"]
    meta = response.json()
    issuer = services.settings.resolved_issuer
    assert meta["issuer"] == issuer
    for name, path in (
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks.json"),
        ("registration_endpoint", "/register"),
        ("end_session_endpoint", "/logout"),
        ("pushed_authorization_request_endpoint", "/par"),
        ("introspection_endpoint", "/introspect"),
        ("revocation_endpoint", "/revoke"),
    ):
        assert meta[name] == issuer + path
    assert meta["response_types_supported"] == ["code"] and meta["response_modes_supported"] == ["query"]
    assert meta["code_challenge_methods_supported"] == ["S256"]  # plain is not offered
    # credentials/ adds OpenID4VCI's pre-authorized code grant (idp.grant_extensions).
    assert set(meta["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:pre-authorized_code",
    }
    assert set(meta["subject_types_supported"]) == {"pairwise", "public"}
    assert set(meta["id_token_signing_alg_values_supported"]) == {"ES256", "RS256"}
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",  # a wallet only (idp.clients.PUBLIC_AUTH_METHOD)
    }
    assert "none" not in meta["token_endpoint_auth_signing_alg_values_supported"]
    assert not any(alg.startswith("HS") for alg in meta["token_endpoint_auth_signing_alg_values_supported"])
    assert meta["acr_values_supported"] == ACR_VALUES_SUPPORTED
    assert {"openid", "profile", "email", "phone", "address", "uin"} <= set(meta["scopes_supported"])
    assert {"sub", "acr", "amr", "uin", "given_name", "email"} <= set(meta["claims_supported"])
    assert meta["claims_parameter_supported"] is True and meta["request_parameter_supported"] is False
    assert meta["request_uri_parameter_supported"] is False and meta["require_pushed_authorization_requests"] is False
    assert meta["ui_locales_supported"] == ["en", "es"]
    assert set(meta["prompt_values_supported"]) == {"none", "login", "consent"}
    assert meta["authorization_response_iss_parameter_supported"] is True  # RFC 9207
    assert meta["backchannel_logout_supported"] is True and meta["frontchannel_logout_supported"] is False
    assert meta["backchannel_logout_session_supported"] is True  # logout tokens and ID tokens carry sid


def test_jwks_publishes_public_keys_only_with_kid_and_alg(client):
    response = client.get("/jwks.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jwk-set+json")
    assert "max-age=300" in response.headers["cache-control"]
    keys = response.json()["keys"]
    assert {key["alg"] for key in keys} == {"ES256", "RS256"}
    for key in keys:
        assert key["kid"] and key["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)  # no private members


def test_an_independent_jose_library_verifies_tokens_against_the_jwks(client, services, citizen):
    for alg in ("ES256", "RS256"):
        client_id, secret = register_client(services, id_token_signed_response_alg=alg, name=f"{alg} portal")
        body = redeem(client, client_id, secret, issue_code(services, client_id, citizen)).json()
        key_set = KeySet.import_key_set(client.get("/jwks.json").json())
        token = jose_jwt.decode(body["id_token"], key_set, algorithms=[alg])
        assert token.header["alg"] == alg and token.claims["aud"] == client_id
        assert token.claims["iss"] == services.settings.resolved_issuer
        access = jose_jwt.decode(body["access_token"], key_set, algorithms=["ES256"])
        assert access.header["typ"] == "at+jwt" and access.claims["client_id"] == client_id
