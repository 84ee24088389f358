"""A lost UIN (#16 item 4), with two people enrolled from real photos. Online: a face and the date of birth send
the UIN to the contact on the record (the only message with the whole UIN), the page says the same whatever
happened and never shows a UIN, a matched photo file is spent, every attempt counts alike against the source.
At a desk: 1:N plus stated demographics, only the agreeing candidates, with the receipt to reprint; audited."""

from __future__ import annotations

from sqlalchemy import select

from models import AuditEvent, LoginAttempt, Notification
from tests.conftest import assert_problem, fixture_bytes, seeded_fixtures
from tests.idp.frontchannel import BIDEN_PHOTO, OBAMA_PHOTO, enrol_people, form_value, fresh_photo

# A mail server configured (nothing is delivered here: the outbox's delivery has its own tests), so email queues.
seed, settings, keys, people = seeded_fixtures(enrol_people, "people", smtp_host="127.0.0.1", smtp_port=2525)
BORN = "1988-03-14"  # tests.conftest.person()'s date of birth, both people's
SENT = "If your face and date of birth match a record, we have sent its UIN"


def ask(client, photo: tuple[str, bytes, str] | None, born: str = BORN, **headers: str):
    page = client.get("/recover-uin", headers=headers)
    assert page.status_code == 200
    data = {"csrf_token": form_value(page.text, "csrf_token"), "date_of_birth": born}
    return client.post("/recover-uin", data=data, files={"photo": photo} if photo else None, headers=headers)


def queued(services) -> list[Notification]:
    with services.sessions() as db:
        return list(db.scalars(select(Notification).where(Notification.kind == "uin_recovery")))


def events(services, action: str) -> list[AuditEvent]:
    with services.sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_matching_face_and_birth_date_send_the_uin_to_the_email_on_record_never_to_the_page(client, services, people):
    answer = ask(client, fresh_photo(BIDEN_PHOTO))
    assert answer.status_code == 200 and SENT in answer.text
    assert people.biden.uin not in answer.text and people.obama.uin not in answer.text
    [mail] = queued(services)
    assert (mail.channel, mail.address) == ("email", "joe@example.bz")
    assert people.biden.uin in mail.body and mail.subject == "Your national identity number, as you asked"
    [sent] = events(services, "identity.uin_recovery_sent")
    assert sent.person == people.biden.uin


def test_a_wrong_birth_date_or_an_unknown_face_get_the_same_answer_and_send_nothing(client, services, people):
    wrong_date = ask(client, fresh_photo(OBAMA_PHOTO), born="1961-08-05")
    stranger = ask(client, ("x.png", fixture_bytes("collins_nasa_portrait.png"), "image/png"))
    for answer in (wrong_date, stranger):
        assert answer.status_code == 200 and SENT in answer.text
    assert queued(services) == []
    with services.sessions() as db:
        failures = db.scalars(select(LoginAttempt).where(LoginAttempt.method == "uin_recovery")).all()
        assert [f.success for f in failures] == [False, False]


def test_the_page_is_in_spanish_and_a_bad_form_is_explained(client, services, people):
    es = ask(client, fresh_photo(OBAMA_PHOTO), born="14/03/1988", **{"Accept-Language": "es"})
    assert es.status_code == 422 and "Escriba su fecha de nacimiento" in es.text
    assert ask(client, None).status_code == 422
    forged = client.post("/recover-uin", data={"date_of_birth": BORN}, files={"photo": fresh_photo()})
    assert forged.status_code in (400, 403)
    assert queued(services) == []
    assert 'href="/recover-uin"' in client.get("/login").text  # the login form links to it


def test_a_photo_file_that_found_someone_sends_nothing_the_second_time_and_says_the_same(client, services, people):
    photo = fresh_photo(BIDEN_PHOTO)
    first = ask(client, photo)
    again = ask(client, photo)
    assert (first.status_code, again.status_code) == (200, 200) and SENT in again.text
    assert len(queued(services)) == 1  # spent: not compared again, nothing sent again


def test_a_match_and_a_miss_count_the_same_against_the_source(client, services, people):
    """Otherwise a stranger could time the lockout to learn which photo matched."""
    ask(client, fresh_photo(BIDEN_PHOTO))
    ask(client, fresh_photo(OBAMA_PHOTO), born="1961-08-05")
    with services.sessions() as db:
        attempts = db.scalars(select(LoginAttempt).where(LoginAttempt.method == "uin_recovery")).all()
    assert [(a.success, a.identity_id) for a in attempts] == [(False, None), (False, None)]


def test_many_failures_from_one_source_lock_it(client, services, people, monkeypatch):
    monkeypatch.setattr(services.settings, "login_max_failures_per_source", 2)
    for _ in range(2):
        assert SENT in ask(client, fresh_photo(OBAMA_PHOTO), born="1961-08-05").text
    locked = ask(client, fresh_photo(OBAMA_PHOTO))
    assert locked.status_code == 429 and queued(services) == []


# --- at a desk ----------------------------------------------------------------------------------
def find(client, headers, photo: str = OBAMA_PHOTO, **form: str):
    files = {"photo": ("p.jpg", fixture_bytes(photo), "image/jpeg")}
    return client.post("/v1/identities/find", headers=headers, data=form, files=files)


def test_an_officer_finds_the_person_by_face_and_stated_name_and_gets_the_receipt(client, keys, services, people):
    found = find(client, keys.officer, family_name="OBAMA")
    assert found.status_code == 200, found.text
    [match] = found.json()["matches"]
    assert match["uin"] == people.obama.uin and match["identity_status"] == "active"
    assert match["receipt_url"] == f"/console/enrolments/{match['enrolment_id']}/receipt"
    assert match["face_score"] > services.settings.identify_threshold
    # Demographics that do not agree hide the match: the desk finds the person in front of it, nobody else.
    assert find(client, keys.officer, family_name="Obama", date_of_birth="1961-08-04").json()["matches"] == []
    assert find(client, keys.officer, family_name="Biden").json()["matches"] == []
    audited = events(services, "identity.found_at_desk")
    assert [e.detail["candidates"] for e in audited] == [1, 0, 0]
    assert audited[0].detail["uins"] == [people.obama.uin]


def test_the_desk_search_needs_demographics_biometrics_and_a_desk_role(client, keys, services, people):
    refused = assert_problem(find(client, keys.officer), 422)
    assert "family name or date of birth" in refused["detail"]
    none = client.post("/v1/identities/find", headers=keys.officer, data={"family_name": "Obama"})
    assert_problem(none, 422)
    assert_problem(find(client, keys.officer, date_of_birth="14-03-1988"), 422)
    assert_problem(find(client, keys.auditor, family_name="Obama"), 403)
    assert events(services, "identity.found_at_desk") == []
