"""Staff sign in to the console through civid's own OpenID provider; sessions time out; roles are checked."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from models import AuditEvent, Client, ConsoleSession, utcnow
from server.services import build_services
from tests.conftest import enrol, seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS, ISSUER, console_sign_in, enrol_staff
from tests.idp.frontchannel import BIDEN_PHOTO, OBAMA_PHOTO, location

seed, settings, keys, people = seeded_fixtures(enrol_staff, "people", **CONSOLE_SETTINGS)


def test_pages_need_a_sign_in_and_come_back_after_it(client, people):
    first = client.get("/console?tab=1", follow_redirects=False)
    assert first.status_code == 303 and location(first) == "/console/login?next=%2Fconsole%3Ftab%3D1"
    done = console_sign_in(client, people.officer, OBAMA_PHOTO, next_path="%2Fconsole%3Ftab%3D1")
    assert done.status_code == 303 and location(done) == "/console?tab=1"
    home = client.get("/console")
    assert home.status_code == 200 and "Officer Obama" in home.text and "/console/enrol" in home.text
    assert "/console/cases" not in home.text  # an officer is not offered adjudication


def test_a_citizen_without_a_staff_account_is_refused_and_audited(client, services, keys):
    stranger = enrol(client, keys.officer, ["collins_nasa_portrait.png"], given_name="Eileen", family_name="Collins")
    assert stranger.status_code == 201, stranger.text
    from models import Identity
    from tests.idp.conftest import Citizen

    with services.sessions() as db:
        uin = stranger.json()["uin"]
        citizen = Citizen(uin, db.scalars(select(Identity.id).where(Identity.uin == uin)).one())
    refused = console_sign_in(client, citizen, "collins_nasa_portrait.png")
    assert refused.status_code == 403 and "no staff account" in refused.text
    with services.sessions() as db:
        assert db.scalars(select(AuditEvent).where(AuditEvent.action == "console.sign_in_refused")).first()


def test_idle_session_ends_and_sign_out_ends_both_sessions(client, services, people):
    console_sign_in(client, people.adjudicator, BIDEN_PHOTO)
    assert client.get("/console").status_code == 200
    with services.sessions.begin() as db:
        db.execute(
            update(ConsoleSession).values(
                last_seen_at=utcnow() - timedelta(seconds=services.settings.console_idle_timeout_s + 5)
            )
        )
    idle = client.get("/console", follow_redirects=False)
    assert idle.status_code == 303 and location(idle).startswith("/console/login")

    console_sign_in(client, people.adjudicator, BIDEN_PHOTO)
    page = client.get("/console")
    from tests.idp.frontchannel import form_value

    assert client.post("/console/logout", data={"csrf_token": "wrong"}).status_code == 403
    out = client.post(
        "/console/logout", data={"csrf_token": form_value(page.text, "csrf_token")}, follow_redirects=False
    )
    assert out.status_code == 303 and location(out) == "/console/signed-out"
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_signing_out_of_a_timed_out_session_still_ends_the_providers_session(client, services, people):
    """The desk was left idle; the officer comes back and presses Sign out on the page still shown."""
    from models import LoginSession
    from tests.idp.frontchannel import form_value

    console_sign_in(client, people.officer, OBAMA_PHOTO)
    csrf = form_value(client.get("/console").text, "csrf_token")
    with services.sessions.begin() as db:
        db.execute(
            update(ConsoleSession).values(
                last_seen_at=utcnow() - timedelta(seconds=services.settings.console_idle_timeout_s + 5)
            )
        )
    out = client.post("/console/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and location(out) == "/console/signed-out"
    with services.sessions() as db:
        assert db.scalars(select(LoginSession).where(LoginSession.ended_at.is_(None))).all() == []
        assert db.scalars(select(ConsoleSession).where(ConsoleSession.ended_at.is_(None))).all() == []


def test_the_console_sign_in_leaves_no_single_sign_on_session_behind(client, services, people):
    """The console's idle timeout is the desk's only sign-in: whoever sits at an unattended desk must not find
    the officer still signed in at civid itself (their own account page, or any portal without prompt=login)."""
    from models import LoginSession

    console_sign_in(client, people.officer, OBAMA_PHOTO)
    assert client.get("/console").status_code == 200
    account = client.get("/account", follow_redirects=False)
    assert account.status_code == 303 and "Officer" not in account.text
    with services.sessions() as db:
        assert db.scalars(select(LoginSession).where(LoginSession.ended_at.is_(None))).all() == []


def test_a_forged_or_stale_callback_is_refused(client, people):
    assert client.get("/console/callback?state=x&code=y&iss=" + ISSUER).status_code == 422
    client.get("/console/login", follow_redirects=False)  # a login started here, then a foreign answer
    assert client.get("/console/callback?state=other&code=y&iss=" + ISSUER).status_code == 422


def test_with_passkeys_required_face_sign_in_is_not_offered(settings, people):
    from fastapi.testclient import TestClient

    from server.app import create_app

    strict = settings.model_copy(update={"console_require_passkey": True})
    services = build_services(strict)
    try:
        with TestClient(create_app(services=services)) as client:
            response = client.get(
                location(client.get("/console/login", follow_redirects=False)), follow_redirects=False
            )
            login_page = client.get(location(response))
            assert login_page.status_code == 200
            assert 'id="face-form"' not in login_page.text and "passkey" in login_page.text.lower()
    finally:
        services.close()


def test_the_console_is_first_party_and_never_asks_staff_for_consent(client, services, people):
    """Item 21: staff are not asked to share their UIN with civid's own console (and cannot lock themselves out)."""
    from tests.idp.frontchannel import sign_in

    start = client.get("/console/login", follow_redirects=False)
    at_login = location(client.get(location(start), follow_redirects=False))
    after_login = location(
        client.get(location(sign_in(client, at_login, people.officer, OBAMA_PHOTO)), follow_redirects=False)
    )
    assert after_login.startswith(ISSUER + "/console/callback?"), after_login  # straight back: no /consent/ page
    done = client.get(after_login.removeprefix(ISSUER), follow_redirects=False)
    assert done.status_code == 303 and location(done) == "/console"
    with services.sessions() as db:
        # The release is still recorded (a consent the citizen can see and withdraw on /account), for a client
        # marked first-party in its registration, not recognised by its id.
        [granted] = db.scalars(select(AuditEvent).where(AuditEvent.action == "consent.granted")).all()
        console = db.scalars(select(Client).where(Client.client_id == granted.client_id)).one()
        assert console.first_party and console.registered_by == "civid:console"
