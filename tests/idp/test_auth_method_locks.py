"""A resident's locks on their authentication methods: face and passkey login refused with the reason, a
temporary unlock that relocks by itself, an officer's verification refused with a method-locked problem, the
account page's forms (CSRF, the last login method), and every change and refusal audited."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from civid import auth_method_locks
from civid.actor import Actor
from models import AuditEvent, AuthMethodLock, Identity, LoginSession, utcnow
from server.services import Services
from tests.conftest import Keys, fixture_bytes, seeded_fixtures
from tests.idp.frontchannel import OBAMA_PHOTO, enrol_people, fresh_photo, login_with_face
from tests.idp.test_passkeys import bound, face_session, login

seed, settings, keys, people = seeded_fixtures(enrol_people, "people")
RESIDENT = Actor(None, "citizen:test", "citizen")


def identity(services: Services, uin: str) -> Identity:
    with services.sessions() as db:
        row = db.scalars(select(Identity).where(Identity.uin == uin)).one()
        db.expunge(row)
        return row


def set_lock(services: Services, uin: str, method: str, *, until: timedelta | None = None) -> None:
    with services.sessions.begin() as db:
        person = db.scalars(select(Identity).where(Identity.uin == uin)).one()
        if until is None:
            auth_method_locks.lock(db, person, method, RESIDENT)
        else:
            auth_method_locks.unlock_for(db, person, method, RESIDENT, until)


def events(services: Services, action: str) -> list[AuditEvent]:
    with services.sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def alert(page) -> str:  # type: ignore[no-untyped-def]
    match = re.search(r'role="alert"[^>]*>\s*<p>([^<]*)</p>', page.text)
    assert match, page.text[:2000]
    return match.group(1)


def account_csrf(browser: TestClient) -> str:
    page = browser.get("/account")
    assert page.status_code == 200, page.text[:500]
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)


# --- the core ------------------------------------------------------------------------------
def test_no_row_is_unlocked_a_lock_refuses_and_an_unlock_allows(services, people):
    person = identity(services, people.obama.uin)
    with services.sessions() as db:
        assert all(auth_method_locks.is_allowed(db, person.id, method) for method in auth_method_locks.METHODS)
    set_lock(services, people.obama.uin, "face")
    with services.sessions() as db:
        assert not auth_method_locks.is_allowed(db, person.id, "face")
        assert auth_method_locks.is_allowed(db, person.id, "passkey")
    with services.sessions.begin() as db:
        auth_method_locks.unlock(db, db.get(Identity, person.id), "face", RESIDENT)
    with services.sessions() as db:
        assert auth_method_locks.is_allowed(db, person.id, "face")
    assert [e.detail["method"] for e in events(services, "auth_method.locked")] == ["face"]
    assert [e.subject_id for e in events(services, "auth_method.unlocked")] == [people.obama.uin]


def test_a_temporary_unlock_works_until_its_end_then_the_method_is_locked_again(services, people):
    uin = people.obama.uin
    set_lock(services, uin, "face")
    set_lock(services, uin, "face", until=timedelta(minutes=10))
    person = identity(services, uin)
    with services.sessions() as db:
        assert auth_method_locks.is_allowed(db, person.id, "face")
        assert not auth_method_locks.is_allowed(db, person.id, "face", utcnow() + timedelta(minutes=11))
    with services.sessions.begin() as db:
        row = db.scalars(select(AuthMethodLock).where(AuthMethodLock.identity_id == person.id)).one()
        row.unlocked_until = utcnow() - timedelta(seconds=1)
    with services.sessions() as db:
        assert not auth_method_locks.is_allowed(db, person.id, "face")
        assert auth_method_locks.state(db, person.id, "face").unlocked_until is None
    assert len(events(services, "auth_method.unlocked_until")) == 1


# --- enforcement -----------------------------------------------------------------------------
def test_locked_face_login_is_refused_with_the_reason_after_the_face_matched(client, services, people):
    set_lock(services, people.obama.uin, "face")
    photo = fresh_photo(OBAMA_PHOTO)
    page = login_with_face(client, "/login", people.obama.uin, photo)
    assert page.status_code == 403
    assert "Face login is locked on your account" in alert(page)
    # The matched photo is spent: after an unlock, the same file is a replay.
    with services.sessions.begin() as db:
        person = db.scalars(select(Identity).where(Identity.uin == people.obama.uin)).one()
        auth_method_locks.unlock(db, person, "face", RESIDENT)
    assert login_with_face(client, "/login", people.obama.uin, photo).status_code == 403
    set_lock(services, people.obama.uin, "face")
    with services.sessions() as db:
        assert db.scalars(select(LoginSession)).first() is None
    (refused,) = events(services, "auth_method.refused")
    assert refused.detail["method"] == "face" and refused.subject_id == people.obama.uin
    # An unknown UIN still gets the ordinary answer: the lock says nothing to someone who is not the person.
    other = login_with_face(client, "/login", people.biden.uin, fresh_photo(OBAMA_PHOTO))
    assert other.status_code == 403 and "could not verify you" in alert(other)


def test_face_login_works_again_during_a_temporary_unlock(client, services, people):
    set_lock(services, people.obama.uin, "face")
    set_lock(services, people.obama.uin, "face", until=timedelta(hours=1))
    response = login_with_face(client, "/login", people.obama.uin, fresh_photo(OBAMA_PHOTO))
    assert response.status_code == 303, response.text[:1000]


def test_locked_passkey_login_is_a_method_locked_problem(client, keys: Keys, services, people):
    authenticator = bound(client, keys, people.obama.uin)
    set_lock(services, people.obama.uin, "passkey")
    response = login(client, authenticator)
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == "https://civid.dev/problems/method-locked" and body["method"] == "passkey"
    assert "Passkey login is locked" in body["message"] and people.obama.uin not in response.text
    assert events(services, "auth_method.refused")[0].detail["method"] == "passkey"
    with services.sessions.begin() as db:
        person = db.scalars(select(Identity).where(Identity.uin == people.obama.uin)).one()
        auth_method_locks.unlock(db, person, "passkey", RESIDENT)
    assert login(client, authenticator).status_code == 200


def test_officer_verification_of_a_locked_identity_is_refused_naming_the_method(client, keys: Keys, services, people):
    set_lock(services, people.obama.uin, "officer_verification")
    files = {"photo": ("p.jpg", fixture_bytes(OBAMA_PHOTO), "image/jpeg")}
    response = client.post("/v1/verify", headers=keys.officer, data={"uin": people.obama.uin}, files=files)
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/method-locked") and response.json()["method"] == "officer_verification"
    (refused,) = events(services, "auth_method.refused")
    assert refused.actor_role != "citizen" and refused.detail["method"] == "officer_verification"
    assert events(services, "biometric.verify") == []


# --- the account page ----------------------------------------------------------------------------
def test_account_page_locks_unlocks_and_unlocks_for_a_while(client, keys: Keys, services, people):
    bound(client, keys, people.obama.uin)  # a passkey: locking face leaves a way to sign in
    face_session(services, client, people.obama.uin)
    page = client.get("/account")
    assert "Formas de demostrar que es usted" in client.get("/account", headers={"Accept-Language": "es"}).text
    assert "Ways to prove it is you" in page.text and 'action="/account/methods/officer_verification"' in page.text
    token = account_csrf(client)
    done = client.post("/account/methods/face", data={"csrf_token": token, "action": "lock"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/account?done=method_locked"
    person = identity(services, people.obama.uin)
    with services.sessions() as db:
        assert not auth_method_locks.is_allowed(db, person.id, "face")
    page = client.get("/account?done=method_locked")
    assert "The method is locked." in page.text and "Unlock for 10 minutes" in page.text
    form = {"csrf_token": token, "action": "unlock_for", "duration_s": "600"}
    assert client.post("/account/methods/face", data=form, follow_redirects=False).status_code == 303
    with services.sessions() as db:
        assert auth_method_locks.state(db, person.id, "face").unlocked_until is not None
    assert "Unlocked until" in client.get("/account").text
    odd = client.post("/account/methods/face", data={**form, "duration_s": "86400"}, follow_redirects=False)
    assert odd.status_code == 422
    form = {"csrf_token": token, "action": "unlock"}
    assert client.post("/account/methods/face", data=form, follow_redirects=False).status_code == 303
    with services.sessions() as db:
        assert auth_method_locks.state(db, person.id, "face") == auth_method_locks.MethodState("face", False, None)
    assert events(services, "auth_method.locked")[0].actor_name == f"citizen:{people.obama.uin}"


def test_account_forms_need_the_csrf_token_and_a_login(client, services, people):
    face_session(services, client, people.obama.uin)
    token = account_csrf(client)
    refused = client.post("/account/methods/officer_verification", data={"action": "lock"}, follow_redirects=False)
    assert refused.status_code == 403
    assert events(services, "auth_method.locked") == []
    client.cookies.delete("civid_session")
    anonymous = client.post(
        "/account/methods/face", data={"csrf_token": token, "action": "lock"}, follow_redirects=False
    )
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"


def test_the_last_login_method_cannot_be_locked(client, services, people):
    face_session(services, client, people.obama.uin)  # no passkey: face login is their only way in
    token = account_csrf(client)
    refused = client.post("/account/methods/face", data={"csrf_token": token, "action": "lock"}, follow_redirects=False)
    assert refused.status_code == 409 and "You cannot lock your last way to sign in" in refused.text
    person = identity(services, people.obama.uin)
    with services.sessions() as db:
        assert auth_method_locks.is_allowed(db, person.id, "face")
    # Officer verification is not a login: it may always be locked.
    ok = client.post(
        "/account/methods/officer_verification", data={"csrf_token": token, "action": "lock"}, follow_redirects=False
    )
    assert ok.status_code == 303
