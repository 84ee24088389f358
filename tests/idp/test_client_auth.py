"""Client authentication at the token endpoint: the three methods, each refused when wrong.

An authenticated client asking to redeem a bogus refresh token gets ``invalid_grant`` (400); a client
that fails authentication gets ``invalid_client`` (401) before its grant is looked at.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import jwt
import pytest
from sqlalchemy import select

from civid.audit import SYSTEM
from idp import client_auth
from idp.clients import disable
from models import AuditEvent, ClientAssertion
from tests.idp.conftest import ClientKey, assertion_form, basic, register_client
from tests.idp.jwks_server import JwksServer

BOGUS = {"grant_type": "refresh_token", "refresh_token": "bogus"}


def _authenticated(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant", response.text


def _refused(response, status: int = 401, error: str = "invalid_client") -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.json()
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic")  # RFC 6749 §5.2
    return response.json()["error_description"]


# --- client_secret_basic / client_secret_post ---------------------------------------------------------------
def test_client_secret_basic_accepts_the_right_secret_and_refuses_others(client, services):
    client_id, secret = register_client(services)
    _authenticated(client.post("/token", data=BOGUS, headers=basic(client_id, secret)))
    _refused(client.post("/token", data=BOGUS, headers=basic(client_id, secret + "x")))
    _refused(client.post("/token", data=BOGUS, headers=basic("unknown", secret)))
    _refused(client.post("/token", data=BOGUS))  # no authentication at all
    _refused(client.post("/token", data=BOGUS, headers={"Authorization": "Basic !!!"}))


def test_basic_credentials_are_form_urlencoded_before_base64(client, services):
    client_id, secret = register_client(services)
    encoded = "".join(f"%{ord(c):02X}" for c in secret)  # RFC 6749 §2.3.1: the server form-decodes both parts
    raw = base64.b64encode(f"{client_id}:{encoded}".encode()).decode()
    _authenticated(client.post("/token", data=BOGUS, headers={"Authorization": f"Basic {raw}"}))


def test_a_client_must_use_its_registered_method(client, services):
    basic_id, basic_secret = register_client(services)
    # A client_secret_basic client posting its secret in the body is refused (OIDC Core §9).
    _refused(client.post("/token", data={**BOGUS, "client_id": basic_id, "client_secret": basic_secret}))
    post_id, post_secret = register_client(services, token_endpoint_auth_method="client_secret_post")
    _authenticated(client.post("/token", data={**BOGUS, "client_id": post_id, "client_secret": post_secret}))
    _refused(client.post("/token", data={**BOGUS, "client_id": post_id, "client_secret": "wrong"}))
    _refused(client.post("/token", data=BOGUS, headers=basic(post_id, post_secret)))


def test_two_authentication_methods_at_once_or_a_mismatched_client_id_are_refused(client, services):
    client_id, secret = register_client(services)
    both = client.post(
        "/token", data={**BOGUS, "client_id": client_id, "client_secret": secret}, headers=basic(client_id, secret)
    )
    _refused(both, 400, "invalid_request")  # RFC 6749 §2.3
    other_id, _ = register_client(services, name="Other")
    _refused(client.post("/token", data={**BOGUS, "client_id": other_id}, headers=basic(client_id, secret)))


def test_disabled_client_cannot_authenticate(client, services):
    client_id, secret = register_client(services)
    with services.sessions.begin() as session:
        disable(session, client_id, SYSTEM)
    _refused(client.post("/token", data=BOGUS, headers=basic(client_id, secret)))


def test_failed_authentication_is_audited_without_the_secret(client, services):
    client_id, secret = register_client(services)
    client.post("/token", data=BOGUS, headers=basic(client_id, "wrong-secret-value"))
    with services.sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "client.auth_failed")).one()
    assert event.subject_id == client_id and event.detail["reason"] == "wrong client secret"
    assert event.detail["method"] == "client_secret_basic" and event.detail["endpoint"] == "/token"
    assert "wrong-secret-value" not in json.dumps(event.detail) and secret not in json.dumps(event.detail)


# --- private_key_jwt (RFC 7523) -----------------------------------------------------------------------------
@pytest.fixture
def rp_key() -> ClientKey:
    return ClientKey()


def _jwt_client(services, key: ClientKey, **meta) -> str:  # type: ignore[no-untyped-def]
    client_id, secret = register_client(services, token_endpoint_auth_method="private_key_jwt", jwks=key.jwks, **meta)
    assert secret is None
    return client_id


def _post(client, assertion: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/token", data={**BOGUS, **assertion_form(assertion), **extra})


def test_private_key_jwt_accepts_issuer_or_token_endpoint_audience(client, services, rp_key):
    client_id = _jwt_client(services, rp_key)
    issuer = services.settings.resolved_issuer
    _authenticated(_post(client, rp_key.assertion(client_id, issuer)))
    _authenticated(_post(client, rp_key.assertion(client_id, issuer + "/token"), client_id=client_id))
    _authenticated(_post(client, rp_key.assertion(client_id, ["https://elsewhere.example", issuer])))


def test_private_key_jwt_refuses_expired_overlong_and_future_assertions(client, services, rp_key):
    client_id = _jwt_client(services, rp_key)
    issuer = services.settings.resolved_issuer
    now = int(time.time())
    assert "expired" in _refused(_post(client, rp_key.assertion(client_id, issuer, exp=now - 120, iat=now - 180)))
    max_age = services.settings.client_assertion_max_age_s
    # Without iat, exp itself must be near; with iat, a long exp is cut at iat + max_age (Authlib uses 1 h).
    assert "expire within" in _refused(
        _post(client, rp_key.assertion(client_id, issuer, exp=now + max_age + 600, iat=None))
    )
    _authenticated(_post(client, rp_key.assertion(client_id, issuer, exp=now + 3600)))
    assert "issued more than" in _refused(
        _post(client, rp_key.assertion(client_id, issuer, exp=now + 3600, iat=now - max_age - 120))
    )
    _refused(_post(client, rp_key.assertion(client_id, issuer, iat=now + 600)))  # issued in the future
    _refused(_post(client, rp_key.assertion(client_id, issuer, exp=None)))  # exp is required


def test_private_key_jwt_signed_by_an_unregistered_key_is_refused(client, services, rp_key):
    client_id = _jwt_client(services, rp_key)
    issuer = services.settings.resolved_issuer
    stranger = ClientKey(kid=rp_key.kid)  # same kid, different key: the signature must not verify
    assert "not signed by a key" in _refused(_post(client, stranger.assertion(client_id, issuer)))
    _refused(_post(client, ClientKey().assertion(client_id, issuer)))  # unknown kid
    hs = jwt.encode(
        {"iss": client_id, "sub": client_id, "aud": issuer, "exp": int(time.time()) + 60, "jti": "x"},
        "a-shared-secret-of-thirty-two-bytes!",
        algorithm="HS256",
    )
    _refused(_post(client, hs))  # symmetric algorithms are not accepted
    unsigned = jwt.encode(
        {"iss": client_id, "sub": client_id, "aud": issuer, "exp": int(time.time()) + 60, "jti": "y"},
        None,
        algorithm="none",
    )
    _refused(_post(client, unsigned))


def test_private_key_jwt_with_wrong_audience_issuer_or_subject_is_refused(client, services, rp_key):
    client_id = _jwt_client(services, rp_key)
    issuer = services.settings.resolved_issuer
    said = _refused(_post(client, rp_key.assertion(client_id, "https://other-op.example")))
    assert "audience" in said and f"{issuer}/token" in said and f"{issuer} " in said  # what /token accepts
    _refused(_post(client, rp_key.assertion(client_id, issuer, iss="someone-else")))
    other_id = _jwt_client(services, ClientKey())
    # Signed by this client's key but claiming to be another client: that client's keys do not verify it.
    _refused(_post(client, rp_key.assertion(other_id, issuer)))
    _refused(_post(client, rp_key.assertion(client_id, issuer), client_id=other_id))


def test_private_key_jwt_jti_replay_is_refused(client, services, rp_key):
    client_id = _jwt_client(services, rp_key)
    assertion = rp_key.assertion(client_id, services.settings.resolved_issuer)
    _authenticated(_post(client, assertion))
    assert "already been used" in _refused(_post(client, assertion))
    _refused(_post(client, rp_key.assertion(client_id, services.settings.resolved_issuer, jti=None)))
    with services.sessions() as session:
        assert session.scalars(select(ClientAssertion.client_id)).all() == [client_id]


def test_private_key_jwt_client_cannot_use_a_secret_and_needs_the_jwt_bearer_type(client, services, rp_key):
    client_id = _jwt_client(services, rp_key)
    _refused(client.post("/token", data=BOGUS, headers=basic(client_id, "anything")))
    assertion = rp_key.assertion(client_id, services.settings.resolved_issuer)
    _refused(
        client.post(
            "/token",
            data={
                **BOGUS,
                "client_assertion": assertion,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
            },
        )
    )


# --- private_key_jwt with a jwks_uri ---------------------------------------------------------------------------
@pytest.fixture
def jwks_server(rp_key) -> Iterator[JwksServer]:  # type: ignore[no-untyped-def]
    server = JwksServer(rp_key.jwks)
    client_auth.JWKS_CACHE.clear()
    yield server
    server.stop()
    client_auth.JWKS_CACHE.clear()


def test_private_key_jwt_with_jwks_uri_fetches_and_caches_the_keys(client, services, rp_key, jwks_server, monkeypatch):
    monkeypatch.setattr(services.settings, "outbound_allow_private", True)  # the portal runs on loopback here
    client_id, _ = register_client(services, token_endpoint_auth_method="private_key_jwt", jwks_uri=jwks_server.url)
    issuer = services.settings.resolved_issuer
    _authenticated(_post(client, rp_key.assertion(client_id, issuer)))
    _authenticated(_post(client, rp_key.assertion(client_id, issuer)))
    assert jwks_server.fetches == 1  # cached

    rotated = ClientKey()
    jwks_server.jwks = rotated.jwks  # the client rotates its key
    monkeypatch.setattr(client_auth, "JWKS_REFETCH_MIN_S", 0)  # (refetches are rate-limited to one per 10 s)
    _authenticated(_post(client, rotated.assertion(client_id, issuer)))  # unknown kid: refetched once
    assert jwks_server.fetches == 2
    _refused(_post(client, rp_key.assertion(client_id, issuer)))  # the old key is gone


def test_an_oversized_jwks_uri_answer_is_refused_without_reading_it_all():
    import httpx

    chunk, chunks, served = b" " * (256 * 1024), 32, []

    def endless_body() -> Iterator[bytes]:  # 8 MiB without a Content-Length, produced as it is read
        for _ in range(chunks):
            served.append(len(chunk))
            yield chunk

    cache = client_auth.JwksCache()
    cache.transport = httpx.MockTransport(lambda request: httpx.Response(200, content=endless_body()))
    with pytest.raises(client_auth.InvalidClient):
        cache.get("https://rp.example.bz/jwks.json")
    # A client's jwks_uri is read up to JWKS_MAX_BYTES, never into memory whole (unbounded input).
    assert sum(served) <= client_auth.JWKS_MAX_BYTES + len(chunk)


# --- a jwks_uri is fetched from public addresses only (civid/outbound.py) ----------------------------------------
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_jwks_uri_on_a_private_address_is_never_fetched_by_default(client, services, rp_key, jwks_server, host):
    # A registrar could otherwise aim civid at its own network (SSRF): loopback, the LAN, a metadata service.
    url = jwks_server.url.replace("127.0.0.1", host)
    client_id, _ = register_client(services, token_endpoint_auth_method="private_key_jwt", jwks_uri=url)
    description = _refused(_post(client, rp_key.assertion(client_id, services.settings.resolved_issuer)))
    assert "not on a public address" in description
    assert jwks_server.fetches == 0  # refused before connecting
    with services.sessions() as session:
        failure = session.scalars(select(AuditEvent).where(AuditEvent.action == "client.auth_failed")).all()[-1]
    assert failure.client_id and "public address" in json.dumps(failure.detail)
