"""A UIN withdrawn through the adjudicator API (a "not duplicate" changed to "duplicate") ends what the other
packages hold for it through the identity events (``civid.events``): kyc revokes its attestations and the
OpenID provider its grants, in the transaction that withdraws it — or nothing happens at all."""

from __future__ import annotations

from sqlalchemy import select

from civid.events import EventBus, IdentityMerged
from models import Attestation, AuditEvent, Enrolment, Grant, Identity
from tests.conftest import seeded_fixtures
from tests.enrollment.test_adjudication import change, decide, open_a_case
from tests.idp.conftest import Citizen, issue_code, register_client
from tests.kyc.banks import held_attestation

seed, settings, keys, opened = seeded_fixtures(open_a_case, "opened")


def issued_meanwhile(client, keys, services, opened) -> tuple[Identity, str, str]:  # type: ignore[no-untyped-def]
    """Decide "not duplicate"; the UIN it issues signs in to a portal and gets a bank's attestation.
    Return the identity, the grant's uid and the attestation's uid."""
    assert decide(client, keys, opened[1]["case_id"], "not_duplicate").status_code == 200
    with services.sessions.begin() as db:
        identity = db.scalars(
            select(Identity)
            .join(Enrolment, Enrolment.identity_id == Identity.id)
            .where(Enrolment.public_id == opened[1]["id"])
        ).one()
        db.add(held_attestation(identity.id))
        db.expunge(identity)
    portal_id, _ = register_client(services)
    return identity, issue_code(services, portal_id, Citizen(identity.uin, identity.id)).grant_uid, "att-barry"


def test_a_uin_withdrawn_through_the_api_loses_its_attestations_and_grants(client, keys, services, opened):
    first, second = opened
    identity, grant_uid, attestation_uid = issued_meanwhile(client, keys, services, opened)
    changed = change(
        client, keys, second["case_id"], "duplicate", "birth records match after all", duplicate_of=first["uin"]
    )
    assert changed.status_code == 200, changed.text
    with services.sessions() as db:
        assert db.get(Identity, identity.id).status == "merged"
        grant = db.scalars(select(Grant).where(Grant.uid == grant_uid)).one()
        assert grant.revoked_at is not None and grant.revoked_reason == "identity_merged"
        attestation = db.scalars(select(Attestation).where(Attestation.uid == attestation_uid)).one()
        assert attestation.revoked_at is not None
        assert attestation.revoked_reason == f"UIN withdrawn: case {second['case_id']} decided duplicate"
        actions = list(
            db.scalars(
                select(AuditEvent.action)
                .where(
                    AuditEvent.action.in_(
                        ("identity.withdrawn", "kyc.attestation_revoked", "oidc.grant_revoked", "case.decision_changed")
                    )
                )
                .order_by(AuditEvent.id)
            )
        )
    # The withdrawal, then what it ends (attestations, then grants), then the decision that caused them.
    assert actions == ["identity.withdrawn", "kyc.attestation_revoked", "oidc.grant_revoked", "case.decision_changed"]


def test_a_failing_subscriber_leaves_the_uin_and_everything_it_holds_as_it_was(
    client, keys, services, opened, monkeypatch
):
    first, second = opened
    identity, grant_uid, attestation_uid = issued_meanwhile(client, keys, services, opened)
    events = EventBus()  # kyc, credentials and idp revoke first, as assembled; then a subscriber fails
    for handler in services.events.handlers(IdentityMerged):
        events.subscribe(IdentityMerged, handler)

    def fail(db, event):  # type: ignore[no-untyped-def]
        raise RuntimeError("the portal registry is unavailable")

    events.subscribe(IdentityMerged, fail)
    assert len(events.handlers(IdentityMerged)) == 4  # kyc, credentials, idp, then the failing one
    monkeypatch.setattr(services, "events", events)
    refused = change(
        client, keys, second["case_id"], "duplicate", "birth records match after all", duplicate_of=first["uin"]
    )
    assert refused.status_code == 500
    with services.sessions() as db:
        assert db.get(Identity, identity.id).status == "active"
        assert db.scalars(select(Grant.revoked_at).where(Grant.uid == grant_uid)).one() is None
        assert db.scalars(select(Attestation.revoked_at).where(Attestation.uid == attestation_uid)).one() is None
        assert (
            db.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.action.in_(
                        ("identity.withdrawn", "kyc.attestation_revoked", "oidc.grant_revoked", "case.decision_changed")
                    )
                )
            ).all()
            == []
        )
    case = client.get(f"/v1/cases/{second['case_id']}", headers=keys.adjudicator).json()
    assert case["decision"] == "not_duplicate" and len(case["decisions"]) == 1
