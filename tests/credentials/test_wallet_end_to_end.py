"""The wallet end to end, issuer and verifier together: an officer's offer, the wallet's pre-authorized code and
transaction code, the PID issued over OpenID4VCI; then a bank asks civid for a presentation (DCQL), the wallet
(the independent sd-jwt package as holder) answers the signed request over direct_post, and the bank reads the
verified claims — only those it asked for. After the identity is deactivated, the same credential is refused."""

from __future__ import annotations

from tests.conftest import seeded_fixtures
from tests.credentials.issuance_flow import (
    Wallet,
    c_nonce,
    make_offer,
    pre_authorized_code,
    present,
    redeem,
    request_credential,
)
from tests.credentials.presentation_flow import ask, pid_query, poll, presentations_bank, request_object, respond
from tests.credentials.test_wallet_pre_authorized import enrol_pid_holder

seed, settings, keys, citizen = seeded_fixtures(enrol_pid_holder, "citizen")
ASKED = ["given_name", "family_name", ["age_equal_or_over", "18"]]


def _issued_pid(client, services, keys, citizen) -> tuple[str, Wallet]:  # type: ignore[no-untyped-def]
    offer = make_offer(client, keys, citizen.uin)
    token = redeem(client, pre_authorized_code(offer), offer["tx_code"]).json()["access_token"]
    wallet = Wallet()
    proof = wallet.proof(services.settings.resolved_issuer, c_nonce(client))
    issued = request_credential(client, token, proof)
    assert issued.status_code == 200, issued.text
    return issued.json()["credentials"][0]["credential"], wallet


def _query() -> dict:  # type: ignore[type-arg]
    query = pid_query([])
    query["credentials"][0]["claims"] = [{"path": path if isinstance(path, list) else [path]} for path in ASKED]
    return query


def _present(client, services, bank, issued: str, wallet: Wallet) -> dict:  # type: ignore[no-untyped-def, type-arg]
    created = ask(client, services, bank, _query())
    assert created.status_code == 201, created.text
    _, request = request_object(client, created.json()["request_uri"])
    disclose = {"given_name": True, "family_name": True, "birthdate": True, "age_equal_or_over": {"18": True}}
    presentation = present(issued, wallet, disclose, nonce=request["nonce"], aud=request["client_id"])
    respond(client, request["state"], {"pid": presentation})
    outcome = poll(client, services, bank, created.json()["id"])
    assert outcome.status_code == 200, outcome.text
    return outcome.json()


def test_a_pid_issued_to_a_wallet_is_presented_to_a_bank_and_refused_once_the_identity_is_deactivated(
    client, services, keys, citizen
):
    issued, wallet = _issued_pid(client, services, keys, citizen)
    bank = presentations_bank(services)
    result = _present(client, services, bank, issued, wallet)
    assert result["status"] == "verified", result
    pid = result["credentials"]["pid"]
    # The wallet disclosed the birth date too; the bank gets only what it asked for.
    assert pid["claims"] == {"given_name": "Barack Hussein", "family_name": "Obama", "age_equal_or_over": {"18": True}}
    assert pid["vct"] == "urn:civid:vct:pid:1" and pid["status"] == "valid"

    deactivated = client.post(
        f"/v1/identities/{citizen.uin}/deactivate",
        json={"reason": "death", "evidence_reference": "DR-2026-0042"},
        headers=keys.adjudicator,
    )
    assert deactivated.status_code == 200, deactivated.text
    after = _present(client, services, bank, issued, wallet)
    assert after["status"] == "failed" and after["reason"] == "revoked", after
