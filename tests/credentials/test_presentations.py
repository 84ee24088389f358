"""The OpenID4VP verifier end to end: a bank asks civid for a presentation (DCQL), the wallet fetches the signed
request object (checked by joserfc against /jwks.json), the independent sd-jwt holder presents civid's PID with a
Key Binding JWT over direct_post, and the bank reads the verified claims; every check that must refuse does."""

from __future__ import annotations

import asyncio
import json
import threading
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
from sqlalchemy import select

from civid.actor import Actor
from credentials import status
from models import AuditEvent, CredentialStatus, PresentationTransaction
from tests.credentials.presentation_flow import (
    PERSON,
    PID_VCT,
    RESPONSE,
    ask,
    identity,
    issue,
    pid_query,
    poll,
    presentations_bank,
    request_object,
    respond,
    secret_bank,
)
from tests.kyc.banks import register_bank


def _events(services, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _open(client, services, bank, query=None):  # type: ignore[no-untyped-def]
    """A created transaction and its verified request object's claims."""
    created = ask(client, services, bank, query)
    assert created.status_code == 201, created.text
    body = created.json()
    _, claims = request_object(client, body["request_uri"])
    return body, claims


def test_bank_asks_wallet_presents_and_bank_reads_the_verified_claims(client, services):
    bank = presentations_bank(services)
    wallet = issue(services, identity(services))
    created = ask(client, services, bank)
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"/v1/presentations/{body['id']}"
    assert created.headers["cache-control"] == "no-store"
    invocation = urlsplit(body["authorization_request"])
    assert invocation.scheme == "openid4vp"
    params = {k: v[0] for k, v in parse_qs(invocation.query).items()}
    assert params == {"client_id": body["client_id"], "request_uri": body["request_uri"]}
    assert body["client_id"] == "localhost" == services.settings.resolved_presentation_client_id
    assert body["authorization_request_qr"].startswith("data:image/svg+xml")

    header, claims = request_object(client, body["request_uri"])
    assert header["typ"] == "oauth-authz-req+jwt" and header["kid"]
    assert header["kid"] in {k["kid"] for k in client.get("/jwks.json").json()["keys"]}
    assert claims["client_id"] == params["client_id"]  # OpenID4VP §5.10: identical to the URI's
    assert claims["response_type"] == "vp_token" and claims["response_mode"] == "direct_post"
    assert claims["response_uri"] == services.settings.resolved_issuer + RESPONSE
    assert claims["nonce"] == body["nonce"] and claims["state"] == body["state"]
    assert claims["aud"] == "https://self-issued.me/v2"
    assert claims["dcql_query"] == pid_query()
    assert claims["client_metadata"]["client_name"] == "Belize Bank (verified by civid)"
    assert claims["client_metadata"]["vp_formats_supported"]["dc+sd-jwt"]["sd-jwt_alg_values"] == ["ES256"]

    presentation = wallet.present(
        ["given_name", "family_name", "age_over_18"], nonce=claims["nonce"], aud=claims["client_id"]
    )
    answered = respond(client, claims["state"], {"pid": presentation})
    assert answered.status_code == 200, answered.text
    assert answered.json() == {}

    outcome = poll(client, services, bank, body["id"])
    assert outcome.status_code == 200, outcome.text
    result = outcome.json()
    assert result["status"] == "verified"
    pid = result["credentials"]["pid"]
    assert pid["claims"] == {"given_name": "Adriana", "family_name": "Castillo", "age_over_18": True}
    assert pid["issuer"] == services.settings.resolved_issuer and pid["vct"] == PID_VCT
    assert pid["status"] == "valid" and pid["holder_key_thumbprint"]

    requested, verified = _events(services, "presentation.requested"), _events(services, "presentation.verified")
    assert len(requested) == len(verified) == 1
    assert requested[0].detail["claims"] == ["age_over_18", "family_name", "given_name"]
    assert requested[0].detail["credential_queries"] == ["pid"] and requested[0].client_id == bank.client_id
    assert verified[0].detail["credentials"] == [wallet.status_id]
    assert verified[0].detail["claims"] == ["age_over_18", "family_name", "given_name"]
    assert verified[0].subject_id == body["id"] and verified[0].client_id == bank.client_id
    assert "Adriana" not in str(verified[0].detail) and "Castillo" not in str(requested[0].detail)


def test_a_client_secret_bank_polls_with_get_and_waits_for_the_wallet(client, services):
    client_id, secret = secret_bank(services)
    wallet = issue(services, identity(services))
    created = client.post("/v1/presentations", json={"dcql_query": pid_query(["birthdate"])}, auth=(client_id, secret))
    assert created.status_code == 201, created.text
    body = created.json()
    _, claims = request_object(client, body["request_uri"])
    pending = client.get(f"/v1/presentations/{body['id']}", auth=(client_id, secret))
    assert pending.json()["status"] == "pending"

    def wallet_answers() -> None:
        presentation = wallet.present(["birthdate"], nonce=claims["nonce"], aud=claims["client_id"])
        respond(client, claims["state"], {"pid": presentation})

    threading.Timer(0.5, wallet_answers).start()
    waited = client.get(f"/v1/presentations/{body['id']}?wait=10", auth=(client_id, secret))
    assert waited.json()["status"] == "verified", waited.text
    assert waited.json()["credentials"]["pid"]["claims"] == {"birthdate": "1990-04-17"}


def test_polls_held_open_do_not_starve_the_wallets_answer_of_a_worker_thread(client, services):
    """Four banks' polls wait at once while the process has two worker threads: the wallet's answer (a sync
    endpoint, run in a worker thread) is still processed at once and every poll returns it. A poll that slept in a
    worker thread would hold both, and the first two polls would time out still pending."""
    client_id, secret = secret_bank(services)
    wallet = issue(services, identity(services))
    created = client.post("/v1/presentations", json={"dcql_query": pid_query(["birthdate"])}, auth=(client_id, secret))
    body = created.json()
    _, claims = request_object(client, body["request_uri"])
    presentation = wallet.present(["birthdate"], nonce=claims["nonce"], aud=claims["client_id"])

    async def banks_and_wallet() -> tuple[httpx.Response, list[httpx.Response]]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 2  # this event loop's pool only
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            path = f"/v1/presentations/{body['id']}?wait=8"
            polls = [asyncio.create_task(http.get(path, auth=(client_id, secret))) for _ in range(4)]
            await asyncio.sleep(0.5)  # the polls are waiting
            vp_token = json.dumps({"pid": [presentation]})
            answered = await asyncio.wait_for(
                http.post(RESPONSE, data={"state": claims["state"], "vp_token": vp_token}), timeout=5
            )
            return answered, list(await asyncio.gather(*polls))

    answered, polled = asyncio.run(banks_and_wallet())
    assert answered.status_code == 200, answered.text
    assert [p.json()["status"] for p in polled] == ["verified"] * 4


def test_only_entitled_authenticated_clients_ask_and_only_for_their_own_transactions(client, services):
    unentitled = register_bank(services, name="Other bank", entitlements=())
    refused = ask(client, services, unentitled)
    assert refused.status_code == 403 and refused.json()["error"] == "access_denied"
    anonymous = client.post("/v1/presentations", json={"dcql_query": pid_query()})
    assert anonymous.status_code == 401
    bank, other = presentations_bank(services), presentations_bank(services, "Second bank")
    body = ask(client, services, bank).json()
    assert poll(client, services, other, body["id"]).status_code == 404
    assert poll(client, services, bank, "x" * 43).status_code == 404
    with services.sessions() as db:
        assert len(db.scalars(select(PresentationTransaction)).all()) == 1


def test_a_bad_dcql_query_is_a_422_problem_and_nothing_is_stored(client, services):
    bank = presentations_bank(services)
    pid = pid_query()["credentials"][0]
    bad = [
        {},
        {"credentials": []},
        {"credentials": [{**pid, "format": "mso_mdoc"}]},
        {"credentials": [{**pid, "meta": {"vct_values": ["urn:eu.europa.ec.eudi:pid:1"]}}]},
        {"credentials": [{**pid, "meta": {}}]},
        {"credentials": [{**pid, "id": "no spaces"}]},
        {"credentials": [pid, pid]},
        {"credentials": [{**pid, "claims": [{"path": []}]}]},
        {"credentials": [{**pid, "claims": [{"path": [3]}]}]},
        {"credentials": [{**pid, "claims": [{"path": ["cnf", "jwk"]}]}]},
        {"credentials": [{**pid, "claims": [{"path": ["given_name"]}, {"path": ["given_name"]}]}]},
        {"credentials": [{**pid, "claim_sets": [["a"]]}]},
        {"credentials": [{**pid, "multiple": True}]},
        {"credentials": [{**pid, "require_cryptographic_holder_binding": False}]},
        {"credentials": [pid], "credential_sets": [{"options": [["other"]]}]},
    ]
    for query in bad:
        response = ask(client, services, bank, query)
        assert response.status_code == 422, (query, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "dcql_query" in response.json()["detail"]
    with services.sessions() as db:
        assert db.scalars(select(PresentationTransaction)).all() == []
    assert _events(services, "presentation.requested") == []


def test_claim_sets_and_values_choose_what_is_returned(client, services):
    bank = presentations_bank(services)
    wallet = issue(services, identity(services))
    query = pid_query()
    query["credentials"][0]["claims"] = [
        {"id": "adult", "path": ["age_over_18"], "values": [True]},
        {"id": "born", "path": ["birthdate"]},
    ]
    query["credentials"][0]["claim_sets"] = [["adult"], ["born"]]
    body, claims = _open(client, services, bank, query)
    presentation = wallet.present(["age_over_18"], nonce=claims["nonce"], aud=claims["client_id"])
    assert respond(client, claims["state"], {"pid": presentation}).status_code == 200
    assert poll(client, services, bank, body["id"]).json()["credentials"]["pid"]["claims"] == {"age_over_18": True}


def test_a_revoked_credential_fails_with_reason_revoked(client, services):
    bank = presentations_bank(services)
    wallet = issue(services, identity(services))
    with services.sessions.begin() as db:
        row = db.get(CredentialStatus, wallet.status_id)
        status.revoke(db, row, "reported lost", Actor(None, "officer-1", "adjudicator"))
    body, claims = _open(client, services, bank)
    presentation = wallet.present(list(PERSON), nonce=claims["nonce"], aud=claims["client_id"])
    answered = respond(client, claims["state"], {"pid": presentation})
    assert answered.status_code == 400 and answered.json()["error"] == "invalid_request"
    outcome = poll(client, services, bank, body["id"]).json()
    assert outcome["status"] == "failed" and outcome["reason"] == "revoked"
    # Why it was revoked (an officer's note) is civid's to keep: neither the wallet nor the bank reads it.
    assert "lost" not in answered.text and "lost" not in json.dumps(outcome)
    failed = _events(services, "presentation.failed")
    assert [e.detail["reason"] for e in failed] == ["revoked"] and failed[0].client_id == bank.client_id
    assert [e.detail["reason"] for e in _events(services, "credential.revoked")] == ["reported lost"]


def test_a_wallet_error_response_fails_the_transaction(client, services):
    bank = presentations_bank(services)
    body, claims = _open(client, services, bank)
    answered = respond(client, claims["state"], error="access_denied", error_description="the citizen declined")
    assert answered.status_code == 200 and answered.json() == {}
    outcome = poll(client, services, bank, body["id"]).json()
    assert (outcome["status"], outcome["reason"], outcome["detail"]) == ("failed", "wallet_error", "access_denied")
