"""UserInfo (OIDC Core §5.3): bearer access token in, consented claims out; anything else 401 invalid_token."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from models import AccessToken, Client, utcnow
from tests.conftest import seeded_fixtures
from tests.idp.conftest import basic, enrol_citizen, issue_code, redeem, register_client


def _populate(client, keys):  # type: ignore[no-untyped-def]
    return enrol_citizen(client, keys, given_name="Barack", family_name="Obama")


seed, settings, keys, citizen = seeded_fixtures(_populate, "citizen")


def _tokens(client, services, citizen, *, client_meta=None, **code):  # type: ignore[no-untyped-def]
    client_id, secret = register_client(services, **(client_meta or {}))
    body = redeem(client, client_id, secret, issue_code(services, client_id, citizen, **code)).json()
    return client_id, secret, body


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _invalid_token(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == 'Bearer realm="civid", error="invalid_token"'  # RFC 6750 §3
    assert response.json()["error"] == "invalid_token"


def test_userinfo_releases_consented_scope_claims_with_the_pairwise_sub(client, services, citizen):
    client_id, _, body = _tokens(client, services, citizen, scope="openid profile email")
    response = client.get("/userinfo", headers=_bearer(body["access_token"]))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    info = response.json()
    id_token = services.signing_keys.verify(body["id_token"], audience=client_id)
    assert info["sub"] == id_token["sub"] and info["sub"] != citizen.uin
    assert info["given_name"] == "Barack" and info["family_name"] == "Obama" and info["email"] == "maria@example.bz"
    assert info["email_verified"] is False
    assert "uin" not in info and "phone_number" not in info and "address" not in info  # not asked for


def test_userinfo_by_post_with_header_or_form_token(client, services, citizen):
    _, _, body = _tokens(client, services, citizen)
    assert client.post("/userinfo", headers=_bearer(body["access_token"])).status_code == 200
    by_form = client.post("/userinfo", data={"access_token": body["access_token"]})
    assert by_form.status_code == 200 and by_form.json()["given_name"] == "Barack"  # RFC 6750 §2.2
    both = client.post("/userinfo", data={"access_token": body["access_token"]}, headers=_bearer(body["access_token"]))
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"


def test_userinfo_releases_only_what_the_citizen_consented_to(client, services, citizen):
    _, _, body = _tokens(client, services, citizen, scope="openid profile email", consent_claims=["given_name"])
    info = client.get("/userinfo", headers=_bearer(body["access_token"])).json()
    assert info["given_name"] == "Barack" and "family_name" not in info and "email" not in info


def test_uin_is_released_only_to_an_entitled_client(client, services, citizen):
    _, _, plain = _tokens(client, services, citizen, scope="openid uin")
    assert "uin" not in client.get("/userinfo", headers=_bearer(plain["access_token"])).json()
    _, _, entitled = _tokens(
        client,
        services,
        citizen,
        scope="openid uin",
        client_meta={"entitlements": ["uin"], "allowed_scopes": ["openid", "uin"], "name": "Tax portal"},
    )
    assert client.get("/userinfo", headers=_bearer(entitled["access_token"])).json()["uin"] == citizen.uin


def test_claims_parameter_userinfo_members_are_released(client, services, citizen):
    claims = {"userinfo": {"phone_number": {"essential": True}}}
    _, _, body = _tokens(client, services, citizen, scope="openid", claims=claims)
    info = client.get("/userinfo", headers=_bearer(body["access_token"])).json()
    assert info["phone_number"] == "+5016101234" and "given_name" not in info


def test_revoked_expired_forged_or_missing_tokens_are_refused(client, services, citizen):
    client_id, secret, body = _tokens(client, services, citizen)
    assert (
        client.post("/revoke", data={"token": body["access_token"]}, headers=basic(client_id, secret)).status_code
        == 200
    )
    _invalid_token(client.get("/userinfo", headers=_bearer(body["access_token"])))

    _, _, body = _tokens(client, services, citizen)
    with services.sessions.begin() as session:
        session.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    _invalid_token(client.get("/userinfo", headers=_bearer(body["access_token"])))

    # An ID token is not an access token (typ), and a tampered signature does not verify.
    _invalid_token(client.get("/userinfo", headers=_bearer(body["id_token"])))
    head, payload, signature = body["access_token"].split(".")
    _invalid_token(client.get("/userinfo", headers=_bearer(f"{head}.{payload}.{signature[::-1]}")))
    _invalid_token(client.get("/userinfo", headers=_bearer("not-a-jwt")))
    missing = client.get("/userinfo")
    # RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == 'Bearer realm="civid"'


def test_tokens_of_a_disabled_client_are_refused(client, services, citizen):
    client_id, _, body = _tokens(client, services, citizen)
    with services.sessions.begin() as session:
        session.execute(update(Client).where(Client.client_id == client_id).values(disabled_at=utcnow()))
    _invalid_token(client.get("/userinfo", headers=_bearer(body["access_token"])))


def test_a_token_without_the_openid_scope_is_insufficient_scope_with_a_bearer_challenge(client, services, citizen):
    client_id, secret, body = _tokens(client, services, citizen, scope="openid profile")
    narrowed = client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "scope": "profile"},
        headers=basic(client_id, secret),
    )
    assert narrowed.status_code == 200 and narrowed.json()["scope"] == "profile", narrowed.text
    response = client.get("/userinfo", headers=_bearer(narrowed.json()["access_token"]))
    assert response.status_code == 403 and response.json()["error"] == "insufficient_scope"  # OIDC Core §5.3
    # RFC 6750 §3: a token that does not enable access MUST be answered with a WWW-Authenticate challenge.
    assert response.headers["www-authenticate"] == 'Bearer realm="civid", error="insufficient_scope"'
