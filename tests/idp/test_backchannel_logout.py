"""OpenID Connect Back-Channel Logout 1.0: a citizen signs out at civid, and every portal that received tokens
from that login session gets a logout token POSTed to its backchannel_logout_uri, checked here by a real HTTP
receiver on loopback and verified with an independent JOSE library (joserfc) against civid's /jwks.json."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt as pyjwt
import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy import select

from civid.audit import SYSTEM
from civid.auth import create_api_key
from idp.backchannel_logout import LOGOUT_EVENT, BackchannelLogouts
from models import AuditEvent, BackchannelLogout, LoginSession
from tests.conftest import seeded_fixtures
from tests.idp.conftest import REDIRECT_URI, basic
from tests.idp.frontchannel import BIDEN_PHOTO, Portal, code_for, enrol_people, form_value, location, portal
from tests.idp.logout_receiver import LogoutReceiver

seed, settings, keys, people = seeded_fixtures(
    enrol_people, "people", backchannel_logout_retry_delay_s=0.05, backchannel_logout_attempts=3
)
AFTER = "https://portal.example.bz/signed-out"
TAX_CALLBACK = "https://tax.example.bz/callback"  # another host: another sector, another pairwise sub


@pytest.fixture
def receiver(services, monkeypatch) -> Any:
    # The receiver is on loopback, which civid's outbound HTTP refuses unless allowed (SSRF rule).
    monkeypatch.setattr(services.settings, "outbound_allow_private", True)
    server = LogoutReceiver()
    yield server
    server.stop()


def signed_in_with_tokens(client, rp: Portal, citizen, **overrides: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The front channel (face login in this browser's session, consent), then the token endpoint's answer."""
    query = code_for(client, rp, citizen, **overrides)
    response = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": rp.redirect_uri,
            "code_verifier": rp.verifier,
        },
        headers=basic(rp.client_id, rp.secret),
    )
    assert response.status_code == 200, response.text
    return response.json()


def log_out(client, rp: Portal, id_token: str):  # type: ignore[no-untyped-def]
    """RP-initiated logout with the portal's ID token as hint: no confirmation page, straight back to it."""
    return client.get(
        "/logout", params={"id_token_hint": id_token, "post_logout_redirect_uri": AFTER}, follow_redirects=False
    )


def civid_keys(client) -> KeySet:  # type: ignore[no-untyped-def]
    return KeySet.import_key_set(client.get("/jwks.json").json())


def verified_logout_token(
    client,
    token: str,
    audience: str,  # type: ignore[no-untyped-def]
    issuer: str,
) -> tuple[dict, dict]:
    """(header, claims) of a logout token, checked by joserfc as a portal would (§2.6)."""
    decoded = jose_jwt.decode(token, civid_keys(client), algorithms=["ES256", "RS256"])
    JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        iat={"essential": True},
        exp={"essential": True},
        jti={"essential": True},
        events={"essential": True},
    ).validate(decoded.claims)
    return dict(decoded.header), dict(decoded.claims)


def jose_aud(token: str) -> str:
    """The audience of a token, read without checking (to choose what to check it against)."""
    return str(pyjwt.decode(token, options={"verify_signature": False})["aud"])


def wait_until(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    return check()


def audit_events(services, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def outbox_size(services) -> int:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return len(db.scalars(select(BackchannelLogout.id)).all())


def test_logout_posts_a_logout_token_the_portal_can_verify(client, services, people, receiver):
    rp = portal(
        services,
        post_logout_redirect_uris=[AFTER],
        backchannel_logout_uri=receiver.url,
        backchannel_logout_session_required=True,
    )
    tokens = signed_in_with_tokens(client, rp, people.obama)
    id_token = dict(jose_jwt.decode(tokens["id_token"], civid_keys(client), algorithms=["ES256", "RS256"]).claims)
    assert id_token["sid"]  # Back-Channel Logout §2.1: ID tokens carry the session's sid

    assert location(log_out(client, rp, tokens["id_token"])) == AFTER
    received = receiver.wait_for(1)
    assert len(received) == 1
    assert received[0].content_type == "application/x-www-form-urlencoded"  # §2.5
    assert received[0].path == "/oidc/backchannel-logout"
    header, claims = verified_logout_token(
        client, received[0].logout_token, rp.client_id, services.settings.resolved_issuer
    )
    assert header["typ"] == "logout+jwt" and header["kid"]  # §2.4
    assert claims["events"] == {LOGOUT_EVENT: {}} and "nonce" not in claims
    assert claims["sid"] == id_token["sid"] and claims["sub"] == id_token["sub"]
    assert claims["exp"] - claims["iat"] <= 120

    sent = wait_until(lambda: audit_events(services, "logout.backchannel_sent"))
    assert [(e.client_id, e.detail["attempt"], e.detail["status"]) for e in sent] == [(rp.client_id, 1, 200)]
    assert received[0].logout_token not in str(sent[0].detail)  # the audit trail never holds the token
    assert audit_events(services, "logout")[-1].detail["backchannel_logouts"] == 1
    assert outbox_size(services) == 0


def test_each_portal_of_the_session_gets_its_own_sub_and_one_without_a_uri_gets_nothing(
    client, services, people, receiver
):
    health = portal(services, post_logout_redirect_uris=[AFTER], backchannel_logout_uri=receiver.url)
    tax = portal(services, redirect_uris=[TAX_CALLBACK], backchannel_logout_uri=receiver.url + "?portal=tax")
    quiet = portal(services, redirect_uris=["https://quiet.example.bz/callback"])
    id_tokens = {
        rp.client_id: signed_in_with_tokens(client, rp, people.obama)["id_token"] for rp in (health, tax, quiet)
    }  # one login: the later portals reuse the session
    keys = civid_keys(client)
    decoded = {
        cid: dict(jose_jwt.decode(tok, keys, algorithms=["ES256", "RS256"]).claims) for cid, tok in id_tokens.items()
    }
    assert len({claims["sid"] for claims in decoded.values()}) == 1
    assert decoded[health.client_id]["sub"] != decoded[tax.client_id]["sub"]  # pairwise per sector

    log_out(client, health, id_tokens[health.client_id])
    received = receiver.wait_for(2)
    assert len(received) == 2
    by_audience = {}
    for request in received:
        _, claims = verified_logout_token(
            client, request.logout_token, jose_aud(request.logout_token), services.settings.resolved_issuer
        )
        by_audience[claims["aud"]] = (claims, request.path)
    assert set(by_audience) == {health.client_id, tax.client_id}  # the portal without a URI gets nothing
    for rp in (health, tax):
        claims, _ = by_audience[rp.client_id]
        assert claims["sub"] == decoded[rp.client_id]["sub"] and claims["sid"] == decoded[rp.client_id]["sid"]
    assert by_audience[tax.client_id][1] == "/oidc/backchannel-logout?portal=tax"
    sent = wait_until(
        lambda: (
            len(audit_events(services, "logout.backchannel_sent")) == 2
            and audit_events(services, "logout.backchannel_sent")
        )
    )
    assert {e.client_id for e in sent} == {health.client_id, tax.client_id}
    time.sleep(0.2)
    assert len(receiver.received) == 2


def refreshed(client, rp: Portal, tokens: dict[str, Any]):  # type: ignore[no-untyped-def]
    return client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic(rp.client_id, rp.secret),
    )


def sid_of(client, id_token: str) -> str:  # type: ignore[no-untyped-def]
    return str(jose_jwt.decode(id_token, civid_keys(client), algorithms=["ES256", "RS256"]).claims["sid"])


@pytest.fixture
def two_portals(services, receiver) -> tuple[Portal, Portal]:  # type: ignore[no-untyped-def]
    """A health portal (with refresh tokens) and a tax portal (another sector), both told of logouts."""
    health = portal(
        services,
        post_logout_redirect_uris=[AFTER],
        backchannel_logout_uri=receiver.url,
        allowed_scopes=["openid", "profile", "offline_access"],
    )
    return health, portal(services, redirect_uris=[TAX_CALLBACK], backchannel_logout_uri=receiver.url)


def test_logging_in_again_keeps_earlier_portals_signed_in_and_logout_then_ends_them_all(
    client, services, people, receiver, two_portals
):
    health, tax = two_portals
    first = signed_in_with_tokens(client, health, people.obama)
    # The tax portal wants a fresh login (prompt=login): the same person, a new session replacing the first.
    second = signed_in_with_tokens(client, tax, people.obama, prompt="login")
    assert sid_of(client, first["id_token"]) != sid_of(client, second["id_token"])
    time.sleep(0.3)
    assert receiver.received == []  # re-authenticating signs the citizen out of nothing
    renewed = refreshed(client, health, first)
    assert renewed.status_code == 200, renewed.text

    log_out(client, tax, second["id_token"])
    received = receiver.wait_for(2)
    sids = {}
    for request in received:
        _, claims = verified_logout_token(
            client, request.logout_token, jose_aud(request.logout_token), services.settings.resolved_issuer
        )
        sids[claims["aud"]] = claims["sid"]
    # Each portal is told with the sid of the session it signed in from.
    assert sids == {
        health.client_id: sid_of(client, first["id_token"]),
        tax.client_id: sid_of(client, second["id_token"]),
    }
    assert refreshed(client, health, renewed.json()).json()["error"] == "invalid_grant"  # its tokens ended too
    assert audit_events(services, "logout")[-1].detail["earlier_sids"] == [sid_of(client, first["id_token"])]


def test_another_person_signing_in_on_the_browser_logs_the_first_out_of_their_portals(
    client, services, people, receiver, two_portals
):
    health, tax = two_portals
    obama = signed_in_with_tokens(client, health, people.obama)
    signed_in_with_tokens(client, tax, people.biden, photo_name=BIDEN_PHOTO, prompt="login")  # a shared desk
    [request] = receiver.wait_for(1)
    _, claims = verified_logout_token(client, request.logout_token, health.client_id, services.settings.resolved_issuer)
    assert claims["sid"] == sid_of(client, obama["id_token"])
    assert refreshed(client, health, obama).json()["error"] == "invalid_grant"
    logout = audit_events(services, "logout")[-1]
    assert logout.person == people.obama.uin and logout.detail["reason"] == "another person signed in on this browser"


def test_a_delivery_whose_sender_died_mid_attempt_is_given_up_once_its_attempts_are_spent(
    client, services, people, receiver
):
    rp = portal(services, post_logout_redirect_uris=[AFTER], backchannel_logout_uri=receiver.url)
    tokens = signed_in_with_tokens(client, rp, people.obama)
    services.backchannel_logout.stop()
    log_out(client, rp, tokens["id_token"])
    with services.sessions.begin() as db:  # as a process that claimed the last attempt and died leaves it
        row = db.scalars(select(BackchannelLogout)).one()
        row.attempts = services.settings.backchannel_logout_attempts
    sender = BackchannelLogouts(services.settings, services.sessions, services.signing_keys, services.idp_secrets)
    assert sender.deliver_due() is None  # nothing left
    assert receiver.received == []
    [failed] = audit_events(services, "logout.backchannel_failed")
    assert failed.client_id == rp.client_id and failed.detail["will_retry"] is False
    assert "interrupted" in failed.detail["error"]


def test_a_failing_portal_is_retried_then_audited_as_failed_and_logout_is_unaffected(
    client, services, people, receiver
):
    receiver.status = 500
    rp = portal(services, post_logout_redirect_uris=[AFTER], backchannel_logout_uri=receiver.url)
    tokens = signed_in_with_tokens(client, rp, people.obama)
    assert location(log_out(client, rp, tokens["id_token"])) == AFTER
    with services.sessions() as db:
        assert db.scalars(select(LoginSession.ended_at)).all()[-1] is not None

    assert len(receiver.wait_for(3)) == 3  # CIVID_BACKCHANNEL_LOGOUT_ATTEMPTS=3 in this module
    failed = wait_until(
        lambda: (
            len(audit_events(services, "logout.backchannel_failed")) == 3
            and audit_events(services, "logout.backchannel_failed")
        )
    )
    assert [(e.detail["attempt"], e.detail["status"], e.detail["will_retry"]) for e in failed] == [
        (1, 500, True),
        (2, 500, True),
        (3, 500, False),
    ]
    assert all(e.client_id == rp.client_id for e in failed)
    assert audit_events(services, "logout.backchannel_sent") == []
    assert wait_until(lambda: outbox_size(services) == 0)
    time.sleep(0.3)
    assert len(receiver.received) == 3  # given up: no fourth attempt


def test_a_refusal_is_final_and_a_slow_portal_does_not_hold_up_the_logout_page(client, services, people, receiver):
    receiver.status, receiver.delay_s = 400, 2.0
    rp = portal(services, post_logout_redirect_uris=[AFTER], backchannel_logout_uri=receiver.url)
    tokens = signed_in_with_tokens(client, rp, people.obama)
    started = time.monotonic()
    assert location(log_out(client, rp, tokens["id_token"])) == AFTER
    assert time.monotonic() - started < 1.5  # the portal takes 2 s to answer; the citizen does not wait for it
    failed = wait_until(lambda: audit_events(services, "logout.backchannel_failed"))
    assert [(e.detail["status"], e.detail["will_retry"]) for e in failed] == [(400, False)]
    assert len(receiver.received) == 1


def test_undelivered_logout_tokens_survive_a_restart(client, services, people, receiver):
    rp = portal(services, post_logout_redirect_uris=[AFTER], backchannel_logout_uri=receiver.url)
    tokens = signed_in_with_tokens(client, rp, people.obama)
    services.backchannel_logout.stop()  # civid stops before the sender could deliver
    log_out(client, rp, tokens["id_token"])
    time.sleep(0.2)
    assert receiver.received == [] and outbox_size(services) == 1

    restarted = BackchannelLogouts(services.settings, services.sessions, services.signing_keys, services.idp_secrets)
    restarted.wake()  # what the service does at start-up
    try:
        received = receiver.wait_for(1)
        assert len(received) == 1
        verified_logout_token(client, received[0].logout_token, rp.client_id, services.settings.resolved_issuer)
        assert wait_until(lambda: outbox_size(services) == 0)
    finally:
        restarted.stop()


def test_a_private_address_is_refused_without_outbound_allow_private(client, services, people):
    server = LogoutReceiver()  # on loopback, and CIVID_OUTBOUND_ALLOW_PRIVATE is left off here
    try:
        rp = portal(services, post_logout_redirect_uris=[AFTER], backchannel_logout_uri=server.url)
        log_out(client, rp, signed_in_with_tokens(client, rp, people.obama)["id_token"])
        failed = wait_until(lambda: audit_events(services, "logout.backchannel_failed"))
        assert [(e.detail["status"], e.detail["will_retry"]) for e in failed] == [(None, False)]
        assert "non-public" in failed[0].detail["error"] and server.received == []
    finally:
        server.stop()


def test_logout_without_tokens_issued_sends_nothing(client, services, people, receiver):
    rp = portal(services, post_logout_redirect_uris=[AFTER], backchannel_logout_uri=receiver.url)
    code_for(client, rp, people.obama)  # a code, never redeemed: the portal holds no token of this session
    page = client.get("/logout", params={"client_id": rp.client_id})
    client.post(
        "/logout",
        data={"confirm": "yes", "client_id": rp.client_id, "csrf_token": form_value(page.text, "csrf_token")},
        follow_redirects=False,
    )
    time.sleep(0.3)
    assert receiver.received == [] and outbox_size(services) == 0
    assert audit_events(services, "logout")[-1].detail["backchannel_logouts"] == 0


# --- registration and discovery -------------------------------------------------------------------------------
@pytest.fixture
def registrar(services) -> dict[str, str]:
    with services.sessions.begin() as session:
        _, secret = create_api_key(session, "registrar", "registrar", SYSTEM)
    return {"Authorization": f"Bearer {secret}"}


def test_registration_takes_the_back_channel_metadata_and_refuses_a_bad_uri(client, keys, registrar):
    body = {
        "redirect_uris": [REDIRECT_URI],
        "backchannel_logout_uri": "https://portal.example.bz/bcl",
        "backchannel_logout_session_required": True,
    }
    registered = client.post("/register", json=body, headers=registrar)
    assert registered.status_code == 201, registered.text
    assert registered.json()["backchannel_logout_uri"] == "https://portal.example.bz/bcl"
    assert registered.json()["backchannel_logout_session_required"] is True
    plain = client.post("/register", json={"redirect_uris": [REDIRECT_URI]}, headers=registrar).json()
    assert "backchannel_logout_uri" not in plain and plain["backchannel_logout_session_required"] is False

    for uri in (
        "http://portal.example.bz/bcl",
        "https://portal.example.bz/bcl#frag",
        "/bcl",
        "ftp://portal.example.bz/bcl",
    ):
        refused = client.post("/register", json={**body, "backchannel_logout_uri": uri}, headers=registrar)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_client_metadata", (uri, refused.text)
    loopback = client.post(
        "/register", json={**body, "backchannel_logout_uri": "http://127.0.0.1:8080/bcl"}, headers=registrar
    )
    assert loopback.status_code == 201  # like redirect URIs: http on the loopback interface, for development

    admin = client.post(
        "/v1/clients",
        headers=keys.admin,
        json={
            "name": "Health portal",
            "redirect_uris": [REDIRECT_URI],
            "backchannel_logout_uri": "https://health.bz/bcl",
        },
    )
    assert admin.status_code == 201, admin.text
    assert admin.json()["client"]["backchannel_logout_uri"] == "https://health.bz/bcl"
    assert admin.json()["client"]["backchannel_logout_session_required"] is False
    bad = client.post(
        "/v1/clients",
        headers=keys.admin,
        json={
            "name": "Health portal",
            "redirect_uris": [REDIRECT_URI],
            "backchannel_logout_uri": "http://health.bz/bcl",
        },
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_client_metadata"


def test_discovery_advertises_back_channel_logout_with_sessions(client):
    meta = client.get("/.well-known/openid-configuration").json()
    assert meta["backchannel_logout_supported"] is True
    assert meta["backchannel_logout_session_supported"] is True
    assert meta["frontchannel_logout_supported"] is False
