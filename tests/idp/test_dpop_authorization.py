"""DPoP (RFC 9449) before the token endpoint: a code bound to the client's key by ``dpop_jkt`` at /authorize or by a
proof at /par (§10), and what discovery, registration and the admin API say about DPoP (§5.1, §5.2)."""

from __future__ import annotations

from sqlalchemy import select

from models import AuditEvent, AuthorizationCode
from tests.conftest import seeded_fixtures
from tests.idp.conftest import basic
from tests.idp.dpop_keys import DpopKey, issuer_url, oauth_error
from tests.idp.frontchannel import authorize, code_for, enrol_people, portal, query_of

seed, settings, keys, people = seeded_fixtures(enrol_people, "people")


# --- codes bound to a key (RFC 9449 §10) ------------------------------------------------------------
def test_code_bound_by_dpop_jkt_is_redeemed_only_with_that_key(client, services, people):
    rp = portal(services)
    key = DpopKey()
    query = code_for(client, rp, people.obama, dpop_jkt=key.jkt)
    with services.sessions() as db:
        assert (
            db.scalars(select(AuthorizationCode.dpop_jkt).where(AuthorizationCode.client_id == rp.client_id)).one()
            == key.jkt
        )
    form = {
        "grant_type": "authorization_code",
        "code": query["code"],
        "redirect_uri": rp.redirect_uri,
        "code_verifier": rp.verifier,
    }
    url = issuer_url(services, "/token")
    assert rp.secret is not None
    oauth_error(client.post("/token", data=form, headers=basic(rp.client_id, rp.secret)), 400, "invalid_grant")
    other = {**basic(rp.client_id, rp.secret), "DPoP": DpopKey().proof("POST", url)}
    oauth_error(client.post("/token", data=form, headers=other), 400, "invalid_grant")
    right = client.post("/token", data=form, headers={**basic(rp.client_id, rp.secret), "DPoP": key.proof("POST", url)})
    assert right.status_code == 200 and right.json()["token_type"] == "DPoP", right.text


def test_malformed_dpop_jkt_is_refused_at_authorize(client, services):
    rp = portal(services)
    assert query_of(authorize(client, rp, dpop_jkt="short"))["error"] == "invalid_request"


def test_proof_at_par_binds_the_code_and_must_agree_with_dpop_jkt(client, services, people):
    rp = portal(services)
    assert rp.secret is not None
    key, par_url = DpopKey(), issuer_url(services, "/par")
    form = {
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "response_type": "code",
        "scope": "openid profile",
        "nonce": "n-par",
        "code_challenge": rp.challenge,
        "code_challenge_method": "S256",
    }
    headers = basic(rp.client_id, rp.secret)
    mismatch = client.post(
        "/par", data={**form, "dpop_jkt": DpopKey().jkt}, headers={**headers, "DPoP": key.proof("POST", par_url)}
    )
    oauth_error(mismatch, 400, "invalid_request")
    oauth_error(
        client.post("/par", data=form, headers={**headers, "DPoP": key.proof("GET", par_url)}),
        400,
        "invalid_dpop_proof",
    )
    pushed = client.post("/par", data=form, headers={**headers, "DPoP": key.proof("POST", par_url)})
    assert pushed.status_code == 201, pushed.text
    query = code_for(client, rp, people.obama, request_uri=pushed.json()["request_uri"])
    with services.sessions() as db:
        code = db.scalars(select(AuthorizationCode).where(AuthorizationCode.client_id == rp.client_id)).one()
        assert code.dpop_jkt == key.jkt
    token_form = {
        "grant_type": "authorization_code",
        "code": query["code"],
        "redirect_uri": rp.redirect_uri,
        "code_verifier": rp.verifier,
    }
    oauth_error(
        client.post(
            "/token",
            data=token_form,
            headers={**headers, "DPoP": DpopKey().proof("POST", issuer_url(services, "/token"))},
        ),
        400,
        "invalid_grant",
    )


# --- metadata ---------------------------------------------------------------------------------------
def test_discovery_and_registration_speak_dpop(client, services, keys):
    metadata = client.get("/.well-known/openid-configuration").json()
    assert metadata["dpop_signing_alg_values_supported"] == ["ES256", "EdDSA", "PS256", "RS256"]
    assert "none" not in metadata["dpop_signing_alg_values_supported"]
    registered = client.post(
        "/register",
        json={"redirect_uris": ["https://bank.example.bz/cb"], "dpop_bound_access_tokens": True},
        headers=keys.admin,
    )
    assert registered.status_code == 201, registered.text
    assert registered.json()["dpop_bound_access_tokens"] is True  # RFC 9449 §5.2
    listed = client.get(f"/v1/clients/{registered.json()['client_id']}", headers=keys.admin)
    assert listed.status_code == 200 and listed.json()["dpop_bound_access_tokens"] is True
    by_admin = client.post(
        "/v1/clients",
        json={"name": "FAPI bank", "redirect_uris": ["https://bank.example.bz/cb"], "require_dpop": True},
        headers=keys.admin,
    )
    assert by_admin.status_code == 201, by_admin.text
    assert by_admin.json()["client"]["dpop_bound_access_tokens"] is True
    with services.sessions() as db:
        event = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "client.registered").order_by(AuditEvent.id.desc())
        ).first()
        assert event is not None and event.detail["require_dpop"] is True
