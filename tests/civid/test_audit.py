"""The hash-chained audit trail: intact after real work, tampering found at the right event, no biometrics."""

from __future__ import annotations

import base64
import json
from datetime import UTC

import pytest
from sqlalchemy import select, text

from civid.audit import GENESIS, verify_chain
from models import AuditEvent, FaceTemplate
from tests.conftest import assert_problem, enrol, seeded_fixtures


def enrol_history(client, keys) -> dict[str, dict]:
    """A few enrolments: two issued, one rejected, one opening a case."""
    done = {
        "obama": enrol(client, keys.officer, ["obama_2012_portrait.jpg"]).json(),
        "biden": enrol(client, keys.officer, ["biden_2010_blue_room.jpg"]).json(),
        "turned": enrol(client, keys.officer, ["obama_2009_congress.jpg"]).json(),
        "again": enrol(client, keys.officer2, ["obama_2010_blue_room.jpg"]).json(),
    }
    assert [b["status"] for b in done.values()] == ["issued", "issued", "rejected", "pending_adjudication"]
    return done


seed, settings, keys, history = seeded_fixtures(enrol_history, "history")


def event_ids(services, action: str) -> list[int]:
    with services.sessions() as session:
        return list(session.scalars(select(AuditEvent.id).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def check(services) -> tuple[int, int | None]:
    with services.sessions() as session:
        return verify_chain(session)


def tamper(services, sql: str, **params) -> None:
    with services.engine.begin() as connection:
        connection.execute(text(sql), params)


def test_chain_is_intact_after_enrolments_and_links_each_event_to_the_previous(client, keys, services, history):
    with services.sessions() as session:
        chain = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert chain[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(chain, chain[1:]))
    assert check(services) == (len(chain), None)
    response = client.get("/v1/audit/verify", headers=keys.auditor)
    assert response.status_code == 200, response.text
    assert response.json() == {"events_checked": len(chain), "intact": True, "first_broken_event": None}


def test_editing_one_events_detail_is_detected_at_that_event(client, keys, services, history):
    [issued, _] = event_ids(services, "enrolment.issued")
    tamper(
        services,
        "UPDATE audit_events SET detail = :detail WHERE id = :id",
        detail=json.dumps({"uin": "1234567890", "photos": 1}),
        id=issued,
    )
    checked, broken = check(services)
    assert broken == issued and checked == issued - 1
    body = client.get("/v1/audit/verify", headers=keys.auditor).json()
    assert body == {"events_checked": issued - 1, "intact": False, "first_broken_event": issued}


def test_rewriting_an_event_and_its_own_hash_is_still_detected_at_the_next_event(client, keys, services, history):
    from civid.audit import event_hash

    [rejected] = event_ids(services, "enrolment.rejected")
    with services.sessions.begin() as session:
        event = session.get(AuditEvent, rejected)
        event.detail = {"reasons": [], "photos": 1}
        event.hash = event_hash(event)  # a careful forger recomputes this event's hash...
    checked, broken = check(services)
    assert broken == rejected + 1  # ...but the next event still names the old one


def test_deleting_one_event_is_detected_where_the_chain_breaks(client, keys, services, history):
    [rejected] = event_ids(services, "enrolment.rejected")
    tamper(services, "DELETE FROM audit_events WHERE id = :id", id=rejected)
    checked, broken = check(services)
    assert broken == rejected + 1  # the event after the gap no longer follows its predecessor
    assert checked == rejected - 1
    body = client.get("/v1/audit/verify", headers=keys.auditor).json()
    assert body["intact"] is False and body["first_broken_event"] == rejected + 1


def test_changing_an_events_actor_is_detected(client, keys, services, history):
    [case_opened] = event_ids(services, "enrolment.case_opened")
    tamper(services, "UPDATE audit_events SET actor_name = 'someone else' WHERE id = :id", id=case_opened)
    assert check(services)[1] == case_opened


def test_only_the_auditor_may_verify_the_chain(client, keys):
    for role in (keys.officer, keys.adjudicator, keys.admin):
        assert_problem(client.get("/v1/audit/verify", headers=role), 403)
    assert_problem(client.get("/v1/audit/verify"), 401)


def test_audit_events_never_contain_template_bytes(client, keys, services, history):
    with services.sessions() as session:
        templates = list(session.scalars(select(FaceTemplate)))
        stored = [json.dumps(e.detail) for e in session.scalars(select(AuditEvent))]
    assert templates
    everything = "\n".join(stored)
    for row in templates:
        for encoded in (row.ciphertext.hex(), base64.b64encode(row.ciphertext).decode()):
            assert encoded[:32] not in everything
        assert row.nonce.hex() not in everything
    for detail in stored:
        assert len(detail) < 1000  # outcomes, ids and scores; no room for a 128-d vector
    events = client.get("/v1/audit/events", params={"limit": 1000}, headers=keys.auditor).json()
    assert all("template" not in json.dumps(e["detail"]).lower() for e in events)


def test_auditor_filters_events_by_subject(client, keys, history):
    subject = history["obama"]["id"]
    response = client.get("/v1/audit/events", params={"subject_id": subject}, headers=keys.auditor)
    assert response.status_code == 200, response.text
    events = response.json()
    assert [(e["action"], e["subject_id"]) for e in events] == [("enrolment.issued", subject)]
    assert events[0]["actor_name"] == "test officer"
    assert events[0]["detail"]["uin"] == history["obama"]["uin"]


def test_auditor_filters_events_by_action_newest_first(client, keys, history):
    events = client.get("/v1/audit/events", params={"action": "enrolment.issued"}, headers=keys.auditor).json()
    assert [e["subject_id"] for e in events] == [history["biden"]["id"], history["obama"]["id"]]


def test_officer_may_not_read_the_audit_trail(client, keys):
    assert_problem(client.get("/v1/audit/events", headers=keys.officer), 403)


def test_time_filters_mean_the_same_instant_whatever_the_offset(client, keys, history):
    from datetime import datetime, timedelta, timezone

    everything = client.get("/v1/audit/events", params={"limit": 1000}, headers=keys.auditor).json()
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    for zone in (UTC, timezone(timedelta(hours=5)), timezone(timedelta(hours=-6))):  # -6: Belize
        since = an_hour_ago.astimezone(zone).isoformat()
        found = client.get("/v1/audit/events", params={"since": since, "limit": 1000}, headers=keys.auditor).json()
        assert len(found) == len(everything), since
        until = client.get("/v1/audit/events", params={"until": since}, headers=keys.auditor).json()
        assert until == [], since


@pytest.mark.parametrize("written", ["0", "1600000000", "yesterday"])
def test_time_filters_not_written_as_iso_8601_are_refused_not_read_as_unix_time(client, keys, written):
    for name in ("since", "until"):
        response = client.get("/v1/audit/events", params={name: written}, headers=keys.auditor)
        body = assert_problem(response, 422)
        assert name in body["detail"] and "ISO 8601" in body["detail"], body["detail"]


def test_auditor_finds_a_persons_events_by_uin_and_a_mistyped_uin_is_refused(client, keys, services, history):
    uin = history["obama"]["uin"]
    response = client.get("/v1/audit/events", params={"person": uin}, headers=keys.auditor)
    assert response.status_code == 200, response.text
    events = response.json()
    assert [e["action"] for e in events] == ["enrolment.issued"] and events[0]["person"] == uin
    wrong = uin[:-1] + str((int(uin[-1]) + 1) % 10)  # check digit broken
    assert_problem(client.get("/v1/audit/events", params={"person": wrong}, headers=keys.auditor), 422)
    assert_problem(client.get("/v1/audit/events", params={"person": uin}, headers=keys.officer), 403)


def test_changing_the_person_column_breaks_the_chain_at_that_event(client, keys, services, history):
    [issued, _] = event_ids(services, "enrolment.issued")
    tamper(services, "UPDATE audit_events SET person = :other WHERE id = :id", other="0000000000", id=issued)
    assert check(services)[1] == issued


def test_binary_data_and_forbidden_fields_never_enter_the_audit_trail(services):
    from civid.audit import SYSTEM, record

    with services.sessions() as session:
        for detail in (
            {"descriptor": [0.1, 0.2]},
            {"nested": {"document_number": "BZ123456"}},
            {"blob": b"\x00\x01"},
            {"items": [{"template": "x"}]},
        ):
            with pytest.raises(ValueError):
                record(session, SYSTEM, "test.event", "test", "1", **detail)
        session.rollback()
