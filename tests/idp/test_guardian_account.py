"""A guardian acting online for their child (issue #16 item 5), after real enrolments and a real face login: the
account page lists the child (name, masked UIN), the child's history and data download work for the guardian and
are audited with the guardian as the actor and the child as the subject; another person's child is a 404, a child
who came of age disappears from the list and their pages are refused with the reason, in English and Spanish."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, update

from models import AuditEvent, Enrolment, Identity
from tests.conftest import Keys, seeded_fixtures
from tests.enrollment.test_guardians import born_years_ago, enrol_child
from tests.idp.conftest import Citizen
from tests.idp.frontchannel import BIDEN_PHOTO, People, enrol_people, fresh_photo, login_with_face


@dataclass(frozen=True)
class Family:
    people: People
    child: Citizen


def enrol_family(client, keys: Keys) -> Family:
    people = enrol_people(client, keys)
    response = enrol_child(client, keys.officer, born_years_ago(3), people.obama.uin)
    assert response.status_code == 201 and response.json()["status"] == "issued", response.text
    uin = response.json()["uin"]
    with client.app.state.services.sessions() as db:
        child_id = db.scalars(select(Identity.id).where(Identity.uin == uin)).one()
    return Family(people, Citizen(uin, child_id))


seed, settings, keys, family = seeded_fixtures(enrol_family, "family")


def pages_of(child: Citizen) -> tuple[str, ...]:
    base = f"/account/children/{child.identity_id}"
    return (f"{base}/history", f"{base}/my-data.json", f"{base}/my-data.pdf")


def audited(services, action: str) -> list[AuditEvent]:
    with services.sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_guardian_s_account_lists_the_child_and_acts_for_them(client, services, family):
    login_with_face(client, "/login", family.people.obama.uin)
    account = client.get("/account")
    assert account.status_code == 200 and "Your children" in account.text and "Mike Collins" in account.text
    assert "•••• " + family.child.uin[-4:] in account.text and family.child.uin not in account.text
    history, data, pdf = pages_of(family.child)
    assert f'href="{history}"' in account.text and f'href="{data}"' in account.text

    page = client.get(history)
    assert page.status_code == 200 and "Authentication history of Mike Collins" in page.text
    assert "/account/history.csv" not in page.text  # the guardian's own export is not offered as the child's
    download = client.get(data)
    assert download.status_code == 200, download.text[:500]
    assert download.headers["content-disposition"] == f'attachment; filename="civid-my-data-{family.child.uin}.json"'
    body = download.json()
    assert body["identity"]["uin"] == family.child.uin
    assert body["enrolments"][0]["demographics"]["given_name"] == "Mike"
    assert "Barack" not in download.text and family.people.obama.uin not in download.text
    assert client.get(pdf).headers["content-type"] == "application/pdf"

    (viewed,) = audited(services, "guardian.child_history_viewed")
    downloads = audited(services, "guardian.child_data_downloaded")
    for event in (viewed, *downloads):
        assert event.actor_name == f"citizen:{family.people.obama.uin}" and event.actor_role == "citizen"
        assert event.subject_type == "identity" and event.subject_id == family.child.uin
    assert [event.detail["format"] for event in downloads] == ["json", "pdf"]
    assert "Sus hijos" in client.get("/account?lang=es").text


def test_another_person_s_child_is_not_found_and_their_account_lists_no_children(client, services, family):
    login_with_face(client, "/login", family.people.biden.uin, fresh_photo(BIDEN_PHOTO))
    assert "Your children" not in client.get("/account").text
    for path in pages_of(family.child):
        assert client.get(path).status_code == 404, path
    unknown = f"/account/children/{family.child.identity_id + 100}/history"
    assert client.get(unknown).status_code == 404
    assert audited(services, "guardian.child_history_viewed") == []


def test_a_child_who_came_of_age_leaves_the_list_and_the_guardian_is_refused_with_the_reason(client, services, family):
    of_age = date.today() - timedelta(days=18 * 366)
    with services.sessions.begin() as db:
        db.execute(
            update(Enrolment).where(Enrolment.identity_id == family.child.identity_id).values(date_of_birth=of_age)
        )
    login_with_face(client, "/login", family.people.obama.uin)
    account = client.get("/account")
    assert "Mike Collins" not in account.text and "Your children" not in account.text
    for path in pages_of(family.child):
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "reached the age of majority (18)" in refused.text
    spanish = client.get(pages_of(family.child)[0] + "?lang=es")
    assert spanish.status_code == 403 and "alcanzó la mayoría de edad (18)" in spanish.text
    assert audited(services, "guardian.child_history_viewed") == []
    assert audited(services, "guardian.child_data_downloaded") == []


def test_signed_out_the_child_s_pages_go_to_the_login_page(client, family):
    for path in pages_of(family.child):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login", path
