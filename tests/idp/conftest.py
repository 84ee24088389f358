"""Shared helpers for the OpenID provider's tests: clients, PKCE pairs, an enrolled citizen, and codes
created directly in the database (as ``idp/codes.py`` would) to test the back channel on its own.

A and C may add fixtures here additively.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm
from sqlalchemy import select

from civid.audit import SYSTEM, Actor
from idp import clients as clients_module
from idp.acr import ACR_FACE, AMR
from idp.consent import grant_consent
from idp.server_secrets import sha256_hex
from models import AuthorizationCode, Client, Grant, Identity, LoginSession, utcnow
from server.services import Services
from tests.conftest import Keys, enrol

REDIRECT_URI = "https://portal.example.bz/callback"


def register_client(services: Services, **meta: Any) -> tuple[str, str | None]:
    """Register a client (defaults: a portal with one https redirect URI, client_secret_basic);
    return (client_id, secret)."""
    values: dict[str, Any] = {"name": "Test portal", "redirect_uris": [REDIRECT_URI]}
    values.update(meta)
    with services.sessions.begin() as session:
        row, secret = clients_module.register(session, clients_module.ClientMetadata(**values), SYSTEM)
        return row.client_id, secret


def pkce_pair() -> tuple[str, str]:
    """A fresh (code_verifier, S256 code_challenge) pair (RFC 7636 §4.1-4.2)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass(frozen=True)
class Citizen:
    uin: str
    identity_id: int


def enrol_citizen(
    client: TestClient, keys: Keys, photo: str = "obama_2012_portrait.jpg", **demographics: Any
) -> Citizen:
    """Enrol a person through the officer API and return their UIN and identity id."""
    response = enrol(client, keys.officer, [photo], **demographics)
    assert response.status_code in (200, 201), response.text
    uin = response.json()["uin"]
    assert uin, response.json()
    with client.app.state.services.sessions() as session:
        identity_id = session.scalars(select(Identity.id).where(Identity.uin == uin)).one()
    return Citizen(uin, identity_id)


@pytest.fixture
def citizen(client: TestClient, keys: Keys) -> Citizen:
    """One enrolled person (Barack Obama's portrait, the default demographics)."""
    return enrol_citizen(client, keys, given_name="Barack", family_name="Obama")


@dataclass(frozen=True)
class IssuedCode:
    code: str
    verifier: str
    redirect_uri: str
    grant_uid: str
    nonce: str | None


def issue_code(
    services: Services,
    client_id: str,
    citizen: Citizen,
    *,
    scope: str = "openid profile email",
    redirect_uri: str = REDIRECT_URI,
    nonce: str | None = "n-0S6_WzA2Mj",
    claims: dict | None = None,
    consent_claims: list[str] | None = None,
    acr: str = ACR_FACE,
    amr: list[str] | None = None,
    code_ttl_s: int | None = None,
) -> IssuedCode:
    """Create a login session, consent, Grant and AuthorizationCode as the front channel would after a
    face login; return the code and its PKCE verifier. ``consent_claims`` defaults to every claim asked."""
    from idp import claims as claims_module
    from idp.claims_extensions import ClaimsExtensions
    from kyc.claims_extension import VerifiedClaims

    verifier, challenge = pkce_pair()
    code = secrets.token_urlsafe(32)
    settings = services.settings
    now = utcnow()
    with services.sessions.begin() as session:
        client = session.scalars(select(Client).where(Client.client_id == client_id)).one()
        identity = session.get(Identity, citizen.identity_id)
        login = LoginSession(
            sid=secrets.token_urlsafe(16),
            token_hash=sha256_hex(secrets.token_urlsafe(32)),
            identity_id=identity.id,
            auth_time=now,
            acr=acr,
            amr=amr or AMR["face"],
            expires_at=now + timedelta(seconds=settings.login_session_ttl_s),
        )
        session.add(login)
        session.flush()
        scopes = scope.split()
        # The extensions civid's app registers (kyc.app.install), as its front channel would use them.
        asked = claims_module.requested(client, scopes, claims, ClaimsExtensions((VerifiedClaims(),))).all
        actor = Actor(None, f"citizen:{identity.uin}", "citizen")
        grant_consent(
            session,
            identity,
            client,
            scopes,
            consent_claims if consent_claims is not None else asked,
            None,
            actor,
            settings.consent_ttl_days,
        )
        grant = Grant(
            uid=secrets.token_urlsafe(16),
            client_id=client_id,
            identity_id=identity.id,
            login_session_id=login.id,
            scope=scope,
            claims=claims,
            auth_time=now,
            acr=acr,
            amr=amr or AMR["face"],
            expires_at=now + timedelta(seconds=settings.refresh_token_ttl_s),
        )
        session.add(grant)
        session.flush()
        session.add(
            AuthorizationCode(
                code_hash=sha256_hex(code),
                grant_id=grant.id,
                client_id=client_id,
                redirect_uri=redirect_uri,
                code_challenge=challenge,
                nonce=nonce,
                expires_at=now + timedelta(seconds=code_ttl_s if code_ttl_s is not None else settings.code_ttl_s),
            )
        )
        return IssuedCode(code, verifier, redirect_uri, grant.uid, nonce)


def basic(client_id: str, secret: str) -> dict[str, str]:
    """An Authorization header for client_secret_basic (RFC 6749 §2.3.1: form-urlencoded, then base64)."""
    from urllib.parse import quote_plus

    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def redeem(client: TestClient, client_id: str, secret: str, issued: IssuedCode, **overrides: str):
    """POST the authorization_code grant with client_secret_basic."""
    form = {
        "grant_type": "authorization_code",
        "code": issued.code,
        "redirect_uri": issued.redirect_uri,
        "code_verifier": issued.verifier,
    }
    form.update(overrides)
    return client.post(
        "/token", data={k: v for k, v in form.items() if v is not None}, headers=basic(client_id, secret)
    )


@dataclass
class ClientKey:
    """A relying party's own EC key for private_key_jwt, with its public JWKS."""

    kid: str = field(default_factory=lambda: "rp-" + secrets.token_hex(4))
    private: Any = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    @property
    def jwks(self) -> dict[str, Any]:
        jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "alg": "ES256", "use": "sig"}]}

    def assertion(self, client_id: str, audience: str, **overrides: Any) -> str:
        """A client assertion (RFC 7523 §3) for ``client_id``; overrides replace or (None) drop claims."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(16),
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, self.private, algorithm="ES256", headers={"kid": self.kid})


JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def assertion_form(assertion: str) -> dict[str, str]:
    """The form members carrying a private_key_jwt assertion."""
    return {"client_assertion_type": JWT_BEARER, "client_assertion": assertion}


def oidc_flow_fixtures(name: str, populate: Any, issuer: str = "http://testserver"):  # type: ignore[no-untyped-def]
    """The fixtures of an end-to-end flow module driven by an independent client library through TestClient:
    a module-scoped ``seed`` (``populate(client, keys)`` → the citizen, done once), and per test ``services``
    (a private copy of the seed with ``issuer`` = the TestClient's origin), ``citizen`` and ``browser``.
    Use: ``seed, services, citizen, browser = oidc_flow_fixtures("oidc-flow", populate)``."""
    import shutil

    from civid.settings import Settings
    from server.app import create_app
    from server.services import build_services
    from tests.conftest import build_seed

    @pytest.fixture(scope="module", name="seed")
    def seed_fixture(tmp_path_factory):  # type: ignore[no-untyped-def]
        root = tmp_path_factory.mktemp(f"{name}-seed")
        return root, *build_seed(root, populate)

    @pytest.fixture(name="services")
    def services_fixture(seed, tmp_path):  # type: ignore[no-untyped-def]
        shutil.copytree(seed[0] / "var", tmp_path / "var")
        built = build_services(Settings(data_dir=tmp_path / "var", issuer=issuer))
        yield built
        built.close()

    @pytest.fixture(name="citizen")
    def citizen_fixture(seed):  # type: ignore[no-untyped-def]
        return seed[2]

    @pytest.fixture(name="browser")
    def browser_fixture(services):  # type: ignore[no-untyped-def]
        with TestClient(create_app(services=services), base_url=issuer, raise_server_exceptions=False) as client:
            yield client

    return seed_fixture, services_fixture, citizen_fixture, browser_fixture
