"""Virtual IDs (#16 item 10): made and revoked on the account page (shown once, never stored, a new perpetual one
replaces the old, temporary ones capped), and accepted wherever a UIN is: an officer's verification, face login,
a portal's login_hint; the answer never carries the UIN; a revoked, expired or spent VID fails; a temporary VID
presented twice at once is spent once."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

from sqlalchemy import select

from civid import vid
from civid.uin import verhoeff_valid
from models import AuditEvent, Identity, LoginSession, VirtualId, utcnow
from tests.conftest import fixture_bytes, make_settings, seeded_fixtures
from tests.idp.frontchannel import OBAMA_PHOTO, authorize, enrol_people, fresh_photo, location, login_with_face, portal
from tests.idp.test_auth_method_locks import account_csrf
from tests.idp.test_passkeys import face_session

seed, settings, keys, people = seeded_fixtures(enrol_people, "people")


def make_vid(client, services, uin: str, kind: str = "perpetual") -> str:
    """Sign ``uin`` in on the account page and make a VID there; return it as the page showed it (digits only)."""
    face_session(services, client, uin)
    page = client.post("/account/vids", data={"csrf_token": account_csrf(client), "kind": kind})
    assert page.status_code == 201, page.text[:1000]
    shown = re.search(r'id="new-vid"><strong>([\d ]+)</strong>', page.text)
    assert shown, page.text[:2000]
    return shown.group(1).replace(" ", "")


def vids_of(services, uin: str) -> list[VirtualId]:
    with services.sessions() as db:
        identity = db.scalars(select(Identity).where(Identity.uin == uin)).one()
        rows = vid.of(db, identity.id)
        db.expunge_all()
        return rows


def events(services, action: str) -> list[AuditEvent]:
    with services.sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def verify(client, keys, number: str, photo: str = OBAMA_PHOTO):
    files = {"photo": ("p.jpg", fixture_bytes(photo), "image/jpeg")}
    return client.post("/v1/verify", headers=keys.officer, data={"uin": number}, files=files)


# --- the number --------------------------------------------------------------------------------
def test_a_vid_is_16_random_digits_with_a_check_digit_and_is_stored_only_as_a_keyed_digest(tmp_path):
    made = {vid.new_vid() for _ in range(300)}
    assert len(made) == 300
    assert all(len(v) == 16 and v[0] != "0" and verhoeff_valid(v) for v in made)
    one = next(iter(made))
    assert vid.normalise_vid(f"{one[:4]} {one[4:8]}-{one[8:]}") == one
    mistyped = one[:-1] + str((int(one[-1]) + 1) % 10)
    for bad, code in ((mistyped, "vid_check_digit"), ("0" + one[1:], "vid_format"), (one[:15] + "x", "vid_format")):
        try:
            vid.normalise_vid(bad)
        except vid.InvalidUin as refused:
            assert refused.code == code
        else:
            raise AssertionError(f"{bad} accepted")
    # The digest is keyed: another installation (another key) finds nothing with the same number.
    first, second = make_settings(tmp_path / "a"), make_settings(tmp_path / "b")
    assert vid.digest(first, one) != vid.digest(second, one) and one not in vid.digest(first, one)
    assert oct(first.resolved_vid_key_file.stat().st_mode & 0o777) == "0o600"


# --- the account page --------------------------------------------------------------------------
def test_the_resident_makes_a_vid_sees_it_once_and_a_new_one_replaces_it(client, keys, services, people):
    number = make_vid(client, services, people.obama.uin)
    assert people.obama.uin not in number
    [row] = vids_of(services, people.obama.uin)
    assert (row.kind, row.last4, row.expires_at) == ("perpetual", number[-4:], None)
    assert row.digest == vid.digest(services.settings, number) and number not in row.digest
    page = client.get("/account")
    assert "Virtual IDs" in page.text and f"•••• {number[-4:]}" in page.text and number not in page.text
    assert "Identificadores virtuales" in client.get("/account", headers={"Accept-Language": "es"}).text
    [created] = events(services, "vid.created")
    assert created.person == people.obama.uin and number not in str(created.detail)

    again = client.post("/account/vids", data={"csrf_token": account_csrf(client), "kind": "perpetual"})
    assert again.headers["cache-control"] == "no-store"
    old, new = sorted(vids_of(services, people.obama.uin), key=lambda r: r.id)
    assert old.revoked_reason == "replaced" and new.revoked_at is None
    assert verify(client, keys, number).status_code == 404  # the replaced one names nobody


def test_temporary_vids_are_capped_and_revoking_one_makes_room(client, services, people, monkeypatch):
    monkeypatch.setattr(services.settings, "vid_temporary_max_live", 2)
    make_vid(client, services, people.biden.uin, "temporary")
    make_vid(client, services, people.biden.uin, "temporary")
    token = account_csrf(client)
    third = client.post("/account/vids", data={"csrf_token": token, "kind": "temporary"})
    assert third.status_code == 409 and "2 unused temporary Virtual IDs" in third.text
    newest = vids_of(services, people.biden.uin)[0]
    assert newest.expires_at is not None
    revoked = client.post(f"/account/vids/{newest.id}/revoke", data={"csrf_token": token}, follow_redirects=False)
    assert revoked.status_code == 303 and revoked.headers["location"] == "/account?done=vid_revoked"
    assert "no longer works" in client.get("/account?done=vid_revoked").text
    assert client.post("/account/vids", data={"csrf_token": token, "kind": "temporary"}).status_code == 201
    assert client.post("/account/vids", data={"csrf_token": token, "kind": "forever"}).status_code == 422
    assert [e.detail["reason"] for e in events(services, "vid.revoked")] == ["revoked by the resident"]


def test_a_vid_is_revoked_only_by_its_owner_with_the_csrf_token(client, services, people):
    make_vid(client, services, people.obama.uin)
    [obamas] = vids_of(services, people.obama.uin)
    face_session(services, client, people.biden.uin)  # now Biden's browser
    token = account_csrf(client)
    assert client.post(f"/account/vids/{obamas.id}/revoke", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/account/vids/{obamas.id}/revoke", data={}).status_code in (400, 403)
    assert client.post("/account/vids", data={"kind": "perpetual"}).status_code in (400, 403)
    assert vids_of(services, people.obama.uin)[0].revoked_at is None


# --- where a UIN is accepted --------------------------------------------------------------------
def test_an_officer_verifies_with_a_vid_and_the_answer_never_carries_the_uin(client, keys, services, people):
    number = make_vid(client, services, people.obama.uin)
    answer = verify(client, keys, number)
    assert answer.status_code == 200, answer.text
    assert answer.json()["uin"] == number and answer.json()["match"] is True
    assert people.obama.uin not in answer.text
    [audited] = events(services, "biometric.verify")
    assert audited.person == people.obama.uin and audited.detail["via_vid"] is True
    assert verify(client, keys, number, "biden_2010_blue_room.jpg").json()["match"] is False

    [row] = vids_of(services, people.obama.uin)
    with services.sessions.begin() as db:
        db.get(VirtualId, row.id).revoked_at = utcnow()
    refused = verify(client, keys, number)
    assert refused.status_code == 404 and refused.json()["type"].endswith("/vid-not-usable")
    assert people.obama.uin not in refused.text


def test_a_temporary_vid_works_once_and_not_after_it_expires(client, keys, services, people):
    once = make_vid(client, services, people.obama.uin, "temporary")
    assert verify(client, keys, once).status_code == 200
    assert verify(client, keys, once).status_code == 404  # spent
    later = make_vid(client, services, people.obama.uin, "temporary")
    with services.sessions.begin() as db:
        row = db.scalars(select(VirtualId).where(VirtualId.digest == vid.digest(services.settings, later))).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
    assert verify(client, keys, later).json()["type"].endswith("/vid-not-usable")
    states = {r.last4: r for r in vids_of(services, people.obama.uin)}
    assert states[once[-4:]].used_at is not None


def test_a_temporary_vid_presented_twice_at_once_is_spent_once(client, services, people):
    number = make_vid(client, services, people.biden.uin, "temporary")
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def present() -> None:
        barrier.wait()
        try:
            with services.sessions.begin() as db:
                found = vid.resolve(db, services.settings, number)
                outcomes.append("found" if found is not None else "none")
        except vid.VidNotUsable:
            outcomes.append("refused")
        except Exception as exc:  # SQLite's writer lock: a busy database is a refusal too, never a second use
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=present) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcomes.count("found") == 1, outcomes


def test_face_login_takes_a_vid(client, services, people):
    number = make_vid(client, services, people.obama.uin)
    client.cookies.clear()
    answer = login_with_face(client, "/login", number, fresh_photo(OBAMA_PHOTO))
    assert answer.status_code == 303, answer.text[:1000]
    with services.sessions() as db:
        newest = db.scalars(select(LoginSession).order_by(LoginSession.id.desc())).first()
        identity = db.get(Identity, newest.identity_id)
        assert identity.uin == people.obama.uin and "face" in newest.amr
    # A revoked VID on the login form is answered like an unknown UIN.
    [row] = vids_of(services, people.obama.uin)
    with services.sessions.begin() as db:
        db.get(VirtualId, row.id).revoked_at = utcnow()
    client.cookies.clear()
    refused = login_with_face(client, "/login", number, fresh_photo(OBAMA_PHOTO))
    assert refused.status_code == 403 and people.obama.uin not in refused.text


def test_a_vid_as_login_hint_prefills_the_vid_never_the_uin(client, services, people):
    number = make_vid(client, services, people.obama.uin)
    rp = portal(services)
    client.cookies.clear()
    login_page = client.get(location(authorize(client, rp, login_hint=number)))
    assert login_page.status_code == 200
    assert f'value="{number}"' in login_page.text and people.obama.uin not in login_page.text
    # A revoked VID is prefilled the same: the form does not tell which numbers still work.
    [row] = vids_of(services, people.obama.uin)
    with services.sessions.begin() as db:
        db.get(VirtualId, row.id).revoked_at = utcnow()
    client.cookies.clear()
    again = client.get(location(authorize(client, rp, login_hint=number)))
    assert f'value="{number}"' in again.text
    # Signed in as Biden, a hint naming Obama's VID asks for a login again (another person).
    face_session(services, client, people.biden.uin)
    assert "/login" in location(authorize(client, rp, login_hint=number))
