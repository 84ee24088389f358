"""The console's "find a person" page for a lost UIN: the officer's photo and the stated family name or birth
date find the person (and nobody the details disagree with), and the officer who found them may reprint their
receipt — which another desk's officer could not before the search; bad forms explained; officers only."""

from __future__ import annotations

import re

from sqlalchemy import select

from models import AuditEvent, Enrolment, Identity
from tests.conftest import fixture_bytes, seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS, console_sign_in, enrol_staff
from tests.idp.frontchannel import BIDEN_PHOTO, OBAMA_PHOTO

seed, settings, keys, people = seeded_fixtures(enrol_staff, "people", **CONSOLE_SETTINGS)


def search(client, photo: str | None = BIDEN_PHOTO, **form):  # type: ignore[no-untyped-def]
    headers = form.pop("headers", None)
    page = client.get("/console/find", headers=headers)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    files = {"photo": ("p.jpg", fixture_bytes(photo), "image/jpeg")} if photo else None
    return client.post("/console/find", data={"csrf_token": token, **form}, files=files, headers=headers)


def receipt_of(services, uin: str) -> str:
    with services.sessions() as db:
        identity = db.scalars(select(Identity).where(Identity.uin == uin)).one()
        public_id = db.scalars(select(Enrolment.public_id).where(Enrolment.identity_id == identity.id)).one()
    return f"/console/enrolments/{public_id}/receipt"


def test_an_officer_finds_a_person_from_another_desk_and_reprints_their_receipt(client, services, people):
    console_sign_in(client, people.officer, OBAMA_PHOTO)
    receipt = receipt_of(services, people.adjudicator.uin)
    assert client.get(receipt).status_code == 404  # enrolled at another desk: not this officer's to see

    found = search(client, family_name="BIDEN")
    assert found.status_code == 200
    assert people.adjudicator.uin in found.text and f'href="{receipt}"' in found.text
    assert people.officer.uin not in found.text
    printed = client.get(receipt)
    assert printed.status_code == 200 and people.adjudicator.uin in printed.text
    with services.sessions() as db:
        actions = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions[-2:] == ["identity.found_at_desk", "enrolment.receipt_printed"]


def test_details_that_disagree_find_nobody_and_a_bad_form_is_explained(client, services, people):
    console_sign_in(client, people.officer, OBAMA_PHOTO)
    none = search(client, family_name="Biden", date_of_birth="1942-11-20")
    assert 'id="found-none"' in none.text and people.adjudicator.uin not in none.text
    assert client.get(receipt_of(services, people.adjudicator.uin)).status_code == 404
    missing = search(client)
    assert missing.status_code == 422 and "family name or the date of birth the person states" in missing.text
    bad_date = search(client, family_name="Biden", date_of_birth="20/11/1942")
    assert bad_date.status_code == 422 and "not a date" in bad_date.text
    spanish = search(client, family_name="Biden", headers={"Accept-Language": "es"})
    assert "Personas encontradas" in spanish.text and "Reimprimir el comprobante" in spanish.text


def test_only_officers_open_the_page(client, people):
    console_sign_in(client, people.adjudicator, BIDEN_PHOTO)
    assert client.get("/console/find").status_code == 403
