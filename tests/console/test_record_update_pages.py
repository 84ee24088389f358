"""The console's record-update pages: the queue of changes waiting for a second person, one identity's versions
with the change beside the record in force, approval and rejection by another adjudicator (the proposer is told
why they may not, and a forced POST is refused), read-only for an auditor, closed to an officer, in Spanish too."""

from __future__ import annotations

import re

from sqlalchemy import select

from civid.actor import Actor
from enrollment import record_update
from models import AuditEvent, Enrolment, Identity, StaffAccount
from tests.conftest import seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS, console_sign_in, enrol_staff
from tests.enrollment.records import EVIDENCE, propose
from tests.idp.frontchannel import BIDEN_PHOTO, OBAMA_PHOTO

seed, settings, keys, people = seeded_fixtures(enrol_staff, "people", **CONSOLE_SETTINGS)


def csrf(page) -> str:  # type: ignore[no-untyped-def]
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def family_name(services, uin: str) -> str:
    with services.sessions() as db:
        identity = db.scalars(select(Identity).where(Identity.uin == uin)).one()
        return db.scalars(select(Enrolment.family_name).where(Enrolment.identity_id == identity.id)).one()


def test_a_second_adjudicator_approves_a_name_change_from_the_queue(client, keys, services, people):
    uin = people.officer.uin
    proposed = propose(client, keys.adjudicator, uin, {"family_name": "Obama Dunham"}, reason="court order")
    assert proposed.status_code == 201 and proposed.json()["status"] == "pending", proposed.text
    console_sign_in(client, people.adjudicator, BIDEN_PHOTO)

    queue = client.get("/console/record-updates")
    assert queue.status_code == 200 and f'href="/console/record-updates/{uin}"' in queue.text
    assert "Family name" in queue.text and "test adjudicator" in queue.text
    page = client.get(f"/console/record-updates/{uin}")
    assert "<td>Obama</td><td><strong>Obama Dunham</strong></td>" in page.text
    assert "MC-2026-0042" not in page.text and "••••0042" in page.text  # the document number stays masked
    assert "Reason given: court order" in page.text
    spanish = client.get(f"/console/record-updates/{uin}", headers={"Accept-Language": "es"})
    assert "Aprobar el cambio" in spanish.text and "Apellido" in spanish.text

    done = client.post(
        f"/console/record-updates/{uin}/2/approve", data={"csrf_token": csrf(page)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == f"/console/record-updates/{uin}?done=approved"
    assert family_name(services, uin) == "Obama Dunham"
    assert "The change is approved and in force." in client.get(done.headers["location"]).text
    with services.sessions() as db:
        approved = db.scalars(select(AuditEvent).where(AuditEvent.action == "identity.record_update_approved")).one()
        assert approved.actor_name == "Adjudicator Biden"
    assert "No change is waiting for approval." in client.get("/console/record-updates").text


def test_the_proposer_is_told_four_eyes_and_a_forced_approval_is_refused_then_another_rejects(
    client, keys, services, people
):
    uin = people.officer.uin
    with services.sessions() as db:
        biden = db.scalars(select(StaffAccount).where(StaffAccount.name == "Adjudicator Biden")).one()
        actor = Actor(biden.api_key_id, biden.name, "adjudicator")
    with services.sessions.begin() as db:
        evidence = record_update_evidence()
        record_update.propose(db, services.keyring, services.events, actor, uin, {"given_name": "Barry"}, evidence)
    console_sign_in(client, people.adjudicator, BIDEN_PHOTO)
    page = client.get(f"/console/record-updates/{uin}")
    assert 'id="four-eyes"' in page.text and "/approve" not in page.text
    forced = client.post(f"/console/record-updates/{uin}/2/approve", data={"csrf_token": csrf(page)})
    assert forced.status_code == 403 and "another adjudicator must approve it" in forced.text
    assert family_name(services, uin) == "Obama"

    rejected = client.post(
        f"/console/record-updates/{uin}/2/reject",
        data={"csrf_token": csrf(page), "note": "not the proposer's to reject?"},
        follow_redirects=False,
    )
    # Rejecting is not approving: the four-eyes rule guards a change coming into force, not its withdrawal.
    assert rejected.status_code == 303
    listed = client.get(f"/console/record-updates/{uin}")
    assert "Rejected" in listed.text and "/approve" not in listed.text


def record_update_evidence():  # type: ignore[no-untyped-def]
    from enrollment.documents import DocumentEvidence
    from enrollment.record_update_routes import EvidenceIn

    return DocumentEvidence.from_input(EvidenceIn.model_validate(EVIDENCE))


def test_an_officer_cannot_open_the_pages_and_a_bad_decision_is_a_404(client, keys, services, people):
    console_sign_in(client, people.officer, OBAMA_PHOTO)
    assert client.get("/console/record-updates").status_code == 403
    assert 'href="/console/record-updates"' not in client.get("/console").text
    client.cookies.clear()
    console_sign_in(client, people.adjudicator, BIDEN_PHOTO)
    page = client.get(f"/console/record-updates/{people.officer.uin}")
    assert page.status_code == 200 and "Every version of the record" in page.text
    assert (
        client.post(
            f"/console/record-updates/{people.officer.uin}/2/merge", data={"csrf_token": csrf(page)}
        ).status_code
        == 404
    )
    assert client.get("/console/record-updates/4058075260").status_code == 422  # a wrong check digit
