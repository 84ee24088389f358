"""``civid identity update|approve-update|reject-update``: an officer's correction with evidence from the command
line, with the API's rules (four eyes, validation); a refused step is a message and exit 2, nothing changed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from civid.audit import SYSTEM
from civid.auth import create_api_key
from models import AuditEvent, Enrolment, Identity, IdentityRecordVersion
from server.services import build_services
from tests.conftest import make_settings
from tests.server.test_identity_cli import UIN, run

EVIDENCE = json.dumps(
    {
        "type": "court_order",
        "number": "HC-2026-77",
        "issuer": {"name": "Supreme Court", "country": "BLZ"},
        "check_methods": ["vpip"],
    }
)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[object, dict[str, str]]]:
    services = build_services(make_settings(tmp_path), open_gallery=False)
    keys = {}
    with services.sessions.begin() as db:
        for name, role in (("officer", "officer"), ("adjudicator", "adjudicator")):
            row, keys[name] = create_api_key(db, f"desk {name}", role, SYSTEM)
        identity = Identity(uin=UIN, status="active")
        db.add(identity)
        db.flush()
        db.add(
            Enrolment(
                public_id="e-cli",
                status="issued",
                officer_id=row.id,
                given_name="Ana",
                family_name="Pérez",
                date_of_birth=date(1990, 4, 21),
                sex="F",
                place_of_birth="Belize City",
                nationality="BLZ",
                address={"line1": "12 Albert Street", "locality": "Belize City", "country": "BLZ"},
                identity_id=identity.id,
            )
        )
    yield services, keys
    services.close()


def test_a_sex_correction_from_the_command_line_needs_a_second_person(tmp_path, setup):
    services, keys = setup
    proposed = run(
        tmp_path, keys["officer"], "identity", "update", UIN, "--changes", '{"sex": "X"}', "--evidence", EVIDENCE
    )
    assert proposed.exit_code == 0, proposed.output
    assert "version 2 pending (sex)" in proposed.output
    own = run(tmp_path, keys["officer"], "identity", "approve-update", UIN, "2")
    assert own.exit_code == 2 and "may not approve" in own.output
    done = run(tmp_path, keys["adjudicator"], "identity", "approve-update", UIN, "2")
    assert done.exit_code == 0 and "version 2 applied" in done.output, done.output
    bad = run(
        tmp_path, keys["officer"], "identity", "update", UIN, "--changes", '{"phone": "12"}', "--evidence", EVIDENCE
    )
    assert bad.exit_code == 2, bad.output
    with services.sessions() as db:  # type: ignore[attr-defined]
        assert db.scalars(select(Enrolment.sex)).one() == "X"
        assert len(db.scalars(select(IdentityRecordVersion)).all()) == 2


def test_the_versions_command_lists_who_changed_what_and_audits_the_reading(tmp_path, setup):
    services, keys = setup
    assert (
        run(
            tmp_path,
            keys["officer"],
            "identity",
            "update",
            UIN,
            "--changes",
            '{"email": "a@b.bz"}',
            "--evidence",
            EVIDENCE,
        ).exit_code
        == 0
    )
    listed = run(tmp_path, keys["adjudicator"], "identity", "versions", UIN)
    assert listed.exit_code == 0, listed.output
    assert "record versions" in listed.output and "applied" in listed.output and "email" in listed.output
    assert "desk officer" in listed.output
    refused = run(tmp_path, "civid_not-a-key", "identity", "versions", UIN)
    assert refused.exit_code == 2
    with services.sessions() as db:  # type: ignore[attr-defined]
        viewed = db.scalars(select(AuditEvent).where(AuditEvent.action == "identity.record_versions_viewed")).all()
        assert [e.actor_name for e in viewed] == ["desk adjudicator"]
