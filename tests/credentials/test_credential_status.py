"""The credentials' status list: random slots, a signed list any verifier can read, and revocation when the
identity is suspended, withdrawn or corrected (only what states a changed field), in the change's transaction."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select

from civid.actor import Actor
from civid.events import IdentityStatusChanged, IdentityUpdated, IdentityWithdrawn
from civid.token_status_list import decode, status_at
from civid.uin import verhoeff_check_digit
from credentials import cards, status
from models import AuditEvent, CredentialStatus, Identity, utcnow

OFFICER = Actor(None, "officer-1", "adjudicator")
CARD_CLAIMS = ["given_name", "family_name", "date_of_birth", "sex", "face"]


def _identity(services, digits: str = "405807526") -> int:  # type: ignore[no-untyped-def]
    with services.sessions.begin() as db:
        identity = Identity(uin=digits + verhoeff_check_digit(digits), status="active")
        db.add(identity)
        db.flush()
        return identity.id


def _issue(services, identity_id: int, kind: str = "card", claims=CARD_CLAIMS) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with services.sessions.begin() as db:
        row = status.allocate(
            db,
            services.settings.status_list_size,
            identity_id=identity_id,
            kind=kind,
            claims=list(claims),
            expires_at=utcnow() + timedelta(days=365),
        )
        return row.id, row.list_number, row.list_index


def _bit(client, services, number: int, index: int) -> int:  # type: ignore[no-untyped-def]
    response = client.get(f"/v1/credentials/status-lists/{number}")
    assert response.status_code == 200 and response.headers["content-type"] == "application/statuslist+jwt"
    assert response.headers["access-control-allow-origin"] == "*"
    token = response.text
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "statuslist+jwt"
    jwk = next(k for k in client.get("/v1/credentials/jwks.json").json()["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["ES256"])
    assert claims["sub"] == services.settings.resolved_issuer + f"/v1/credentials/status-lists/{number}"
    return status_at(decode(claims["status_list"]["lst"]), index)


def _publish(services, event) -> None:  # type: ignore[no-untyped-def]
    with services.sessions.begin() as db:
        services.events.publish(db, event)


def test_a_suspension_revokes_every_live_credential_and_the_signed_list_shows_it(client, services):
    identity_id = _identity(services)
    _, number, card_index = _issue(services, identity_id)
    _, _, wallet_index = _issue(services, identity_id, "wallet", ["given_name"])
    other = _identity(services, "405807527")
    _, other_number, other_index = _issue(services, other)
    assert _bit(client, services, number, card_index) == 0
    _publish(
        services,
        IdentityStatusChanged(
            identity_id=identity_id,
            uin="x",
            actor=OFFICER,
            status="suspended",
            previous_status="active",
            reason="court_order",
        ),
    )
    assert _bit(client, services, number, card_index) == 1 and _bit(client, services, number, wallet_index) == 1
    assert _bit(client, services, other_number, other_index) == 0  # someone else's card is untouched
    with services.sessions() as db:
        reasons = db.scalars(select(CredentialStatus.revoked_reason).where(CredentialStatus.identity_id == identity_id))
        assert set(reasons) == {"identity suspended: court_order"}
        audited = db.scalars(select(AuditEvent).where(AuditEvent.action == "credential.revoked")).all()
        assert len(audited) == 2 and {e.detail["kind"] for e in audited} == {"card", "wallet"}


def test_a_corrected_record_revokes_only_what_states_a_changed_field(services):
    identity_id = _identity(services)
    card, _, _ = _issue(services, identity_id)
    address_only, _, _ = _issue(services, identity_id, "wallet", ["address"])
    _publish(services, IdentityUpdated(identity_id=identity_id, uin="x", actor=OFFICER, fields=("family_name",)))
    with services.sessions() as db:
        assert status.state(db.get(CredentialStatus, card)) == "revoked"
        assert status.state(db.get(CredentialStatus, address_only)) == "valid"
    _publish(services, IdentityWithdrawn(identity_id=identity_id, uin="x", actor=OFFICER, reason="merged"))
    with services.sessions() as db:
        assert status.state(db.get(CredentialStatus, address_only)) == "revoked"
        assert db.get(CredentialStatus, card).revoked_reason == "record updated: family_name"  # the first reason stays


def test_a_corrected_nationality_revokes_the_card_that_prints_it(services):
    identity_id = _identity(services)
    with services.sessions.begin() as db:
        card = status.allocate(
            db,
            services.settings.status_list_size,
            identity_id=identity_id,
            kind="card",
            claims=cards.CLAIMS,
            expires_at=utcnow() + timedelta(days=365),
        ).id
    _publish(services, IdentityUpdated(identity_id=identity_id, uin="x", actor=OFFICER, fields=("nationality",)))
    with services.sessions() as db:
        assert db.get(CredentialStatus, card).revoked_reason == "record updated: nationality"


def test_a_failed_change_revokes_nothing(services):
    identity_id = _identity(services)
    card, _, _ = _issue(services, identity_id)
    with pytest.raises(RuntimeError), services.sessions.begin() as db:
        services.events.publish(db, IdentityWithdrawn(identity_id=identity_id, uin="x", actor=OFFICER, reason="r"))
        raise RuntimeError("the withdrawal's transaction fails after its subscribers ran")
    with services.sessions() as db:
        assert status.state(db.get(CredentialStatus, card)) == "valid"


def test_a_list_past_the_newest_is_a_404_problem(client):
    assert client.get("/v1/credentials/status-lists/1").status_code == 200  # list 1 exists before any credential
    response = client.get("/v1/credentials/status-lists/2")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
