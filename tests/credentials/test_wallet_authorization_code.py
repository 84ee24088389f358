"""The authorization code flow (OpenID4VCI 1.0 §3.4) through civid's own OpenID provider: the wallet, a public client
(token_endpoint_auth_method none, PKCE S256), sends the citizen to /authorize for the ``civid_pid`` scope, the
citizen signs in with their face and consents on civid's real pages, the wallet redeems the code with its client_id
alone, and fetches the PID with the access token and a key proof. What a wallet may not do is refused."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import select

from civid.audit import SYSTEM
from credentials import pid
from idp import clients
from idp.errors import InvalidClientMetadata, InvalidRedirectUri
from models import AuditEvent, WalletCredential
from tests.credentials.issuance_flow import Wallet, c_nonce, present, request_credential, verify_presentation
from tests.idp.authlib_flow import sign_in_and_consent
from tests.idp.conftest import REDIRECT_URI, enrol_citizen, oidc_flow_fixtures, pkce_pair, register_client
from tests.idp.frontchannel import authorize, portal, query_of


def _populate(client, keys):  # type: ignore[no-untyped-def]
    return enrol_citizen(client, keys, given_name="Barack", family_name="Obama")


seed, services, citizen, browser = oidc_flow_fixtures("wallet-code-flow", _populate)
WALLET_META = {
    "name": "Citizen wallet",
    "token_endpoint_auth_method": "none",
    "allowed_scopes": ["civid_pid"],
    "grant_types": ["authorization_code"],
}


def _authorization_url(client_id: str, challenge: str, **overrides: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "civid_pid",
        "state": "wallet-state",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    return "/authorize?" + urlencode(params)


def test_a_wallet_signs_the_citizen_in_and_receives_the_pid(browser, services, citizen):
    wallet_id, secret = register_client(services, **WALLET_META)
    assert secret is None  # a public client has none
    verifier, challenge = pkce_pair()
    callback, consent_page = sign_in_and_consent(browser, _authorization_url(wallet_id, challenge), citizen.uin)
    assert consent_page is not None and "Citizen wallet" in consent_page
    query = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    assert query["state"] == "wallet-state"

    token = browser.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": wallet_id,
        },
    )
    assert token.status_code == 200, token.text
    tokens = token.json()
    assert tokens["scope"] == "civid_pid" and "id_token" not in tokens and "refresh_token" not in tokens
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert browser.get("/userinfo", headers=bearer).status_code == 403  # no openid: no claims from idp

    wallet = Wallet()
    issuer = services.settings.resolved_issuer
    response = request_credential(
        browser, tokens["access_token"], wallet.proof(issuer, c_nonce(browser), iss=wallet_id)
    )
    assert response.status_code == 200, response.text
    issued = response.json()["credentials"][0]["credential"]
    presentation = present(issued, wallet, {"family_name": True}, nonce="vp-nonce", aud="https://bank.example.bz")
    shown = verify_presentation(browser, presentation, nonce="vp-nonce", aud="https://bank.example.bz")
    assert shown["family_name"] == "Obama" and shown["vct"] == pid.VCT and "given_name" not in shown
    with services.sessions() as db:
        row = db.scalars(select(WalletCredential)).one()
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "credential.issued")).one()
    assert row.flow == "authorization_code" and row.client_id == wallet_id
    assert event.actor_name == f"client:{wallet_id}" and event.detail["client_id"] == wallet_id


def test_a_proof_naming_another_client_is_refused(browser, services, citizen):
    wallet_id, _ = register_client(services, **WALLET_META)
    verifier, challenge = pkce_pair()
    callback, _ = sign_in_and_consent(browser, _authorization_url(wallet_id, challenge), citizen.uin)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    access = browser.post("/token", data={**form, "client_id": wallet_id}).json()["access_token"]
    proof = Wallet().proof(services.settings.resolved_issuer, c_nonce(browser), iss="someone-else")
    response = request_credential(browser, access, proof)
    assert response.status_code == 400 and response.json()["error"] == "invalid_proof"


def test_a_wallet_may_ask_only_for_a_credential_scope_with_pkce(browser, services):
    wallet_id, _ = register_client(services, **WALLET_META)
    _, challenge = pkce_pair()
    for scope in ("openid civid_pid", "openid", "profile"):
        response = browser.get(_authorization_url(wallet_id, challenge, scope=scope), follow_redirects=False)
        assert query_of(response)["error"] == "invalid_scope", scope
    no_pkce = browser.get(
        "/authorize?"
        + urlencode(
            {"response_type": "code", "client_id": wallet_id, "redirect_uri": REDIRECT_URI, "scope": "civid_pid"}
        ),
        follow_redirects=False,
    )
    assert query_of(no_pkce)["error"] == "invalid_request"
    claims = browser.get(
        _authorization_url(wallet_id, challenge, claims='{"userinfo": {"email": null}}'), follow_redirects=False
    )
    assert query_of(claims)["error"] == "invalid_request"


def test_a_portal_may_not_ask_for_the_credential_scope(browser, services):
    rp = portal(services)
    response = authorize(browser, rp, scope="openid civid_pid")
    assert query_of(response)["error"] == "invalid_scope"
    with pytest.raises(InvalidClientMetadata):
        register_client(services, allowed_scopes=["openid", "civid_pid"])


def test_a_public_client_is_a_wallet_and_nothing_more(services):
    for bad in (
        {"allowed_scopes": ["openid", "profile"]},
        {"require_pkce": False},
        {"grant_types": ["authorization_code", "refresh_token"]},
        {"entitlements": ["uin"]},
    ):
        with pytest.raises(InvalidClientMetadata):
            register_client(services, **{**WALLET_META, **bad})
    app_scheme, _ = register_client(services, **{**WALLET_META, "redirect_uris": ["bz.gov.wallet:/callback"]})
    with services.sessions() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "client.registered")).all()[-1]
    assert event.subject_id == app_scheme and event.detail["auth_method"] == "none"
    with services.sessions.begin() as db, pytest.raises(InvalidRedirectUri):  # no reverse-domain name: refused
        clients.register(db, clients.ClientMetadata(**{**WALLET_META, "redirect_uris": ["wallet:/cb"]}), SYSTEM)


def test_a_wallet_cannot_introspect_or_redeem_with_a_secret_it_does_not_have(browser, services):
    wallet_id, _ = register_client(services, **WALLET_META)
    introspect = browser.post("/introspect", data={"token": "x", "client_id": wallet_id})
    assert introspect.status_code == 401 and introspect.json()["error"] == "invalid_client"
    rp = portal(services)  # a confidential client naming itself without its secret is still refused
    token = browser.post("/token", data={"grant_type": "authorization_code", "code": "x", "client_id": rp.client_id})
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"


def test_the_credential_scope_names_agree():
    assert clients.CREDENTIAL_SCOPES == (pid.SCOPE,)
