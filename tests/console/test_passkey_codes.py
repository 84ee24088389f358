"""An officer gives the person at the desk a one-time passkey binding code from the console (found by UIN,
shown once, audited), and the same from the command line for the first admin. A code for a staff member's
identity is an admin's to give (else an officer could bind their own authenticator to an adjudicator's or an
admin's identity and sign in to the console as them), nobody issues one for themselves, and a new code
voids the person's earlier unused ones."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from civid.audit import SYSTEM
from civid.settings import get_settings
from civid.uin import verhoeff_check_digit
from console.staff import accounts as staff_accounts
from enrollment.uin import verhoeff_check_digit
from models import AuditEvent, Identity, Passkey, PasskeyBinding
from tests.conftest import Keys, seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS, ISSUER, Staffed, console_sign_in, enrol_staff
from tests.idp.conftest import Citizen, enrol_citizen
from tests.idp.frontchannel import BIDEN_PHOTO, OBAMA_PHOTO, form_value
from tests.idp.soft_authenticator import SoftAuthenticator
from tests.idp.test_passkeys import register


@dataclass(frozen=True)
class Desk:
    """The two staff members (Obama an officer, Biden an adjudicator and auditor) and a citizen with no staff
    account (Collins)."""

    officer: Citizen
    adjudicator: Citizen
    citizen: Citizen


def enrol_desk(client: TestClient, keys: Keys) -> Desk:
    staffed: Staffed = enrol_staff(client, keys)
    citizen = enrol_citizen(client, keys, "collins_nasa_portrait.png", given_name="Eileen", family_name="Collins")
    return Desk(staffed.officer, staffed.adjudicator, citizen)


seed, settings, keys, people = seeded_fixtures(enrol_desk, "people", **CONSOLE_SETTINGS)
CODE = re.compile(r'<output id="binding-code">([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})</output>')


def _post(client, page, **form):  # type: ignore[no-untyped-def]
    return client.post(
        "/console/passkey-code",
        data={"csrf_token": form_value(page.text, "csrf_token"), **form},
        follow_redirects=False,
    )


def test_an_officer_finds_the_person_by_uin_and_issues_a_code_shown_once(client, services, people):
    console_sign_in(client, people.officer, OBAMA_PHOTO)
    home = client.get("/console")
    assert 'href="/console/passkey-code"' in home.text
    page = client.get("/console/passkey-code")
    assert page.status_code == 200 and 'name="uin"' in page.text
    found = _post(client, page, uin=people.citizen.uin, action="find")
    assert found.status_code == 200 and "Eileen Collins" in found.text and "binding-code" not in found.text
    issued = _post(client, found, uin=people.citizen.uin, action="issue")
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    code = CODE.search(issued.text).group(1)
    assert code not in client.get("/console/passkey-code").text  # shown once: in the answer to the POST only

    with services.sessions() as db:
        [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "passkey.binding_issued")).all()
        assert event.actor_name == "Officer Obama" and event.person == people.citizen.uin
        assert db.scalars(select(PasskeyBinding)).one().used_at is None
    # The person types it at /passkeys/bind: the code is valid there.
    bind = client.get("/passkeys/bind")
    ready = client.post(
        "/passkeys/bind", data={"csrf_token": form_value(bind.text, "csrf_token"), "code": code, "label": "Phone"}
    )
    assert ready.status_code == 200 and "Your code is valid" in ready.text


def test_an_officer_cannot_bind_a_passkey_to_a_more_privileged_staff_identity(client, services, people):
    # The security review's scenario (H1): Obama, an officer only, issues a code for Biden (adjudicator and
    # auditor) and types it on his own device; with the code he would sign in to the console as Biden.
    console_sign_in(client, people.officer, OBAMA_PHOTO)
    page = client.get("/console/passkey-code")
    issued = _post(client, page, uin=people.adjudicator.uin, action="issue")
    match = CODE.search(issued.text)
    if match is not None:  # before the fix: the code is issued, and the officer binds their own authenticator
        verify = register(client, SoftAuthenticator(ISSUER), code=match.group(1))
        with services.sessions() as db:
            biden = db.scalars(select(Identity).where(Identity.uin == people.adjudicator.uin)).one()
            bound = db.scalars(select(Passkey).where(Passkey.identity_id == biden.id)).all()
        assert not bound, f"officer bound a passkey to the adjudicator's identity ({verify.status_code})"
    assert issued.status_code == 403
    assert "staff account" in issued.text and "administrator" in issued.text
    with services.sessions() as db:
        assert db.scalars(select(PasskeyBinding)).all() == []
        [refused] = db.scalars(select(AuditEvent).where(AuditEvent.action == "passkey.binding_refused")).all()
        assert refused.actor_name == "Officer Obama" and refused.person == people.adjudicator.uin
        assert refused.detail["reason"] == "staff_needs_admin"


def test_the_refusal_is_explained_in_spanish_and_already_at_the_lookup(client, people):
    console_sign_in(client, people.officer, OBAMA_PHOTO)
    page = client.get("/console/passkey-code?lang=es")
    found = _post(client, page, uin=people.adjudicator.uin, action="find")
    assert found.status_code == 403 and "binding-code" not in found.text
    assert "cuenta de personal" in found.text and "administrador" in found.text


def test_nobody_issues_a_code_for_their_own_uin(client, services, people):
    with services.sessions.begin() as db:  # even an admin: a second passkey for oneself goes through another admin
        account = staff_accounts.active_by_uin(db, people.officer.uin)
        staff_accounts.set_roles(db, account.id, ["officer", "admin"], SYSTEM)
    console_sign_in(client, people.officer, OBAMA_PHOTO)
    page = client.get("/console/passkey-code")
    own = _post(client, page, uin=people.officer.uin, action="issue")
    assert own.status_code == 403 and "your own UIN" in own.text and CODE.search(own.text) is None
    with services.sessions() as db:
        assert db.scalars(select(PasskeyBinding)).all() == []
        [refused] = db.scalars(select(AuditEvent).where(AuditEvent.action == "passkey.binding_refused")).all()
        assert refused.detail["reason"] == "own_uin" and refused.person == people.officer.uin


def test_an_admin_issues_a_code_for_a_staff_member_and_it_binds(client, services, people):
    with services.sessions.begin() as db:
        account = staff_accounts.active_by_uin(db, people.officer.uin)
        staff_accounts.set_roles(db, account.id, ["admin"], SYSTEM)  # an admin only, not an officer
    console_sign_in(client, people.officer, OBAMA_PHOTO)
    assert 'href="/console/passkey-code"' in client.get("/console").text
    page = client.get("/console/passkey-code")
    assert page.status_code == 200
    issued = _post(client, page, uin=people.adjudicator.uin, action="issue")
    assert issued.status_code == 200, issued.text
    code = CODE.search(issued.text).group(1)
    verify = register(client, SoftAuthenticator(ISSUER), code=code)
    assert verify.status_code == 201, verify.text
    # A citizen's code is still the desk officer's work (the admin role does not check people at the desk).
    citizen = _post(client, page, uin=people.citizen.uin, action="issue")
    assert citizen.status_code == 403 and CODE.search(citizen.text) is None


def test_a_new_code_voids_the_persons_earlier_unused_code(client, services, people):
    console_sign_in(client, people.officer, OBAMA_PHOTO)
    page = client.get("/console/passkey-code")
    first = CODE.search(_post(client, page, uin=people.citizen.uin, action="issue").text).group(1)
    second = CODE.search(_post(client, page, uin=people.citizen.uin, action="issue").text).group(1)
    bind = client.get("/passkeys/bind")
    token = form_value(bind.text, "csrf_token")
    dead = client.post("/passkeys/bind", data={"csrf_token": token, "code": first, "label": "Phone"})
    assert dead.status_code == 400 and "Your code is valid" not in dead.text
    live = client.post("/passkeys/bind", data={"csrf_token": token, "code": second, "label": "Phone"})
    assert live.status_code == 200 and "Your code is valid" in live.text
    with services.sessions() as db:
        second_issue = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "passkey.binding_issued").order_by(AuditEvent.id)
        ).all()[-1]
        [earlier] = db.scalars(select(PasskeyBinding).order_by(PasskeyBinding.id)).all()[:1]
        assert second_issue.detail["voided"] == [earlier.id]


def test_a_mistyped_or_unknown_uin_is_explained_on_the_page(client, people):
    console_sign_in(client, people.officer, OBAMA_PHOTO)
    page = client.get("/console/passkey-code?lang=es")
    mistyped = _post(client, page, uin=people.adjudicator.uin[:-1] + str((int(people.adjudicator.uin[-1]) + 1) % 10))
    assert mistyped.status_code == 422 and "probablemente se escribió mal" in mistyped.text
    nobody = next(
        uin
        for uin in (
            "123456789" + verhoeff_check_digit("123456789"),
            "234567891" + verhoeff_check_digit("234567891"),
            "345678912" + verhoeff_check_digit("345678912"),
        )
        if uin not in (people.officer.uin, people.adjudicator.uin, people.citizen.uin)
    )
    unknown = _post(client, page, uin=nobody)
    assert unknown.status_code == 404 and f"No hay nadie inscrito con el NUI {nobody}" in unknown.text
    assert "binding-code" not in unknown.text


def test_only_officers_and_admins_open_the_page(client, people):
    console_sign_in(client, people.adjudicator, BIDEN_PHOTO)
    refused = client.get("/console/passkey-code")
    assert refused.status_code == 403 and "This page is for registration officers or administrators" in refused.text


def test_the_cli_issues_a_code_for_the_first_admin(settings, services, people, monkeypatch):
    monkeypatch.setenv("CIVID_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        from server.cli import app

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
