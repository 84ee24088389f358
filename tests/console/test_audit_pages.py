"""Auditors' console pages: search the trail by person, actor, client, action and time; verify the chain;
export the current search as CSV."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select, update

from civid import audit
from civid.audit import SYSTEM, Actor
from models import AuditEvent
from tests.conftest import seeded_fixtures, without_request_id
from tests.console.helpers import CONSOLE_SETTINGS, console_sign_in, enrol_staff
from tests.idp.conftest import register_client
from tests.idp.frontchannel import BIDEN_PHOTO, OBAMA_PHOTO, form_value

seed, settings, keys, people = seeded_fixtures(enrol_staff, "people", **CONSOLE_SETTINGS)


def as_auditor(client, people, path: str = "/console/audit"):  # type: ignore[no-untyped-def]
    console_sign_in(client, people.adjudicator, BIDEN_PHOTO)  # Biden is adjudicator and auditor
    return client.get(path)


def results(html: str) -> str:
    """The results table of a search page (the form's suggestions list actions too)."""
    return html.split('<table class="results">')[1].split("</table>")[0] if '<table class="results">' in html else ""


def actions_of(services, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_officers_cannot_read_the_audit_trail(client, people):
    console_sign_in(client, people.officer, OBAMA_PHOTO)
    assert client.get("/console/audit").status_code == 403
    assert client.get("/console/audit/export.csv").status_code == 403
    page = client.get("/console")
    assert "/console/audit" not in page.text
    token = form_value(page.text, "csrf_token")
    assert client.post("/console/audit/verify", data={"csrf_token": token}).status_code == 403


def test_search_by_person_finds_every_event_about_them_and_is_itself_audited(client, people, services):
    page = as_auditor(client, people, f"/console/audit?person={people.officer.uin}")
    assert page.status_code == 200, page.text[:500]
    assert "<td>enrolment.issued</td>" in page.text and "<td>staff.added</td>" in page.text
    assert people.adjudicator.uin not in results(page.text)  # Biden's events are not Obama's
    [searched] = actions_of(services, "audit.searched")
    assert searched.person == people.officer.uin and searched.actor_name == "Adjudicator Biden"


def test_search_by_actor_action_family_and_client(client, people, services):
    client_id, _ = register_client(services, name="Belize Bank")
    as_auditor(client, people)
    by_actor = client.get("/console/audit?actor=OFFICER2")  # part of the name, any case
    assert by_actor.status_code == 200 and "0 events found" in by_actor.text  # officer2 did nothing in the seed
    by_actor = client.get("/console/audit?actor=test%20off&action=enrolment")
    found = results(by_actor.text)
    assert found.count("<td>enrolment.issued</td>") == 2 and "staff.added" not in found
    by_client = client.get(f"/console/audit?client={client_id}")
    assert "<td>client.registered</td>" in by_client.text and "1 event found" in by_client.text  # singular
    exact = client.get("/console/audit?action=staff.added")
    assert exact.text.count("<td>staff.added</td>") == 2


def test_time_range_and_bad_filters(client, people):
    as_auditor(client, people)
    assert "0 events found" in client.get("/console/audit?since=2999-01-01T00:00").text
    assert "0 events found" in client.get("/console/audit?until=2000-01-01").text
    assert "No event matches" in client.get("/console/audit?until=2000-01-01").text
    assert "<td>enrolment.issued</td>" in client.get("/console/audit?since=2000-01-01&until=2999-12-31").text
    bad = client.get("/console/audit?person=1234567891&since=yesterday")
    assert bad.status_code == 422
    assert "not a valid UIN" in bad.text and "Enter a date" in bad.text and 'aria-invalid="true"' in bad.text
    spanish = client.get("/console/audit?person=12&lang=es")
    assert "no es un UIN válido" in spanish.text


def test_results_are_paged_newest_first(client, people, services):
    with services.sessions.begin() as db:
        for n in range(60):
            audit.record(db, SYSTEM, "test.filler", "test", str(n))
    page = as_auditor(client, people, "/console/audit?action=test.filler")
    assert "60 events found" in page.text and "Page 1 of 2" in page.text
    assert "test 59" in page.text and "test 0<" not in page.text
    second = client.get("/console/audit?action=test.filler&page=2")
    assert "test 0<" in second.text and "test 59" not in second.text


def test_the_chain_is_verified_and_a_tampered_event_is_named(client, people, services):
    page = as_auditor(client, people)
    intact = client.post("/console/audit/verify", data={"csrf_token": form_value(page.text, "csrf_token")})
    assert intact.status_code == 200 and "The chain is intact" in intact.text
    assert actions_of(services, "audit.chain_verified")[0].detail["intact"] is True
    with services.sessions.begin() as db:
        victim = db.scalars(select(AuditEvent).where(AuditEvent.action == "staff.added")).first()
        db.execute(update(AuditEvent).where(AuditEvent.id == victim.id).values(detail={"roles": ["admin"]}))
    broken = client.post("/console/audit/verify", data={"csrf_token": form_value(page.text, "csrf_token")})
    assert f"The chain is broken at event #{victim.id}" in broken.text and 'role="alert"' in broken.text
    forged = client.post("/console/audit/verify", data={"csrf_token": "x"})
    assert forged.status_code == 403


def test_the_page_shows_the_signed_checkpoint_and_verifies_an_events_inclusion(client, people, services):
    services.audit_log.checkpoint()
    page = as_auditor(client, people)
    newest = services.audit_log.latest_checkpoint()
    assert "Signed checkpoint of the audit log" in page.text
    assert f"The log holds {newest.tree_size} events." in page.text
    assert newest.note.split("\n")[2] in page.text  # the root hash line of the signed note
    [staff_added, *_] = actions_of(services, "staff.added")
    token = form_value(page.text, "csrf_token")
    found = client.post("/console/audit/inclusion", data={"csrf_token": token, "event_id": str(staff_added.id)})
    assert found.status_code == 200
    assert f"Event #{staff_added.id} is leaf {staff_added.leaf_index} of the log of" in found.text
    assert without_request_id(actions_of(services, "audit.inclusion_checked")[0].detail) == {"included": True}
    missing = client.post("/console/audit/inclusion", data={"csrf_token": token, "event_id": "999999"})
    assert "There is no event #999999 in the log" in missing.text
    typed = client.post("/console/audit/inclusion", data={"csrf_token": token, "event_id": "twelve"})
    assert typed.status_code == 422 and "Enter an event number" in typed.text
    assert client.post("/console/audit/inclusion", data={"csrf_token": "x", "event_id": "1"}).status_code == 403


def test_the_current_search_exports_as_csv_safe_for_spreadsheets(client, people, services):
    with services.sessions.begin() as db:
        audit.record(db, Actor(None, '=HYPERLINK("http://evil")', "system"), "test.injection", "test", "1")
    as_auditor(client, people)
    exported = client.get("/console/audit/export.csv?action=enrolment")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"].startswith('attachment; filename="civid-audit-')
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["id", "occurred_at", "actor_id", "actor_name", "actor_role", "action"]
    assert [r[5] for r in rows[1:]] == ["enrolment.issued", "enrolment.issued"]
    injected = client.get("/console/audit/export.csv?action=test.injection")
    [row] = list(csv.reader(io.StringIO(injected.content.decode("utf-8-sig"))))[1:]
    assert row[3] == '\'=HYPERLINK("http://evil")'
    [exported_event, _] = actions_of(services, "audit.exported")
    assert without_request_id(exported_event.detail) == {"rows": 2, "filters": {"action": "enrolment"}}
