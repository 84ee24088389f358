"""Passkeys over HTTP: the officer's binding code, the registration and login ceremonies checked by the real
fido2 server against a software authenticator with real keys, clone detection, revocation, online binding
after a face login, CSRF and lockout."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from idp.acr import ACR_PASSKEY
from idp.server_secrets import sha256_hex
from models import (
    AuditEvent,
    AuthorizationRequest,
    Identity,
    LoginAttempt,
    LoginSession,
    Passkey,
    PasskeyBinding,
    utcnow,
)
from server.services import Services
from tests.conftest import Keys, enrol, seeded_fixtures
from tests.idp.soft_authenticator import SoftAuthenticator

ORIGIN = "http://localhost:8000"  # the default issuer's origin (Settings.resolved_issuer): a name, never an IP


def enrol_person(client: TestClient, keys: Keys) -> dict[str, Any]:
    response = enrol(client, keys.officer, ["obama_2012_portrait.jpg"], given_name="Barack", family_name="Obama")
    assert response.status_code == 201, response.text
    return {"uin": response.json()["uin"]}


seed, settings, keys, person = seeded_fixtures(enrol_person, "person")


# --- helpers ---------------------------------------------------------------------------------
def csrf(browser: TestClient) -> str:
    """Open a page (setting the browser cookie) and read the CSRF token from its meta tag."""
    page = browser.get("/passkeys/bind")
    assert page.status_code == 200, page.text
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)


def issue_code(client: TestClient, keys: Keys, uin: str) -> str:
    response = client.post(f"/v1/identities/{uin}/passkey-bindings", headers=keys.officer)
    assert response.status_code == 201, response.text
    body = response.json()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", body["code"]) and body["bind_url"].endswith(
        "/passkeys/bind"
    )
    return body["code"]


def register(
    browser: TestClient,
    authenticator: SoftAuthenticator,
    *,
    code: str | None,
    label: str = "My phone",
    token: str | None = None,
    **create: Any,
):
    """Run the registration ceremony; return the verify response."""
    token = token or csrf(browser)
    options = browser.post(
        "/passkeys/register/options", json={"code": code, "label": label}, headers={"X-CSRF-Token": token}
    )
    if options.status_code != 200:
        return options
    credential = authenticator.create(options.json(), **create)
    return browser.post("/passkeys/register/verify", json=credential, headers={"X-CSRF-Token": token})


def login_options(browser: TestClient, token: str, interaction: str | None = None) -> dict[str, Any]:
    response = browser.post(
        "/login/passkey/options", json={"interaction": interaction}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 200, response.text
    return response.json()


def login(browser: TestClient, authenticator: SoftAuthenticator, interaction: str | None = None, **get: Any):
    token = csrf(browser)
    assertion = authenticator.get(login_options(browser, token, interaction), **get)
    return browser.post("/login/passkey/verify", json=assertion, headers={"X-CSRF-Token": token})


def bound(client: TestClient, keys: Keys, uin: str, label: str = "My phone") -> SoftAuthenticator:
    """A software authenticator holding a passkey bound at the desk."""
    authenticator = SoftAuthenticator(ORIGIN)
    response = register(client, authenticator, code=issue_code(client, keys, uin), label=label)
    assert response.status_code == 201, response.text
    return authenticator


def passkeys_of(services: Services, uin: str) -> list[Passkey]:
    with services.sessions() as db:
        identity = db.scalars(select(Identity).where(Identity.uin == uin)).one()
        return list(db.scalars(select(Passkey).where(Passkey.identity_id == identity.id).order_by(Passkey.id)))


def events(services: Services, action: str) -> list[AuditEvent]:
    with services.sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def face_session(
    services: Services, browser: TestClient, uin: str, age_s: int = 0, amr: list[str] | None = None
) -> None:
    """Give ``browser`` a login session as a face login ``age_s`` seconds ago would have (cookie included)."""
    token = secrets.token_urlsafe(32)
    when = utcnow() - timedelta(seconds=age_s)
    with services.sessions.begin() as db:
        identity = db.scalars(select(Identity).where(Identity.uin == uin)).one()
        db.add(
            LoginSession(
                sid=secrets.token_urlsafe(16),
                token_hash=sha256_hex(token),
                identity_id=identity.id,
                auth_time=when,
                acr="urn:civid:acr:face",
                amr=amr or ["face"],
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
    browser.cookies.set("civid_session", token)


def message(response) -> str:  # type: ignore[no-untyped-def]
    return response.json().get("message", "")


# --- desk binding --------------------------------------------------------------------------
def test_desk_code_binds_one_passkey_and_is_single_use(client: TestClient, keys: Keys, person, services: Services):
    code = issue_code(client, keys, person["uin"])
    first = register(client, SoftAuthenticator(ORIGIN), code=code, label="Kitchen tablet")
    assert first.status_code == 201, first.text
    assert first.json()["passkey"]["bound_via"] == "desk"
    again = register(client, SoftAuthenticator(ORIGIN), code=code)
    assert again.status_code == 400 and "already been used" in message(again)
    [row] = passkeys_of(services, person["uin"])
    assert (row.label, row.bound_via, row.bound_by, row.sign_count) == ("Kitchen tablet", "desk", "test officer", 0)
    assert [e.detail["bound_via"] for e in events(services, "passkey.bound")] == ["desk"]
    assert len(events(services, "passkey.binding_issued")) == 1


def test_unknown_and_expired_codes_are_refused_with_a_reason(
    client: TestClient, keys: Keys, person, services: Services
):
    unknown = register(client, SoftAuthenticator(ORIGIN), code="ABCD-EFGH-JKMN")
    assert unknown.status_code == 400 and "not known" in message(unknown)
    code = issue_code(client, keys, person["uin"])
    with services.sessions.begin() as db:
        for row in db.scalars(select(PasskeyBinding)):
            row.expires_at = utcnow() - timedelta(seconds=1)
    expired = register(client, SoftAuthenticator(ORIGIN), code=code)
    assert expired.status_code == 400 and "expired" in message(expired)
    assert passkeys_of(services, person["uin"]) == []


def test_code_expiring_between_options_and_verify_is_refused(
    client: TestClient, keys: Keys, person, services: Services
):
    code, token = issue_code(client, keys, person["uin"]), csrf(client)
    options = client.post("/passkeys/register/options", json={"code": code}, headers={"X-CSRF-Token": token})
    with services.sessions.begin() as db:
        db.scalars(select(PasskeyBinding)).one().expires_at = utcnow() - timedelta(seconds=1)
    verify = client.post(
        "/passkeys/register/verify",
        json=SoftAuthenticator(ORIGIN).create(options.json()),
        headers={"X-CSRF-Token": token},
    )
    assert verify.status_code == 400 and passkeys_of(services, person["uin"]) == []


def test_binding_code_needs_an_officer_key(client: TestClient, keys: Keys, person):
    assert client.post(f"/v1/identities/{person['uin']}/passkey-bindings").status_code == 401
    assert client.post(f"/v1/identities/{person['uin']}/passkey-bindings", headers=keys.auditor).status_code == 403


def make_staff(services: Services, uin: str, roles: list[str]) -> None:
    from civid.audit import SYSTEM
    from console.staff import accounts as staff_accounts

    with services.sessions.begin() as db:
        staff_accounts.add(db, uin, "Staff Obama", roles, SYSTEM)


def test_an_officer_key_cannot_issue_a_code_for_a_staff_members_identity(
    client: TestClient, keys: Keys, person, services: Services
):
    # Security review H1: whoever types the code binds a passkey to the identity, and a staff member's passkey
    # signs in to the console with their roles: an officer's key must not hand out an adjudicator's access.
    make_staff(services, person["uin"], ["adjudicator"])
    refused = client.post(f"/v1/identities/{person['uin']}/passkey-bindings", headers=keys.officer)
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"].endswith("/forbidden") and "staff account" in problem["detail"]
    assert "admin" in problem["detail"]
    with services.sessions() as db:
        assert db.scalars(select(PasskeyBinding)).all() == []
    [event] = events(services, "passkey.binding_refused")
    assert (event.actor_name, event.person, event.detail["reason"]) == (
        "test officer",
        person["uin"],
        "staff_needs_admin",
    )
    assert events(services, "passkey.binding_issued") == []


def test_an_admin_key_issues_a_staff_members_code_but_not_a_citizens(
    client: TestClient, keys: Keys, person, services: Services
):
    citizen = client.post(f"/v1/identities/{person['uin']}/passkey-bindings", headers=keys.admin)
    assert citizen.status_code == 403 and "officer" in citizen.json()["detail"]  # the desk check is an officer's
    make_staff(services, person["uin"], ["officer", "admin"])
    issued = client.post(f"/v1/identities/{person['uin']}/passkey-bindings", headers=keys.admin)
    assert issued.status_code == 201, issued.text
    assert register(client, SoftAuthenticator(ORIGIN), code=issued.json()["code"]).status_code == 201
    [event] = events(services, "passkey.binding_issued")
    assert event.actor_role == "admin" and event.person == person["uin"]


def test_a_new_code_voids_the_earlier_unused_one(client: TestClient, keys: Keys, person, services: Services):
    first = issue_code(client, keys, person["uin"])
    second = issue_code(client, keys, person["uin"])
    dead = register(client, SoftAuthenticator(ORIGIN), code=first)
    assert dead.status_code == 400 and "expired" in message(dead)
    assert register(client, SoftAuthenticator(ORIGIN), code=second).status_code == 201
    assert len(passkeys_of(services, person["uin"])) == 1
    earlier, _ = [e for e in events(services, "passkey.binding_issued")]
    assert earlier.detail["voided"] == [] and events(services, "passkey.binding_issued")[1].detail["voided"] == [
        earlier.detail["binding"]
    ]


def test_a_code_issued_to_a_citizen_dies_when_they_are_made_staff(
    client: TestClient, keys: Keys, person, services: Services
):
    from civid.audit import SYSTEM
    from console.staff import accounts as staff

    code = issue_code(client, keys, person["uin"])  # an officer may: the person is a citizen now
    with services.sessions.begin() as db:
        staff.add(db, person["uin"], "María José Ñúñez", ["admin"], SYSTEM)
    dead = register(client, SoftAuthenticator(ORIGIN), code=code)
    assert dead.status_code == 400 and "expired" in message(dead)
    assert passkeys_of(services, person["uin"]) == []
    [added] = events(services, "staff.added")
    assert added.detail["voided_binding_codes"] == 1


def test_bind_page_checks_the_code_without_javascript(client: TestClient, keys: Keys, person):
    token = csrf(client)
    wrong = client.post("/passkeys/bind", data={"csrf_token": token, "code": "ZZZZ-ZZZZ-ZZZZ", "label": "x"})
    assert wrong.status_code == 400 and 'role="alert"' in wrong.text and "not known" in wrong.text
    code = issue_code(client, keys, person["uin"]).lower().replace("-", " ")  # as a person might type it
    right = client.post("/passkeys/bind", data={"csrf_token": token, "code": code, "label": "Phone"})
    assert right.status_code == 200 and 'data-passkey="register"' in right.text
    assert "/static/idp/webauthn.js" in right.text and "<script>" not in right.text
    assert "script-src 'self'" in right.headers["content-security-policy"]
    spanish = client.get("/passkeys/bind?lang=es")
    assert "Agregar una llave de acceso" in spanish.text and 'lang="es"' in spanish.text


# --- login ------------------------------------------------------------------------------------
def test_registered_passkey_logs_in_at_the_passkey_level(client: TestClient, keys: Keys, person, services: Services):
    authenticator = bound(client, keys, person["uin"])
    response = login(client, authenticator)
    assert response.status_code == 200, response.text
    assert response.json() == {"redirect": "/account"}
    with services.sessions() as db:
        session = db.scalars(select(LoginSession)).one()
        assert (session.acr, session.amr) == (ACR_PASSKEY, ["hwk", "user"])
        attempt = db.scalars(select(LoginAttempt)).one()
        assert (attempt.method, attempt.success) == ("passkey", True)
    [row] = passkeys_of(services, person["uin"])
    assert row.sign_count == 1 and row.last_used_at is not None
    account = client.get("/account")
    assert account.status_code == 200 and "My phone" in account.text


def test_login_inside_an_authorization_request_returns_to_it(
    client: TestClient, keys: Keys, person, services: Services
):
    authenticator = bound(client, keys, person["uin"])
    with services.sessions.begin() as db:
        db.add(
            AuthorizationRequest(
                uid="interaction-1", client_id="portal", params={}, expires_at=utcnow() + timedelta(minutes=5)
            )
        )
    response = login(client, authenticator, interaction="interaction-1")
    assert response.status_code == 200 and response.json() == {"redirect": "/authorize/resume/interaction-1"}
    with services.sessions() as db:
        request_row = db.scalars(select(AuthorizationRequest)).one()
        assert request_row.login_session_id == db.scalars(select(LoginSession.id)).one()
    stale = client.post(
        "/login/passkey/options", json={"interaction": "no-such"}, headers={"X-CSRF-Token": csrf(client)}
    )
    assert stale.status_code == 400 and "expired" in message(stale)


def test_missing_user_verification_is_refused(client: TestClient, keys: Keys, person, services: Services):
    no_uv = register(
        client, SoftAuthenticator(ORIGIN), code=issue_code(client, keys, person["uin"]), user_verified=False
    )
    assert no_uv.status_code == 400
    authenticator = bound(client, keys, person["uin"])
    assert login(client, authenticator, user_verified=False).status_code == 400
    assert len(passkeys_of(services, person["uin"])) == 1


@pytest.mark.parametrize(
    "where", [{"origin": "https://evil.example"}, {"origin": "http://127.0.0.1:8001"}, {"rp_id": "evil.example"}]
)
def test_wrong_origin_or_rp_id_is_refused(client: TestClient, keys: Keys, person, services: Services, where):
    code = issue_code(client, keys, person["uin"])
    assert register(client, SoftAuthenticator(ORIGIN), code=code, **where).status_code == 400
    authenticator = bound(client, keys, person["uin"])  # the same code was not spent by the failed try
    assert login(client, authenticator, **where).status_code == 400
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_a_ceremony_from_another_address_says_where_passkeys_work(client: TestClient, keys: Keys, person):
    code = issue_code(client, keys, person["uin"])
    elsewhere = register(client, SoftAuthenticator(ORIGIN), code=code, origin="http://127.0.0.1:8000")
    assert elsewhere.status_code == 400 and "only at http://localhost:8000" in message(elsewhere)
    authenticator = bound(client, keys, person["uin"])
    client.headers["Accept-Language"] = "es"
    refused = login(client, authenticator, origin="http://127.0.0.1:8000")
    assert refused.status_code == 400 and "solo en http://localhost:8000" in message(refused)


def test_cross_origin_frame_and_forged_signature_are_refused(client: TestClient, keys: Keys, person):
    authenticator = bound(client, keys, person["uin"])
    assert login(client, authenticator, cross_origin=True).status_code == 400
    assert login(client, authenticator, tamper_signature=True).status_code == 400
    assert login(client, authenticator).status_code == 200


def test_replayed_assertion_is_refused(client: TestClient, keys: Keys, person):
    authenticator = bound(client, keys, person["uin"])
    token = csrf(client)
    assertion = authenticator.get(login_options(client, token))
    assert client.post("/login/passkey/verify", json=assertion, headers={"X-CSRF-Token": token}).status_code == 200
    replay = client.post("/login/passkey/verify", json=assertion, headers={"X-CSRF-Token": token})
    assert replay.status_code == 400 and "already used" in replay.json()["detail"]
    login_options(client, token)  # a fresh challenge does not make the old answer valid
    assert client.post("/login/passkey/verify", json=assertion, headers={"X-CSRF-Token": token}).status_code == 400


def test_ceremony_started_in_another_browser_is_refused(client: TestClient, keys: Keys, person):
    authenticator = bound(client, keys, person["uin"])
    options = login_options(client, csrf(client))
    other = TestClient(client.app)
    response = other.post(
        "/login/passkey/verify", json=authenticator.get(options), headers={"X-CSRF-Token": csrf(other)}
    )
    assert response.status_code == 400


def test_sign_count_regression_revokes_the_passkey_as_cloned(
    client: TestClient, keys: Keys, person, services: Services
):
    authenticator = bound(client, keys, person["uin"])
    assert login(client, authenticator, sign_count=7).status_code == 200
    clone = login(client, authenticator, sign_count=7)
    assert clone.status_code == 400 and "copied" in message(clone)
    [row] = passkeys_of(services, person["uin"])
    assert row.revoked_at is not None and row.revoked_reason == "clone_suspected"
    assert len(events(services, "passkey.clone_suspected")) == 1
    again = login(client, authenticator, sign_count=100)  # even the genuine one, now: and it is told why
    assert again.status_code == 400 and "blocked because it may have been copied" in message(again)
    account = TestClient(client.app)
    face_session(services, account, person["uin"])
    assert "may have been copied" in account.get("/account").text


def test_authenticator_without_a_counter_is_accepted(client: TestClient, keys: Keys, person):
    authenticator = bound(client, keys, person["uin"])
    authenticator.counter_step = 0  # many platform authenticators (synced passkeys) always send 0
    assert login(client, authenticator).status_code == 200
    assert login(client, authenticator).status_code == 200


@pytest.mark.parametrize("how", ["delete", "post"])
def test_passkey_revoked_by_an_officer_is_refused(client: TestClient, keys: Keys, person, services: Services, how):
    authenticator = bound(client, keys, person["uin"])
    [row] = passkeys_of(services, person["uin"])
    url = f"/v1/identities/{person['uin']}/passkeys/{row.id}"
    revoked = (
        client.delete(url, headers=keys.officer)
        if how == "delete"
        else client.post(url + "/revoke", json={"reason": "phone stolen"}, headers=keys.officer)
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    response = login(client, authenticator)
    assert response.status_code == 400 and "revoked" in message(response)
    assert events(services, "passkey.revoked")[0].detail["reason"] in ("revoked by an officer", "phone stolen")
    listed = client.get(f"/v1/identities/{person['uin']}/passkeys", headers=keys.officer).json()
    assert listed[0]["revoked_reason"] and "credential" not in str(listed)


def test_several_passkeys_per_person(client: TestClient, keys: Keys, person, services: Services):
    phone = bound(client, keys, person["uin"], label="Phone")
    laptop = bound(client, keys, person["uin"], label="Laptop")
    # The same authenticator cannot bind twice: its credential is in excludeCredentials.
    token = csrf(client)
    options = client.post(
        "/passkeys/register/options",
        json={"code": issue_code(client, keys, person["uin"])},
        headers={"X-CSRF-Token": token},
    ).json()
    assert len(options["publicKey"]["excludeCredentials"]) == 2
    with pytest.raises(ValueError, match="InvalidStateError"):
        phone.create(options)
    assert login(client, phone).status_code == 200
    assert login(client, laptop).status_code == 200
    assert [p.label for p in passkeys_of(services, person["uin"])] == ["Phone", "Laptop"]


# --- online binding after a face login -----------------------------------------------------
def test_online_binding_needs_a_recent_face_login(client: TestClient, keys: Keys, person, services: Services):
    nobody = register(client, SoftAuthenticator(ORIGIN), code=None)
    assert nobody.status_code == 400 and "face" in message(nobody)
    face_session(services, client, person["uin"], age_s=services.settings.passkey_binding_face_max_age_s + 5)
    stale = register(client, SoftAuthenticator(ORIGIN), code=None)
    assert stale.status_code == 400 and "face" in message(stale)
    assert "Sign in with your face" in client.get("/account").text
    face_session(services, client, person["uin"], amr=["hwk", "user"])
    assert register(client, SoftAuthenticator(ORIGIN), code=None).status_code == 400
    face_session(services, client, person["uin"], age_s=10)
    assert 'data-passkey="register"' in client.get("/account").text
    fresh = register(client, SoftAuthenticator(ORIGIN), code=None, label="Tablet")
    assert fresh.status_code == 201, fresh.text
    [row] = passkeys_of(services, person["uin"])
    assert (row.bound_via, row.bound_by, row.label) == ("face", None, "Tablet")


def test_a_staff_member_cannot_add_a_passkey_online_after_a_face_check(client: TestClient, person, services: Services):
    # A staff passkey opens the console with the member's roles; a good photo (face login has no presentation-attack
    # detection) must not be enough to mint one. Staff get a code from an administrator instead.
    from civid.audit import SYSTEM
    from console.staff import accounts as staff

    with services.sessions.begin() as db:
        staff.add(db, person["uin"], "María José Ñúñez", ["adjudicator"], SYSTEM)
    face_session(services, client, person["uin"], age_s=10)
    assert 'data-passkey="register"' not in client.get("/account").text
    refused = register(client, SoftAuthenticator(ORIGIN), code=None)
    assert refused.status_code == 400 and "administrator" in message(refused)
    assert passkeys_of(services, person["uin"]) == []


# --- CSRF and lockout ----------------------------------------------------------------------
def test_requests_without_the_csrf_token_are_forbidden(client: TestClient, keys: Keys, person):
    csrf(client)
    assert client.post("/login/passkey/options", json={}).status_code == 403
    assert client.post("/passkeys/register/options", json={"code": "x"}).status_code == 403
    assert client.post("/login/passkey/verify", json={}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    other = TestClient(client.app)
    foreign = client.post("/login/passkey/options", json={}, headers={"X-CSRF-Token": csrf(other)})
    assert foreign.status_code == 403
    assert client.post("/passkeys/bind", data={"code": "x"}).status_code == 403


def test_repeated_failures_lock_the_identity(client: TestClient, keys: Keys, person, services: Services):
    authenticator = bound(client, keys, person["uin"])
    for _ in range(services.settings.login_max_failures_per_identity):
        assert login(client, authenticator, tamper_signature=True).status_code == 400
    locked = login(client, authenticator)
    assert locked.status_code == 429 and int(locked.headers.get("retry-after", locked.json().get("retry_after"))) > 0
    assert "Too many failed attempts" in message(locked)
    failed = events(services, "login.failed")
    assert len(failed) == services.settings.login_max_failures_per_identity
    assert {e.detail["method"] for e in failed} == {"passkey"}


# --- account page ----------------------------------------------------------------------------
def test_account_page_needs_a_login_and_revokes_passkeys(client: TestClient, keys: Keys, person, services: Services):
    assert client.get("/account", follow_redirects=False).headers["location"] == "/login"
    authenticator = bound(client, keys, person["uin"])
    assert login(client, authenticator).status_code == 200
    page = client.get("/account")
    [row] = passkeys_of(services, person["uin"])
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert client.post(f"/account/passkeys/{row.id}/revoke", data={}).status_code == 403
    done = client.post(f"/account/passkeys/{row.id}/revoke", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/account?done=passkey_revoked"
    assert passkeys_of(services, person["uin"])[0].revoked_reason == "revoked by the citizen"
    assert "The passkey was revoked" in client.get("/account?done=passkey_revoked").text
    assert login(client, authenticator).status_code == 400


def test_account_page_lists_and_withdraws_consents(client: TestClient, keys: Keys, person, services: Services):
    from models import Consent, Grant
    from tests.idp.conftest import Citizen, register_client
    from tests.idp.conftest import issue_code as issue_grant

    with services.sessions() as db:
        identity_id = db.scalars(select(Identity.id).where(Identity.uin == person["uin"])).one()
    client_id, _ = register_client(services, name="Ministry of Health portal")
    issue_grant(services, client_id, Citizen(person["uin"], identity_id), scope="openid profile email")
    face_session(services, client, person["uin"])
    page = client.get("/account?lang=es")
    assert "Ministry of Health portal" in page.text and "Su nombre" in page.text and "Retirar" in page.text
    with services.sessions() as db:
        consent_uid = db.scalars(select(Consent.uid)).one()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = client.post(f"/account/consents/{consent_uid}/revoke", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    with services.sessions() as db:
        assert db.scalars(select(Consent)).one().revoked_at is not None
        assert db.scalars(select(Grant)).one().revoked_reason == "consent_revoked"
    assert "Withdrawn" in client.get("/account?lang=en").text
