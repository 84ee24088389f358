"""DPoP (RFC 9449): tokens bound to the client's key at /token, presented with proofs at UserInfo, server nonces,
a per-client requirement, and every proof rule refused alone (codes bound at /authorize and /par, and the
metadata: ``test_dpop_authorization``)."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from civid.settings import Settings
from idp import housekeeping
from models import AuditEvent, DpopProof, RefreshToken, utcnow
from server.app import create_app
from server.services import build_services
from tests.conftest import seeded_fixtures
from tests.idp.conftest import basic, issue_code, redeem, register_client
from tests.idp.dpop_keys import DROP, DpopKey, issuer_url, oauth_error, private_jwk
from tests.idp.frontchannel import enrol_people


def _populate(client, keys):  # type: ignore[no-untyped-def]
    return enrol_people(client, keys)


seed, settings, keys, people = seeded_fixtures(_populate, "people")


def _dpop_redeem(client, services, client_id, secret, issued, key: DpopKey, proof: str | None = None, **claims):  # type: ignore[no-untyped-def]
    proof = proof or key.proof("POST", issuer_url(services, "/token"), **claims)
    form = {
        "grant_type": "authorization_code",
        "code": issued.code,
        "redirect_uri": issued.redirect_uri,
        "code_verifier": issued.verifier,
    }
    return client.post("/token", data=form, headers={**basic(client_id, secret), "DPoP": proof})


def _refresh(client, client_id, secret, refresh_token, proof: str | None):  # type: ignore[no-untyped-def]
    headers = basic(client_id, secret) | ({"DPoP": proof} if proof else {})
    return client.post("/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}, headers=headers)


def _userinfo(client, token: str, proof: str | None, scheme: str = "DPoP"):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"{scheme} {token}"} | ({"DPoP": proof} if proof else {})
    return client.get("/userinfo", headers=headers)


@pytest.fixture
def bound(client, services, people):  # type: ignore[no-untyped-def]
    """A client, its key, and the DPoP-bound token response of a code redeemed with a proof."""
    client_id, secret = register_client(services)
    key = DpopKey()
    response = _dpop_redeem(client, services, client_id, secret, issue_code(services, client_id, people.obama), key)
    assert response.status_code == 200, response.text
    return client_id, secret, key, response.json()


# --- binding at the token endpoint -----------------------------------------------------------------
def test_code_redeemed_with_a_proof_gives_dpop_tokens_bound_to_the_key(bound, services):
    client_id, _, key, body = bound
    assert body["token_type"] == "DPoP"  # RFC 9449 §5
    claims = services.signing_keys.verify(body["access_token"], audience=services.settings.resolved_issuer)
    assert claims["cnf"] == {"jkt": key.jkt}  # RFC 9449 §6.1, thumbprint computed by joserfc
    with services.sessions() as db:
        row = db.scalars(select(RefreshToken).where(RefreshToken.dpop_jkt.is_not(None))).one()
        assert row.dpop_jkt == key.jkt


def test_introspection_shows_the_binding(bound, client):
    client_id, secret, key, body = bound
    answer = client.post("/introspect", data={"token": body["access_token"]}, headers=basic(client_id, secret)).json()
    assert answer["active"] and answer["token_type"] == "DPoP" and answer["cnf"] == {"jkt": key.jkt}  # RFC 9449 §6.2


def test_token_request_without_proof_stays_bearer(client, services, people):
    client_id, secret = register_client(services)
    body = redeem(client, client_id, secret, issue_code(services, client_id, people.obama)).json()
    assert body["token_type"] == "Bearer"
    assert "cnf" not in services.signing_keys.verify(body["access_token"], audience=services.settings.resolved_issuer)


@pytest.mark.parametrize("alg", ["EdDSA", "PS256", "RS256"])
def test_other_allowed_algorithms_bind_too(client, services, people, alg):
    client_id, secret = register_client(services)
    key = DpopKey(alg)
    response = _dpop_redeem(client, services, client_id, secret, issue_code(services, client_id, people.obama), key)
    assert response.status_code == 200, response.text
    claims = services.signing_keys.verify(response.json()["access_token"], audience=services.settings.resolved_issuer)
    assert claims["cnf"]["jkt"] == key.jkt


def test_refresh_needs_a_proof_by_the_same_key(bound, client, services):
    client_id, secret, key, body = bound
    refresh_url = issuer_url(services, "/token")
    other = DpopKey()
    oauth_error(
        _refresh(client, client_id, secret, body["refresh_token"], other.proof("POST", refresh_url)),
        400,
        "invalid_grant",
    )
    oauth_error(_refresh(client, client_id, secret, body["refresh_token"], None), 400, "invalid_grant")
    again = _refresh(client, client_id, secret, body["refresh_token"], key.proof("POST", refresh_url))
    assert again.status_code == 200, again.text
    rotated = again.json()
    assert rotated["token_type"] == "DPoP"
    claims = services.signing_keys.verify(rotated["access_token"], audience=services.settings.resolved_issuer)
    assert claims["cnf"] == {"jkt": key.jkt}
    # The rotated token stays bound to the family's key.
    oauth_error(
        _refresh(client, client_id, secret, rotated["refresh_token"], other.proof("POST", refresh_url)),
        400,
        "invalid_grant",
    )


def test_client_requiring_dpop_is_refused_without_a_proof(client, services, people):
    client_id, secret = register_client(services, require_dpop=True)
    issued = issue_code(services, client_id, people.obama)
    body = oauth_error(redeem(client, client_id, secret, issued), 400, "invalid_request")
    assert "DPoP" in body["error_description"]
    assert _dpop_redeem(client, services, client_id, secret, issued, DpopKey()).status_code == 200


# --- the proof's rules, one at a time (RFC 9449 §4.3) ----------------------------------------------
def _none_alg_proof(services) -> str:  # type: ignore[no-untyped-def]
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    key = DpopKey()
    header = {"typ": "dpop+jwt", "alg": "none", "jwk": key.jwk}
    claims = {"jti": "j-none", "htm": "POST", "htu": issuer_url(services, "/token"), "iat": int(time.time())}
    return f"{part(header)}.{part(claims)}."


BAD_PROOFS = {
    "wrong htm": lambda key, url, services: key.proof("GET", url),
    "wrong htu": lambda key, url, services: key.proof("POST", issuer_url(services, "/userinfo")),
    "htu of another host": lambda key, url, services: key.proof("POST", "https://evil.example/token"),
    "stale iat": lambda key, url, services: key.proof("POST", url, iat=int(time.time()) - 3600),
    "future iat": lambda key, url, services: key.proof("POST", url, iat=int(time.time()) + 3600),
    "no jti": lambda key, url, services: key.proof("POST", url, jti=DROP),
    "no iat": lambda key, url, services: key.proof("POST", url, iat=DROP),
    "wrong typ": lambda key, url, services: key.proof("POST", url, header={"typ": "JWT"}),
    "no jwk": lambda key, url, services: key.proof("POST", url, header={"jwk": DROP}),
    "bad signature": lambda key, url, services: key.proof("POST", url, signer=DpopKey().private),
    "private key in jwk": lambda key, url, services: key.proof("POST", url, header={"jwk": private_jwk(key.private)}),
    "alg none": lambda key, url, services: _none_alg_proof(services),
    "HS256": lambda key, url, services: jwt.encode(
        {"jti": "j", "htm": "POST", "htu": url, "iat": int(time.time())},
        "a shared secret of thirty-two bytes!",
        algorithm="HS256",
        headers={"typ": "dpop+jwt", "jwk": {"kty": "oct", "k": "c2VjcmV0"}},
    ),
    "not a JWT": lambda key, url, services: "not-a-jwt",
    "htu no URI": lambda key, url, services: key.proof("POST", "http://localhost:port/token"),
    "RSA under 2048 bits": lambda key, url, services: DpopKey(
        "RS256", rsa.generate_private_key(public_exponent=65537, key_size=1024)
    ).proof("POST", url),
}


@pytest.mark.parametrize("case", list(BAD_PROOFS))
def test_bad_proof_at_the_token_endpoint_is_invalid_dpop_proof(client, services, people, case):
    client_id, secret = register_client(services)
    issued = issue_code(services, client_id, people.obama)
    proof = BAD_PROOFS[case](DpopKey(), issuer_url(services, "/token"), services)
    oauth_error(
        _dpop_redeem(client, services, client_id, secret, issued, DpopKey(), proof=proof), 400, "invalid_dpop_proof"
    )
    # Nothing was issued: the code is still good with a proper proof.
    assert _dpop_redeem(client, services, client_id, secret, issued, DpopKey()).status_code == 200


def test_two_dpop_headers_are_refused(client, services, people):
    client_id, secret = register_client(services)
    issued = issue_code(services, client_id, people.obama)
    key, url = DpopKey(), issuer_url(services, "/token")
    form = {"grant_type": "authorization_code", "code": issued.code, "redirect_uri": issued.redirect_uri}
    headers = [*basic(client_id, secret).items(), ("DPoP", key.proof("POST", url)), ("DPoP", key.proof("POST", url))]
    oauth_error(client.post("/token", data=form, headers=headers), 400, "invalid_dpop_proof")


def test_htu_is_compared_normalised_and_without_query(client, services, people):
    client_id, secret = register_client(services)
    issued = issue_code(services, client_id, people.obama)
    issuer = services.settings.resolved_issuer  # http://localhost:8000 by default
    scheme, rest = issuer.split("://")
    htu = f"{scheme.upper()}://{rest.upper()}/%74oken?x=1#frag"  # RFC 3986 §6.2.2: same URI
    key = DpopKey()
    response = _dpop_redeem(client, services, client_id, secret, issued, key, proof=key.proof("POST", htu))
    assert response.status_code == 200, response.text


def test_replayed_proof_is_refused(client, services, people):
    client_id, secret = register_client(services)
    key = DpopKey()
    proof = key.proof("POST", issuer_url(services, "/token"))
    first = issue_code(services, client_id, people.obama)
    assert _dpop_redeem(client, services, client_id, secret, first, key, proof=proof).status_code == 200
    second = issue_code(services, client_id, people.obama)
    body = oauth_error(
        _dpop_redeem(client, services, client_id, secret, second, key, proof=proof), 400, "invalid_dpop_proof"
    )
    assert "already been used" in body["error_description"]
    with services.sessions() as db:
        [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "oidc.dpop_proof_refused")).all()
    assert event.client_id == client_id and event.detail["endpoint"] == "/token"
    assert "already been used" in event.detail["reason"]


def test_replay_is_refused_by_another_instance_sharing_the_database(client, services, people, tmp_path):
    """Two app instances (each its own engine, secrets and caches) on one database: the jti memory is shared."""
    other_settings = Settings(
        data_dir=tmp_path / "other",
        database_url=services.settings.resolved_database_url,
        issuer=services.settings.resolved_issuer,
        template_keys_file=services.settings.template_keys_file
        or services.settings.data_dir / "keys" / "template-keys.json",
    )
    other_services = build_services(other_settings, open_gallery=False)
    try:
        with TestClient(create_app(services=other_services), raise_server_exceptions=False) as other:
            client_id, secret = register_client(services)
            key = DpopKey()
            proof = key.proof("POST", issuer_url(services, "/token"))
            first = issue_code(services, client_id, people.obama)
            assert _dpop_redeem(client, services, client_id, secret, first, key, proof=proof).status_code == 200
            second = issue_code(services, client_id, people.obama)
            oauth_error(
                _dpop_redeem(other, services, client_id, secret, second, key, proof=proof), 400, "invalid_dpop_proof"
            )
            assert _dpop_redeem(other, services, client_id, secret, second, key).status_code == 200
    finally:
        other_services.close()


def test_expired_proof_records_are_pruned(bound, services):
    with services.sessions.begin() as db:
        assert db.scalars(select(DpopProof)).all()
        db.execute(update(DpopProof).values(expires_at=utcnow() - timedelta(seconds=1)))
    with services.sessions.begin() as db:
        pruned = housekeeping.prune(db, services.settings)
    assert pruned["dpop_proofs"] >= 1
    with services.sessions() as db:
        assert db.scalars(select(DpopProof)).all() == []


# --- UserInfo (RFC 9449 §7) -------------------------------------------------------------------------
def test_userinfo_accepts_the_dpop_scheme_with_a_proof_carrying_ath(bound, client, services):
    _, _, key, body = bound
    token = body["access_token"]
    response = _userinfo(client, token, key.proof("GET", issuer_url(services, "/userinfo"), token=token))
    assert response.status_code == 200, response.text
    assert response.json()["sub"]


def test_bound_token_presented_as_bearer_is_refused(bound, client):
    _, _, _, body = bound
    response = _userinfo(client, body["access_token"], None, scheme="Bearer")
    oauth_error(response, 401, "invalid_token")
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("DPoP ") and 'error="invalid_token"' in challenge and "algs=" in challenge


def test_userinfo_proof_rules(bound, client, services):
    _, _, key, body = bound
    token, url = body["access_token"], issuer_url(services, "/userinfo")
    cases = {
        "missing ath": key.proof("GET", url),
        "ath of another token": key.proof("GET", url, token=token + "x"),
        "wrong htm": key.proof("POST", url, token=token),
        "no proof": None,
    }
    for case, proof in cases.items():
        response = _userinfo(client, token, proof)
        oauth_error(response, 401, "invalid_dpop_proof")
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("DPoP ") and 'error="invalid_dpop_proof"' in challenge, case  # RFC 9449 §7.1
    stolen = _userinfo(client, token, DpopKey().proof("GET", url, token=token))
    oauth_error(stolen, 401, "invalid_token")
    assert stolen.headers["www-authenticate"].startswith("DPoP ")


def test_unbound_token_with_the_dpop_scheme_is_refused(client, services, people):
    client_id, secret = register_client(services)
    token = redeem(client, client_id, secret, issue_code(services, client_id, people.obama)).json()["access_token"]
    key = DpopKey()
    response = _userinfo(client, token, key.proof("GET", issuer_url(services, "/userinfo"), token=token))
    oauth_error(response, 401, "invalid_token")


# --- server nonces (RFC 9449 §8) --------------------------------------------------------------------
def test_nonce_is_required_then_supplied(client, services, people):
    services.settings = services.settings.model_copy(update={"dpop_require_nonce": True})
    client_id, secret = register_client(services)
    issued = issue_code(services, client_id, people.obama)
    key, url = DpopKey(), issuer_url(services, "/token")
    refused = _dpop_redeem(client, services, client_id, secret, issued, key)
    oauth_error(refused, 400, "use_dpop_nonce")
    nonce = refused.headers["dpop-nonce"]
    oauth_error(_dpop_redeem(client, services, client_id, secret, issued, key, nonce="made-up"), 400, "use_dpop_nonce")
    accepted = _dpop_redeem(client, services, client_id, secret, issued, key, proof=key.proof("POST", url, nonce=nonce))
    assert accepted.status_code == 200, accepted.text
    assert accepted.headers["dpop-nonce"]  # the next proof's nonce (RFC 9449 §8.2)
    token = accepted.json()["access_token"]
    userinfo_url = issuer_url(services, "/userinfo")
    challenged = _userinfo(client, token, key.proof("GET", userinfo_url, token=token))
    oauth_error(challenged, 401, "use_dpop_nonce")
    assert 'error="use_dpop_nonce"' in challenged.headers["www-authenticate"]  # RFC 9449 §9
    fresh = challenged.headers["dpop-nonce"]
    assert _userinfo(client, token, key.proof("GET", userinfo_url, token=token, nonce=fresh)).status_code == 200
