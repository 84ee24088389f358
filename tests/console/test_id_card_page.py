"""The "Print the ID card" action on an issued enrolment's page: the enrolling officer gets the card's PDF, issued
at the first press and the same card at the next; another officer's applicant is not theirs to print."""

from __future__ import annotations

import re

from sqlalchemy import select

from models import IdCard
from tests.conftest import seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS, enrol_staff
from tests.console.test_enrol import person_fields, submit
from tests.credentials.card_helpers import events
from tests.idp.frontchannel import form_value, location

seed, settings, keys, people = seeded_fixtures(enrol_staff, "people", **CONSOLE_SETTINGS)


def test_the_officer_prints_the_id_card_of_an_issued_enrolment(officer, services):
    outcome = location(submit(officer, person_fields()))
    page = officer.get(outcome)
    assert page.status_code == 200 and 'id="card-print"' in page.text and "Print the ID card" in page.text
    csrf = form_value(page.text, "csrf_token")
    first = officer.post(outcome + "/card", data={"csrf_token": csrf})
    assert first.status_code == 200, first.text[:500]
    assert first.headers["content-type"] == "application/pdf" and first.content.startswith(b"%PDF-")
    number = re.search(r'filename="id-card-(\w+)\.pdf"', first.headers["content-disposition"]).group(1)  # type: ignore[union-attr]
    again = officer.post(outcome + "/card", data={"csrf_token": csrf})
    assert again.status_code == 200 and number in again.headers["content-disposition"]  # the same card, printed again
    with services.sessions() as db:
        assert db.scalars(select(IdCard.number)).all() == [number]
    assert len(events(services, "card.issued")) == 1 and len(events(services, "card.printed")) == 2


def test_without_the_csrf_token_no_card_is_issued(officer, services):
    outcome = location(submit(officer, person_fields()))
    assert officer.post(outcome + "/card", data={}).status_code == 403
    with services.sessions() as db:
        assert db.scalars(select(IdCard)).all() == []


def test_the_button_is_spanish_on_a_spanish_page(officer):
    outcome = location(submit(officer, person_fields()))
    page = officer.get(outcome, headers={"Accept-Language": "es"})
    assert "Imprimir la tarjeta de identidad" in page.text
