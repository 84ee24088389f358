"""Migration 0017 on SQLite and PostgreSQL: KYC attestations signed while a "duplicate" decision had made the
applicant's enrolment the identity's record (the rule before issue #11) are revoked on upgrade — the issuing
bank's status check and the signed status list both say so — while attestations issued before that decision,
and those of identities never merged, stay valid; each revocation is in the audit chain, which still verifies."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from civid import audit
from civid.audit import Actor
from kyc.revocation import status_of
from kyc.status_list import STATUS_LIST_TYP, decode, status_at
from models import Attestation, AuditEvent
from models.db import downgrade, upgrade
from server.app import create_app
from server.services import build_services
from tests.conftest import make_settings
from tests.idp.conftest import ClientKey
from tests.kyc.banks import ATTESTATIONS, Bank, civid_jwks, client_auth, verify_with_joserfc
from tests.models.audit_before_log import record_before_log
from tests.models.migrations import engine, postgres_schema_url  # noqa: F401 - fixture
from tests.models.test_backchannel_logout_migration import clients_at_0009

# The tables as they stand at revision 0015, only the columns the rows below need.
WHEN = sa.DateTime(timezone=True)
api_keys = sa.table(
    "api_keys",
    sa.column("id"),
    sa.column("name"),
    sa.column("role"),
    sa.column("key_hash"),
    sa.column("prefix"),
    sa.column("created_at", WHEN),
)
identities = sa.table(
    "identities", sa.column("id"), sa.column("uin"), sa.column("status"), sa.column("created_at", WHEN)
)
enrolments = sa.table(
    "enrolments",
    sa.column("id"),
    sa.column("public_id"),
    sa.column("status"),
    sa.column("officer_id"),
    sa.column("given_name"),
    sa.column("family_name"),
    sa.column("date_of_birth", sa.Date),
    sa.column("sex"),
    sa.column("place_of_birth"),
    sa.column("nationality"),
    sa.column("address", sa.JSON),
    sa.column("quality", sa.JSON),
    sa.column("rejection_reasons", sa.JSON),
    sa.column("identity_id"),
    sa.column("created_at", WHEN),
    sa.column("decided_at", WHEN),
)
attestations = sa.table(
    "kyc_attestations",
    sa.column("uid"),
    sa.column("client_id"),
    sa.column("identity_id"),
    sa.column("grant_id"),
    sa.column("format"),
    sa.column("claims", sa.JSON),
    sa.column("trust_framework"),
    sa.column("assurance_level"),
    sa.column("issued_at", WHEN),
    sa.column("expires_at", WHEN),
    sa.column("status_list"),
    sa.column("status_index"),
)
clients_at_0015 = sa.table(
    "oidc_clients", *[sa.column(c.name, c.type) for c in clients_at_0009.c], sa.column("jwks", sa.JSON)
)

NOW = datetime.now(UTC).replace(microsecond=0)
ISSUED_AT = NOW - timedelta(days=20)  # the holder's own enrolment issues the UIN
MERGED_AT = NOW - timedelta(days=10)  # someone's application decided "duplicate" of it: the old rule's new record
SLOTS = {"before": 3, "at": 17, "after": 200, "unmerged": 41}  # status-list indexes


def _merged_identity_at_0015(engine: Engine, bank: Bank) -> None:
    """A schema at 0015 holding identity 1 (issued, then a duplicate application decided against it) with
    attestations issued before, exactly at and after that decision, and identity 2 (never merged) with one."""
    upgrade(engine, "0015")
    applicant = {
        "date_of_birth": date(1961, 8, 4),
        "sex": "M",
        "place_of_birth": "Honolulu",
        "nationality": "USA",
        "address": {"line1": "1 Main St"},
        "quality": [],
        "rejection_reasons": [],
        "officer_id": 1,
    }
    with engine.begin() as db:
        db.execute(
            api_keys.insert().values(
                id=1, name="Officer Obama", role="officer", key_hash="a" * 64, prefix="p", created_at=ISSUED_AT
            )
        )
        db.execute(
            identities.insert(),
            [
                {"id": 1, "uin": "1000000001", "status": "active", "created_at": ISSUED_AT},
                {"id": 2, "uin": "1000000002", "status": "active", "created_at": ISSUED_AT},
            ],
        )
        db.execute(
            enrolments.insert(),
            [
                {
                    **applicant,
                    "id": 1,
                    "public_id": "e-holder",
                    "status": "issued",
                    "given_name": "Barack",
                    "family_name": "Obama",
                    "identity_id": 1,
                    "created_at": ISSUED_AT,
                    "decided_at": ISSUED_AT,
                },
                {
                    **applicant,
                    "id": 2,
                    "public_id": "e-attempt",
                    "status": "duplicate",
                    "given_name": "Mallory",
                    "family_name": "Impostor",
                    "identity_id": 1,
                    "created_at": MERGED_AT - timedelta(hours=2),
                    "decided_at": MERGED_AT,
                },
                {
                    **applicant,
                    "id": 3,
                    "public_id": "e-other",
                    "status": "issued",
                    "given_name": "Michelle",
                    "family_name": "Robinson",
                    "identity_id": 2,
                    "created_at": ISSUED_AT,
                    "decided_at": ISSUED_AT,
                },
            ],
        )
        db.execute(
            sa.insert(clients_at_0015).values(
                id=1,
                client_id=bank.client_id,
                name="Belize Bank",
                token_endpoint_auth_method="private_key_jwt",
                jwks=bank.key.jwks,
                redirect_uris=["https://bank.bz/cb"],
                post_logout_redirect_uris=[],
                allowed_scopes=["openid", "profile"],
                entitlements=["kyc"],
                subject_type="pairwise",
                sector_identifier="bank.bz",
                require_par=False,
                default_acr_values=[],
                contacts=[],
                registered_by="admin:test",
                created_at=ISSUED_AT,
            )
        )
        issued = {
            "before": MERGED_AT - timedelta(hours=1),
            "at": MERGED_AT,
            "after": MERGED_AT + timedelta(days=1),
            "unmerged": MERGED_AT + timedelta(days=1),
        }
        db.execute(
            attestations.insert(),
            [
                {
                    "uid": f"att-{name}",
                    "client_id": bank.client_id,
                    "identity_id": 2 if name == "unmerged" else 1,
                    "grant_id": None,
                    "format": "jwt",
                    "claims": ["given_name", "family_name"],
                    "trust_framework": "bz_nid",
                    "assurance_level": "substantial",
                    "issued_at": issued[name],
                    "expires_at": issued[name] + timedelta(days=90),
                    "status_list": 1,
                    "status_index": SLOTS[name],
                }
                for name in SLOTS
            ],
        )
    with Session(engine) as db:  # the chain the upgrade must extend, as civid wrote it
        record_before_log(
            db,
            Actor(1, "Officer Obama", "officer"),
            "case.decided",
            "case",
            "case-1",
            decision="duplicate",
            enrolment="e-attempt",
            uin="1000000001",
            comment_length=12,
        )
        db.commit()


def _live(url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """civid itself on the upgraded database."""
    return build_services(make_settings(tmp_path, database_url=url))


def test_upgrade_revokes_the_attestations_issued_from_a_merged_duplicate(engine, tmp_path):
    bank = Bank("bank-belize", ClientKey())
    _merged_identity_at_0015(engine, bank)

    upgrade(engine)

    services = _live(engine.url.render_as_string(hide_password=False), tmp_path)
    try:
        with TestClient(create_app(services=services), raise_server_exceptions=False) as client:
            said = {}
            for name in SLOTS:  # what the issuing bank is told, authenticated with its private_key_jwt
                path = f"{ATTESTATIONS}/att-{name}/status"
                response = client.post(path, json=client_auth(bank, services, path))
                assert response.status_code == 200, response.text
                said[name] = response.json()
            assert {name: body["status"] for name, body in said.items()} == {
                "before": "valid",
                "at": "revoked",
                "after": "revoked",
                "unmerged": "valid",
            }
            assert "duplicate application" in said["after"]["reason"] and said["after"]["revoked_at"]

            listed = client.get("/v1/kyc/status-lists/1")  # what any verifier polls, checked with joserfc
            assert listed.status_code == 200, listed.text
            header, claims = verify_with_joserfc(listed.text, civid_jwks(client))
            assert header["typ"] == STATUS_LIST_TYP
            bits = decode(claims["status_list"]["lst"])
            assert {name: status_at(bits, index) for name, index in SLOTS.items()} == {
                "before": 0,
                "at": 1,
                "after": 1,
                "unmerged": 0,
            }
    finally:
        services.close()

    with Session(engine) as db:
        assert audit.verify_chain(db)[1] is None  # extended, not broken (civid's start-up appended more since)
        revoked = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "kyc.attestation_revoked").order_by(AuditEvent.id)
        ).all()
        assert [(e.subject_id, e.person, e.client_id, e.actor_role) for e in revoked] == [
            ("att-at", "1000000001", bank.client_id, "system"),
            ("att-after", "1000000001", bank.client_id, "system"),
        ]
        assert revoked[1].detail["record_enrolment"] == "e-holder"
        assert revoked[1].detail["stated_enrolment"] == "e-attempt"
        assert revoked[1].detail["status_index"] == SLOTS["after"]


def test_downgrade_keeps_the_revocations_and_a_second_upgrade_adds_nothing(engine):
    _merged_identity_at_0015(engine, Bank("bank-belize", ClientKey()))
    upgrade(engine)

    downgrade(engine, "0015")  # a revocation is final: the older code would state the attempt again
    upgrade(engine)

    with Session(engine) as db:
        state = {row.uid: row.revoked_at is not None for row in db.scalars(select(Attestation))}
        assert state == {"att-before": False, "att-at": True, "att-after": True, "att-unmerged": False}
        assert audit.verify_chain(db) == (3, None)


def test_each_revocation_names_the_enrolment_the_old_rule_stated_when_it_was_issued(engine):
    """Two duplicates decided one after the other: attestations between them stated the first, one after both
    the second; all are revoked (an expired one too), each event naming the enrolment that attestation stated."""
    _merged_identity_at_0015(engine, Bank("bank-belize", ClientKey()))
    later = MERGED_AT + timedelta(days=2)
    with engine.begin() as db:
        db.execute(
            enrolments.insert().values(
                id=4,
                public_id="e-second-attempt",
                status="duplicate",
                officer_id=1,
                given_name="Eve",
                family_name="Forger",
                date_of_birth=date(1961, 8, 4),
                sex="M",
                place_of_birth="Honolulu",
                nationality="USA",
                address={},
                quality=[],
                rejection_reasons=[],
                identity_id=1,
                created_at=later - timedelta(hours=1),
                decided_at=later,
            )
        )
        db.execute(
            attestations.insert().values(
                uid="att-latest",
                client_id="bank-belize",
                identity_id=1,
                grant_id=None,
                format="sd-jwt",
                claims=["given_name"],
                trust_framework="bz_nid",
                assurance_level="substantial",
                issued_at=later + timedelta(hours=1),
                expires_at=later + timedelta(days=90),
                status_list=1,
                status_index=99,
            )
        )
        db.execute(
            attestations.insert().values(  # expired already: revoked all the same, a bank asking learns it
                uid="att-expired",
                client_id="bank-belize",
                identity_id=1,
                grant_id=None,
                format="jwt",
                claims=["given_name"],
                trust_framework="bz_nid",
                assurance_level="substantial",
                issued_at=MERGED_AT + timedelta(minutes=5),
                expires_at=NOW - timedelta(days=1),
                status_list=1,
                status_index=98,
            )
        )

    upgrade(engine)

    with Session(engine) as db:
        stated = {
            e.subject_id: e.detail["stated_enrolment"]
            for e in db.scalars(select(AuditEvent).where(AuditEvent.action == "kyc.attestation_revoked"))
        }
        assert stated == {
            "att-at": "e-attempt",
            "att-expired": "e-attempt",
            "att-after": "e-attempt",
            "att-latest": "e-second-attempt",
        }
        status = {row.uid: status_of(row).status for row in db.scalars(select(Attestation))}
        assert status == {
            "att-before": "valid",
            "att-at": "revoked",
            "att-after": "revoked",
            "att-unmerged": "valid",
            "att-latest": "revoked",
            "att-expired": "revoked",
        }
