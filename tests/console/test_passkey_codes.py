"""An officer gives the person at the desk a one-time passkey binding code from the console (found by UIN,
shown once, audited), and the same from the command line for the first admin."""

from __future__ import annotations

import re

from sqlalchemy import select
from typer.testing import CliRunner

from civid.settings import get_settings
from enrollment.uin import verhoeff_check_digit
from models import AuditEvent, PasskeyBinding
from tests.conftest import seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS, console_sign_in, enrol_staff
from tests.idp.frontchannel import BIDEN_PHOTO, OBAMA_PHOTO, form_value

seed, settings, keys, people = seeded_fixtures(enrol_staff, "people", **CONSOLE_SETTINGS)
CODE = re.compile(r'<output id="binding-code">([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})</output>')


def _post(client, page, **form):  # type: ignore[no-untyped-def]
    return client.post("/console/passkey-code", data={"csrf_token": form_value(page.text, "csrf_token"), **form},
                       follow_redirects=False)


def test_an_officer_finds_the_person_by_uin_and_issues_a_code_shown_once(client, services, people):
    console_sign_in(client, people.officer, OBAMA_PHOTO)
    home = client.get("/console")
    assert 'href="/console/passkey-code"' in home.text
    page = client.get("/console/passkey-code")
    assert page.status_code == 200 and 'name="uin"' in page.text
    found = _post(client, page, uin=people.adjudicator.uin, action="find")
    assert found.status_code == 200 and "Joseph Biden" in found.text and "binding-code" not in found.text
    issued = _post(client, found, uin=people.adjudicator.uin, action="issue")
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    code = CODE.search(issued.text).group(1)
    assert code not in client.get("/console/passkey-code").text  # shown once: in the answer to the POST only

    with services.sessions() as db:
        [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "passkey.binding_issued")).all()
        assert event.actor_name == "Officer Obama" and event.person == people.adjudicator.uin
        assert db.scalars(select(PasskeyBinding)).one().used_at is None
    # The person types it at /passkeys/bind: the code is valid there.
    bind = client.get("/passkeys/bind")
    ready = client.post("/passkeys/bind", data={"csrf_token": form_value(bind.text, "csrf_token"), "code": code,
                                                "label": "Phone"})
    assert ready.status_code == 200 and "Your code is valid" in ready.text


def test_a_mistyped_or_unknown_uin_is_explained_on_the_page(client, people):
    console_sign_in(client, people.officer, OBAMA_PHOTO)
    page = client.get("/console/passkey-code?lang=es")
    mistyped = _post(client, page, uin=people.adjudicator.uin[:-1] + str((int(people.adjudicator.uin[-1]) + 1) % 10))
    assert mistyped.status_code == 422 and "probablemente se escribió mal" in mistyped.text
    nobody = next(uin for uin in ("123456789" + verhoeff_check_digit("123456789"),
                                   "234567891" + verhoeff_check_digit("234567891"))
                  if uin not in (people.officer.uin, people.adjudicator.uin))
    unknown = _post(client, page, uin=nobody)
    assert unknown.status_code == 404 and f"No hay nadie inscrito con el NUI {nobody}" in unknown.text
    assert "binding-code" not in unknown.text


def test_only_officers_issue_codes(client, people):
    console_sign_in(client, people.adjudicator, BIDEN_PHOTO)
    refused = client.get("/console/passkey-code")
    assert refused.status_code == 403 and "This page is for registration officers" in refused.text


def test_the_cli_issues_a_code_for_the_first_admin(settings, services, people, monkeypatch):
    monkeypatch.setenv("CIVID_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        from civid.cli import app

        result = CliRunner().invoke(app, ["passkeys", "code", people.officer.uin])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    code = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code), result.output
    assert "Barack Obama" in result.output and "/passkeys/bind" in result.output
    with services.sessions() as db:
        [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "passkey.binding_issued")).all()
        assert event.actor_name == "cli" and event.person == people.officer.uin
