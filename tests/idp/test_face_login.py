"""Face login: success and its session, CSRF, the one-time challenge, photo replay, the same answer for an
unknown UIN and a wrong face, lockout before matching, the quality gate, and the passkey-only refusal."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from civid.uin import verhoeff_check_digit
from idp.acr import ACR_PASSKEY
from models import AuditEvent, FaceChallenge, FaceProbe, LoginAttempt, LoginSession
from tests.conftest import fixture_bytes, seeded_fixtures
from tests.idp.frontchannel import (
    BIDEN_PHOTO,
    OBAMA_PHOTO,
    authorize,
    enrol_people,
    form_value,
    fresh_photo,
    location,
    login_with_face,
    portal,
)

seed, settings, keys, people = seeded_fixtures(enrol_people, "people")
NOT_VERIFIED = "We could not verify you with this UIN and photo."


def rows(services, model, *where):
    with services.sessions() as db:
        return list(db.scalars(select(model).where(*where)))


def count(services, model, *where) -> int:
    with services.sessions() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def alert(page) -> str:
    match = re.search(r'role="alert"[^>]*>\s*<p>([^<]*)</p>', page.text)
    assert match, page.text[:2000]
    return match.group(1)


def interaction_login(client, services, **overrides) -> str:
    return location(authorize(client, portal(services), **overrides))


def test_a_matching_face_starts_a_session_and_returns_to_the_request(client, services, people):
    url = interaction_login(client, services)
    response = login_with_face(client, url, people.obama.uin, fresh_photo(OBAMA_PHOTO))
    assert response.status_code == 303
    assert location(response) == url.replace("/login/", "/authorize/resume/")
    cookie = response.headers["set-cookie"]
    assert "civid_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    (session,) = rows(services, LoginSession)
    assert session.identity_id == people.obama.identity_id and session.acr.endswith("face")
    assert session.amr == ["face"]
    (event,) = rows(services, AuditEvent, AuditEvent.action == "login.succeeded")
    assert event.detail["method"] == "face" and event.subject_id == people.obama.uin
    assert count(services, LoginAttempt, LoginAttempt.success.is_(True)) == 1
    assert count(services, FaceProbe) == 1


def test_login_without_an_interaction_goes_to_the_account_page(client, services, people):
    response = login_with_face(client, "/login", people.biden.uin, fresh_photo(BIDEN_PHOTO))
    assert response.status_code == 303 and location(response) == "/account"


def test_missing_or_wrong_csrf_token_is_refused_with_a_page(client, services, people):
    url = interaction_login(client, services)
    for token in ("", "forged-token"):
        response = login_with_face(client, url, people.obama.uin, csrf_token=token)
        assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")
        assert "This form has expired or was not sent by this site" in response.text
    assert count(services, LoginSession) == 0


def test_a_replayed_form_fails_on_its_one_time_challenge(client, services, people):
    url = interaction_login(client, services)
    page = client.get(url)
    form = {
        "csrf_token": form_value(page.text, "csrf_token"),
        "challenge": form_value(page.text, "challenge"),
        "uin": people.obama.uin,
    }
    first = client.post(url + "/face", data=form, files={"photo": fresh_photo(BIDEN_PHOTO)}, follow_redirects=False)
    assert first.status_code == 403 and alert(first).startswith(NOT_VERIFIED)
    # The same POST again, even with the right face this time: the challenge is spent.
    replay = client.post(url + "/face", data=form, files={"photo": fresh_photo(OBAMA_PHOTO)}, follow_redirects=False)
    assert replay.status_code == 400 and "expired or was already sent" in alert(replay)
    assert count(services, LoginSession) == 0
    (challenge_failure,) = rows(
        services,
        AuditEvent,
        AuditEvent.action == "login.failed",
        AuditEvent.detail["reason"].as_string() == "challenge_invalid",
    )
    assert challenge_failure.detail["method"] == "face"
    # The page shown after a failure carries a fresh challenge.
    assert form_value(replay.text, "challenge") != form["challenge"]


def test_a_challenge_is_bound_to_its_interaction_and_expires(client, services, people):
    url, other = interaction_login(client, services), interaction_login(client, services)
    page = client.get(url)
    form = {
        "csrf_token": form_value(page.text, "csrf_token"),
        "challenge": form_value(page.text, "challenge"),
        "uin": people.obama.uin,
    }
    crossed = client.post(other + "/face", data=form, files={"photo": fresh_photo()}, follow_redirects=False)
    assert crossed.status_code == 400
    with services.sessions.begin() as db:
        for row in db.scalars(select(FaceChallenge)):
            row.expires_at = row.created_at
    # The refused cross-interaction post did not spend it, but it has now expired.
    expired = client.post(url + "/face", data=form, files={"photo": fresh_photo()}, follow_redirects=False)
    assert expired.status_code == 400
    assert count(services, LoginSession) == 0


def test_the_same_photo_file_is_refused_the_second_time(client, services, people):
    photo = fresh_photo(OBAMA_PHOTO)
    assert login_with_face(client, interaction_login(client, services), people.obama.uin, photo).status_code == 303
    replay = login_with_face(client, interaction_login(client, services, prompt="login"), people.obama.uin, photo)
    assert replay.status_code == 403 and "already used to sign in" in alert(replay)
    assert count(services, LoginSession) == 1
    assert count(services, LoginAttempt, LoginAttempt.success.is_(False)) == 1


def test_unknown_uin_and_wrong_face_get_the_same_answer(client, services, people):
    url = interaction_login(client, services)
    wrong_face = login_with_face(client, url, people.obama.uin, fresh_photo(BIDEN_PHOTO))
    unknown = "123456789" + verhoeff_check_digit("123456789")  # well-formed, enrolled by nobody
    unknown_uin = login_with_face(client, url, unknown, fresh_photo(OBAMA_PHOTO))
    assert wrong_face.status_code == unknown_uin.status_code == 403
    assert alert(wrong_face) == alert(unknown_uin)
    assert alert(wrong_face).startswith(NOT_VERIFIED)
    attempts = rows(services, LoginAttempt)
    assert [(a.identity_id, a.success) for a in attempts] == [(people.obama.identity_id, False), (None, False)]
    assert all(a.source == "testclient" for a in attempts)  # the unknown UIN counts against the source
    failures = rows(services, AuditEvent, AuditEvent.action == "login.failed")
    assert [e.detail["reason"] for e in failures] == ["no_match", "unknown_identity"]


def test_lockout_after_failed_matches_refuses_even_the_right_face(client, services, people):
    url = interaction_login(client, services)
    for _ in range(services.settings.login_max_failures_per_identity):
        assert login_with_face(client, url, people.obama.uin, fresh_photo(BIDEN_PHOTO)).status_code == 403
    locked = login_with_face(client, url, people.obama.uin, fresh_photo(OBAMA_PHOTO))
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "Too many failed attempts" in locked.text and locked.headers["content-type"].startswith("text/html")
    assert count(services, LoginSession) == 0
    assert count(services, AuditEvent, AuditEvent.action == "login.locked_out") == 1
    # The lock is on that identity: another person from the same address (under the source limit) can log in.
    assert services.settings.login_max_failures_per_source > services.settings.login_max_failures_per_identity
    assert login_with_face(client, url, people.biden.uin, fresh_photo(BIDEN_PHOTO)).status_code == 303


def test_a_photo_failing_the_quality_gate_is_explained_and_not_counted(client, services, people):
    url = interaction_login(client, services)
    turned = ("turned.jpg", fixture_bytes("obama_2009_congress.jpg"), "image/jpeg")  # head turned sideways
    response = login_with_face(client, url, people.obama.uin, turned)
    assert response.status_code == 422 and "Your head is turned" in alert(response)
    blank = ("blank.png", fixture_bytes("collins_nasa_portrait.png")[:200], "image/png")  # truncated file
    response = login_with_face(client, url, people.obama.uin, blank)
    assert response.status_code == 422 and "could not be read" in alert(response)
    assert count(services, LoginAttempt) == 0
    assert count(services, AuditEvent, AuditEvent.action == "login.photo_rejected") == 2


def test_a_malformed_uin_or_missing_photo_is_a_form_error(client, services, people):
    url = interaction_login(client, services)
    wrong_digit = "123456789" + str((int(verhoeff_check_digit("123456789")) + 1) % 10)
    response = login_with_face(client, url, wrong_digit)
    assert response.status_code == 422 and "not a valid UIN" in alert(response)
    page = client.get(url)
    response = client.post(
        url + "/face",
        data={
            "csrf_token": form_value(page.text, "csrf_token"),
            "challenge": form_value(page.text, "challenge"),
            "uin": people.obama.uin,
        },
        follow_redirects=False,
    )
    assert response.status_code == 422 and "photo of your face" in alert(response)
    assert count(services, LoginAttempt) == 0


def test_face_login_is_refused_when_the_portal_requires_a_passkey(client, services, people):
    url = interaction_login(client, services, acr_values=ACR_PASSKEY)
    page = client.get("/login")  # a face form from elsewhere: its fields are posted to this interaction
    response = client.post(
        url + "/face",
        data={
            "csrf_token": form_value(page.text, "csrf_token"),
            "challenge": form_value(page.text, "challenge"),
            "uin": people.obama.uin,
        },
        files={"photo": fresh_photo()},
        follow_redirects=False,
    )
    assert response.status_code == 403 and "requires a passkey" in response.text
    assert count(services, LoginSession) == 0


def test_failed_page_keeps_the_uin_and_is_in_the_requested_language(client, services, people):
    url = interaction_login(client, services, ui_locales="es")
    response = login_with_face(client, url, people.obama.uin, fresh_photo(BIDEN_PHOTO))
    assert '<html lang="es">' in response.text
    assert alert(response).startswith("No pudimos verificarle")
    assert f'value="{people.obama.uin}"' in response.text


def test_unknown_uins_from_one_source_lock_that_source(client, services, people):
    url = interaction_login(client, services)
    for n in range(services.settings.login_max_failures_per_source):
        body = f"9{n:08d}"
        response = login_with_face(client, url, body + verhoeff_check_digit(body), fresh_photo(OBAMA_PHOTO))
        assert response.status_code == 403
    locked = login_with_face(client, url, people.obama.uin, fresh_photo(OBAMA_PHOTO))
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
