"""Helpers for the KYC attestation tests: a bank (private_key_jwt, ``kyc`` entitlement), the citizen's
access token as the bank gets it at /token, attestation requests, and civid's JWKS for offline checks."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet
from sqlalchemy import select, update

from idp.acr import ACR_FACE
from idp.server_secrets import sha256_hex
from models import Attestation, Grant, Identity, LoginSession, utcnow
from server.services import Services
from tests.conftest import Keys, document
from tests.idp.conftest import Citizen, ClientKey, assertion_form, enrol_citizen, issue_code, register_client

ATTESTATIONS = "/v1/kyc/attestations"
VERIFIED = ["given_name", "family_name", "birthdate", "place_of_birth", "nationalities", "address"]
# What the citizen agreed to on the consent page for a bank asking for verified claims (and evidence).
CONSENTED = ["given_name", "family_name", *[f"verified_claims:{n}" for n in VERIFIED], "verified_claims:evidence"]


@dataclass(frozen=True)
class Bank:
    client_id: str
    key: ClientKey


def held_attestation(identity_id: int, uid: str = "att-barry") -> Attestation:
    """A live 30-day attestation a bank holds about ``identity_id`` (the row alone, as if issued earlier)."""
    return Attestation(
        uid=uid,
        client_id="bank",
        identity_id=identity_id,
        format="jwt",
        claims=[],
        trust_framework="t",
        assurance_level="l",
        expires_at=utcnow() + timedelta(days=30),
        status_list=1,
        status_index=5,
    )


def enrol_documented_citizen(client: TestClient, keys: Keys) -> Citizen:
    """Barack Obama's portrait, enrolled with a passport the officer examined (vpip, pvp)."""
    return enrol_citizen(client, keys, given_name="Barack", family_name="Obama", documents=[document()])


def register_bank(
    services: Services, name: str = "Belize Bank", entitlements: tuple[str, ...] = ("kyc",), **meta: Any
) -> Bank:
    """A bank authenticating with private_key_jwt and holding ``entitlements``."""
    key = ClientKey()
    client_id, _ = register_client(
        services,
        name=name,
        token_endpoint_auth_method="private_key_jwt",
        jwks=key.jwks,
        entitlements=list(entitlements),
        **meta,
    )
    return Bank(client_id, key)


def client_auth(bank: Bank, services: Services, audience_path: str = "/token") -> dict[str, str]:
    """The private_key_jwt members (RFC 7523) for one request."""
    issuer = services.settings.resolved_issuer
    return assertion_form(bank.key.assertion(bank.client_id, issuer + audience_path))


def citizen_tokens(
    client: TestClient,
    services: Services,
    bank: Bank,
    citizen: Citizen,
    *,
    consent: list[str] | None = None,
    acr: str = ACR_FACE,
    amr: list[str] | None = None,
    logged_in_s_ago: int = 0,
) -> dict[str, Any]:
    """The bank's token response after the citizen signed in (``logged_in_s_ago`` seconds ago) and consented."""
    issued = issue_code(
        services,
        bank.client_id,
        citizen,
        scope="openid profile",
        consent_claims=CONSENTED if consent is None else consent,
        acr=acr,
        amr=amr,
    )
    if logged_in_s_ago:
        with services.sessions.begin() as db:
            db.execute(
                update(Grant)
                .where(Grant.uid == issued.grant_uid)
                .values(auth_time=utcnow() - timedelta(seconds=logged_in_s_ago))
            )
    response = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": issued.code,
            "redirect_uri": issued.redirect_uri,
            "code_verifier": issued.verifier,
            **client_auth(bank, services),
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def verified_request(claims: list[str] | None = None, **verification: Any) -> dict[str, Any]:
    """An OIDC4IDA request element for ``claims`` (default: names and birthdate) under civid's framework."""
    return {
        "verification": {"trust_framework": None, **verification},
        "claims": {name: None for name in (claims or ["given_name", "family_name", "birthdate"])},
    }


def attest(
    client: TestClient,
    services: Services,
    bank: Bank | None,
    access_token: str | None,
    *,
    auth: dict[str, str] | None = None,
    **body: Any,
):
    """POST an attestation request as ``bank`` (private_key_jwt in the JSON body, token as Bearer), or with
    the credentials ``auth`` instead."""
    if auth is None:
        assert bank is not None
        auth = client_auth(bank, services, ATTESTATIONS)
    payload = {"verified_claims": verified_request(), **auth, **body}
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
    return client.post(ATTESTATIONS, json=payload, headers=headers)


def civid_jwks(client: TestClient) -> KeySet:
    """civid's published keys, fetched as a bank would and loaded into joserfc (not PyJWT, which signed)."""
    response = client.get("/jwks.json")
    assert response.status_code == 200
    return KeySet.import_key_set(json.loads(response.content))


def verify_with_joserfc(token: str, keys: KeySet) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a compact JWS checked by joserfc against civid's JWKS."""
    decoded = jose_jwt.decode(token, keys, algorithms=["ES256", "RS256"])
    return dict(decoded.header), dict(decoded.claims)


def login_session(services: Services, browser: TestClient, citizen: Citizen) -> None:
    """Give ``browser`` a fresh face-login session for ``citizen`` (cookie included)."""
    token = secrets.token_urlsafe(32)
    with services.sessions.begin() as db:
        identity = db.scalars(select(Identity).where(Identity.uin == citizen.uin)).one()
        db.add(
            LoginSession(
                sid=secrets.token_urlsafe(16),
                token_hash=sha256_hex(token),
                identity_id=identity.id,
                auth_time=utcnow(),
                acr=ACR_FACE,
                amr=["face"],
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
    browser.cookies.set("civid_session", token)
