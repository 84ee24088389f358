"""Security Event Tokens (RFC 8417, pushed per RFC 8935) to the portals that hold a person's changed claims,
over real HTTP on loopback, on SQLite and PostgreSQL: who is told (a live consent to a changed claim and an
``identity_events_uri``) and who is not; the token verified against civid's published keys, its ``typ``, its
pairwise ``sub_id`` equal to the ``sub`` of the portal's ID token, only claim names, never values; a 503 retried
later and a 400 final, both audited; two pushers at once deliver each token once; a bad URI refused."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from civid.audit import SYSTEM
from idp import clients as clients_module
from idp.identity_events import CLAIMS_CHANGED, IdentityEventPusher
from models import AuditEvent, Client, IdentityEventDelivery
from tests.conftest import make_settings
from tests.enrollment.records import issued_citizen, propose
from tests.idp.conftest import issue_code, redeem, register_client
from tests.idp.logout_receiver import LogoutReceiver
from tests.kyc.banks import civid_jwks, verify_with_joserfc
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path: Path):
    if request.param == "postgresql":
        return make_settings(tmp_path, database_url=request.getfixturevalue("postgres_schema_url"))
    return make_settings(tmp_path)


@pytest.fixture
def receiver(services, monkeypatch):
    monkeypatch.setattr(services.settings, "outbound_allow_private", True)  # loopback receiver (SSRF rule)
    server = LogoutReceiver(status=202)
    yield server
    server.stop()


def pusher(services) -> IdentityEventPusher:
    return IdentityEventPusher(services.settings, services.sessions, services.signing_keys, services.idp_secrets)


def portal_holding(client, services, citizen, scope: str, **meta) -> tuple[str, str]:
    """Register a portal, let the citizen consent to ``scope``; return (client_id, the sub of its ID token)."""
    portal_id, secret = register_client(services, **meta)
    assert secret is not None
    tokens = redeem(client, portal_id, secret, issue_code(services, portal_id, citizen, scope=scope)).json()
    _, id_token = verify_with_joserfc(tokens["id_token"], civid_jwks(client))
    return portal_id, id_token["sub"]


def queued(services) -> list[IdentityEventDelivery]:
    with services.sessions() as db:
        rows = db.scalars(select(IdentityEventDelivery).order_by(IdentityEventDelivery.id)).all()
        db.expunge_all()
        return list(rows)


def audited(services, action: str) -> list[AuditEvent]:
    with services.sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_an_email_correction_is_told_to_the_portal_that_holds_the_email_and_to_no_other(
    client, keys, services, receiver
):
    citizen = issued_citizen(services)
    told, sub = portal_holding(client, services, citizen, "openid email", identity_events_uri=receiver.url)
    phone_only, _ = portal_holding(client, services, citizen, "openid phone", identity_events_uri=receiver.url)
    unsubscribed, _ = portal_holding(client, services, citizen, "openid email")  # holds it, asked for no events

    done = propose(client, keys.officer, citizen.uin, {"email": "ana.perez@example.org"})
    assert done.status_code == 201, done.text
    [row] = queued(services)
    assert (row.client_id, row.claims, row.event_type) == (told, ["email"], CLAIMS_CHANGED)
    assert phone_only != told != unsubscribed

    assert pusher(services).deliver_due() == 1
    [received] = receiver.wait_for(1)
    assert received.content_type == "application/secevent+jwt"
    header, claims = verify_with_joserfc(received.body, civid_jwks(client))
    assert header["typ"] == "secevent+jwt"
    assert claims["aud"] == told and claims["iss"] == services.settings.resolved_issuer
    assert claims["sub_id"] == {"format": "iss_sub", "iss": services.settings.resolved_issuer, "sub": sub}
    assert claims["events"] == {CLAIMS_CHANGED: {"claims": ["email"]}}
    assert claims["jti"] == row.jti and "exp" not in claims  # RFC 8417 §2.2: a SET is not an access token
    # Never the value, never the UIN.
    assert "ana.perez" not in received.body and citizen.uin not in str(claims)
    assert queued(services) == []
    [sent] = audited(services, "identity_event.sent")
    assert (sent.person, sent.client_id, sent.detail["outcome"]) == (citizen.uin, told, "202")


def test_a_name_change_waiting_for_approval_tells_nobody_until_approved(client, keys, services, receiver, adjudicator2):
    citizen = issued_citizen(services)
    told, _ = portal_holding(client, services, citizen, "openid profile", identity_events_uri=receiver.url)
    proposed = propose(client, keys.officer, citizen.uin, {"family_name": "Pérez Castillo"})
    assert proposed.status_code == 201 and proposed.json()["status"] == "pending", proposed.text
    assert queued(services) == []
    version = proposed.json()["version"]
    approved = client.post(f"/v1/identities/{citizen.uin}/record-updates/{version}/approve", headers=adjudicator2)
    assert approved.status_code == 200, approved.text
    [row] = queued(services)
    assert row.client_id == told and row.claims == ["family_name", "name"]


@pytest.fixture
def adjudicator2(services) -> dict[str, str]:
    from civid.auth import create_api_key

    with services.sessions.begin() as db:
        _, secret = create_api_key(db, "second adjudicator", "adjudicator", SYSTEM)
    return {"Authorization": f"Bearer {secret}"}


def test_an_unavailable_portal_is_retried_later_and_a_refusal_is_final(client, keys, services, receiver):
    citizen = issued_citizen(services)
    portal_holding(client, services, citizen, "openid email", identity_events_uri=receiver.url)
    receiver.status = 503
    assert propose(client, keys.officer, citizen.uin, {"email": "a1@example.org"}).status_code == 201
    assert pusher(services).deliver_due() == 0
    [row] = queued(services)
    assert row.attempts == 1 and row.next_attempt_at > row.created_at  # waits for its retry delay
    assert pusher(services).deliver_due() == 0  # not due yet: nothing is sent again
    assert len(receiver.wait_for(1, timeout=0.5)) == 1
    [failed] = audited(services, "identity_event.failed")
    assert failed.detail["outcome"] == "503" and failed.detail["will_retry"] is True

    with services.sessions.begin() as db:  # its retry time comes; the portal now refuses it (RFC 8935 §2.3)
        db.get(IdentityEventDelivery, row.id).next_attempt_at = row.created_at
    receiver.status = 400
    assert pusher(services).deliver_due() == 0
    assert queued(services) == []
    assert [e.detail["will_retry"] for e in audited(services, "identity_event.failed")] == [True, False]


def test_two_pushers_at_once_deliver_each_token_once(client, keys, services, receiver):
    citizen = issued_citizen(services)
    portal_holding(client, services, citizen, "openid email phone", identity_events_uri=receiver.url)
    for n in range(6):
        change = {"email": f"a{n}@example.org"} if n % 2 else {"phone": f"+50161000{n:02d}"}
        assert propose(client, keys.officer, citizen.uin, change).status_code == 201
    assert len(queued(services)) == 6
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def run() -> None:
        one = pusher(services)
        barrier.wait()
        counts.append(one.deliver_due())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(counts) == 6 and queued(services) == []
    jtis = [verify_with_joserfc(r.body, civid_jwks(client))[1]["jti"] for r in receiver.wait_for(6)]
    assert len(jtis) == 6 == len(set(jtis))


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        ("ftp://portal.example/events", "redirect_uri_scheme"),
        ("https://portal.example/events#frag", "redirect_uri_fragment"),
        ("https://portal.example/" + "e" * 2000, "identity_events_uri_too_long"),
    ],
)
def test_a_bad_identity_events_uri_is_refused_and_nothing_is_registered(services, uri, code):
    with pytest.raises(clients_module.InvalidClientMetadata) as refused:
        with services.sessions.begin() as db:
            clients_module.register(
                db,
                clients_module.ClientMetadata(
                    name="P", redirect_uris=["https://portal.example/cb"], identity_events_uri=uri
                ),
                SYSTEM,
            )
    assert refused.value.code.startswith(code)
    with services.sessions() as db:
        assert db.scalars(select(Client).where(Client.name == "P")).all() == []
