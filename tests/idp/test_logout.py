"""RP-Initiated Logout: id_token_hint, exact post_logout_redirect_uri, state, confirmation with CSRF."""

from __future__ import annotations

import time

from sqlalchemy import select

from idp.subjects import subject_for
from models import AuditEvent, Client, LoginSession
from tests.conftest import seeded_fixtures
from tests.idp.conftest import basic
from tests.idp.frontchannel import (
    BIDEN_PHOTO,
    REDIRECT_URI,
    authorize,
    code_for,
    enrol_people,
    form_value,
    location,
    portal,
    query_of,
)

seed, settings, keys, people = seeded_fixtures(enrol_people, "people")
AFTER = "https://portal.example.bz/signed-out"


def logged_in_portal(client, services, citizen, photo=None, **meta):
    rp = portal(services, post_logout_redirect_uris=[AFTER], **meta)
    code_for(client, rp, citizen, **({"photo_name": photo} if photo else {}))
    return rp


def id_token_for(services, rp, citizen, **overrides) -> str:
    """An ID token civid signed for ``citizen`` at ``rp`` (as the token endpoint would)."""
    with services.sessions() as db:
        row = db.scalars(select(Client).where(Client.client_id == rp.client_id)).one()
        sub = subject_for(services.idp_secrets, row, citizen.uin)
    now = int(time.time())
    claims = {
        "iss": services.settings.resolved_issuer,
        "sub": sub,
        "aud": rp.client_id,
        "azp": rp.client_id,
        "iat": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return services.signing_keys.sign(claims)


def live_sessions(services) -> int:
    with services.sessions() as db:
        return len(db.scalars(select(LoginSession).where(LoginSession.ended_at.is_(None))).all())


def test_hint_for_the_session_person_signs_out_and_redirects_with_state(client, services, people):
    rp = logged_in_portal(client, services, people.obama)
    response = client.get(
        "/logout",
        params={
            "id_token_hint": id_token_for(services, rp, people.obama),
            "post_logout_redirect_uri": AFTER,
            "state": "bye-1",
        },
        follow_redirects=False,
    )
    assert location(response).startswith(AFTER + "?") and query_of(response) == {"state": "bye-1"}
    assert 'civid_session=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    assert live_sessions(services) == 0
    assert query_of(authorize(client, rp, prompt="none"))["error"] == "login_required"
    with services.sessions() as db:
        actions = db.scalars(select(AuditEvent.action)).all()
    assert "logout" in actions and "oidc.rp_logout" in actions


def test_a_real_id_token_from_the_token_endpoint_works_as_hint(client, services, people):
    rp = portal(services, post_logout_redirect_uris=[AFTER])
    query = code_for(client, rp, people.obama)
    tokens = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": rp.verifier,
        },
        headers=basic(rp.client_id, rp.secret),
    ).json()
    response = client.get(
        "/logout",
        params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": AFTER},
        follow_redirects=False,
    )
    assert location(response) == AFTER and live_sessions(services) == 0


def test_logout_revokes_the_tokens_issued_from_that_session(client, services, people):
    rp = portal(services, post_logout_redirect_uris=[AFTER])
    query = code_for(client, rp, people.obama)
    tokens = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": rp.verifier,
        },
        headers=basic(rp.client_id, rp.secret),
    ).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/userinfo", headers=bearer).status_code == 200
    client.get(
        "/logout",
        params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": AFTER},
        follow_redirects=False,
    )
    assert client.get("/userinfo", headers=bearer).status_code == 401
    refresh = client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic(rp.client_id, rp.secret),
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    with services.sessions() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "logout")).all()[-1]
    assert event.detail["grants_revoked"] == 1


def test_an_expired_hint_is_still_accepted(client, services, people):
    rp = logged_in_portal(client, services, people.obama)
    hint = id_token_for(services, rp, people.obama, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    response = client.get(
        "/logout", params={"id_token_hint": hint, "post_logout_redirect_uri": AFTER}, follow_redirects=False
    )
    assert location(response) == AFTER and live_sessions(services) == 0


def test_an_unregistered_post_logout_redirect_uri_shows_the_page_instead(client, services, people):
    rp = logged_in_portal(client, services, people.obama)
    for uri in ("https://evil.example/", AFTER + "/", REDIRECT_URI):
        response = client.get(
            "/logout",
            params={"id_token_hint": id_token_for(services, rp, people.obama), "post_logout_redirect_uri": uri},
            follow_redirects=False,
        )
        assert response.status_code == 200 and "location" not in response.headers
        assert "You are signed out" in response.text
    assert live_sessions(services) == 0


def test_without_a_hint_the_citizen_confirms_with_a_csrf_protected_button(client, services, people):
    rp = logged_in_portal(client, services, people.obama)
    page = client.get(
        "/logout",
        params={"client_id": rp.client_id, "post_logout_redirect_uri": AFTER, "state": "s2"},
        follow_redirects=False,
    )
    assert page.status_code == 200 and 'id="logout-form"' in page.text
    assert live_sessions(services) == 1  # nothing ended yet
    form = {"confirm": "yes", "client_id": rp.client_id, "post_logout_redirect_uri": AFTER, "state": "s2"}
    refused = client.post("/logout", data=form | {"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403 and live_sessions(services) == 1
    done = client.post(
        "/logout", data=form | {"csrf_token": form_value(page.text, "csrf_token")}, follow_redirects=False
    )
    assert location(done) == AFTER + "?state=s2" and live_sessions(services) == 0


def test_confirmation_form_cannot_redirect_to_an_unregistered_uri(client, services, people):
    rp = logged_in_portal(client, services, people.obama)
    page = client.get("/logout")
    form = {
        "confirm": "yes",
        "client_id": rp.client_id,
        "post_logout_redirect_uri": "https://evil.example/",
        "csrf_token": form_value(page.text, "csrf_token"),
    }
    response = client.post("/logout", data=form, follow_redirects=False)
    assert response.status_code == 200 and "location" not in response.headers and live_sessions(services) == 0


def test_a_hint_for_another_person_asks_for_confirmation(client, services, people):
    rp = logged_in_portal(client, services, people.obama)
    response = client.get(
        "/logout",
        params={"id_token_hint": id_token_for(services, rp, people.biden), "post_logout_redirect_uri": AFTER},
        follow_redirects=False,
    )
    assert response.status_code == 200 and 'id="logout-form"' in response.text
    assert live_sessions(services) == 1


def test_invalid_hints_are_an_error_page(client, services, people):
    rp = logged_in_portal(client, services, people.obama)
    other = portal(services, name="Other portal", post_logout_redirect_uris=[AFTER])
    forged = id_token_for(services, rp, people.obama)
    forged = forged[:-4] + ("AAAA" if not forged.endswith("AAAA") else "BBBB")
    for params in (
        {"id_token_hint": "not-a-jwt"},
        {"id_token_hint": forged},
        {"id_token_hint": id_token_for(services, rp, people.obama), "client_id": other.client_id},
    ):
        response = client.get("/logout", params=params | {"post_logout_redirect_uri": AFTER}, follow_redirects=False)
        assert response.status_code == 400 and "location" not in response.headers
        assert "<code>invalid_request</code>" in response.text
    assert live_sessions(services) == 1


def test_without_a_session_a_valid_request_just_redirects(client, services, people):
    rp = portal(services, post_logout_redirect_uris=[AFTER])
    response = client.get(
        "/logout",
        params={"client_id": rp.client_id, "post_logout_redirect_uri": AFTER, "state": "x"},
        follow_redirects=False,
    )
    assert location(response) == AFTER + "?state=x"


def test_a_portal_post_is_answered_with_the_confirmation_page(client, services, people):
    rp = logged_in_portal(client, services, people.biden, photo=BIDEN_PHOTO)
    response = client.post(
        "/logout",
        data={
            "id_token_hint": id_token_for(services, rp, people.biden),
            "post_logout_redirect_uri": AFTER,
            "state": "p",
        },
        follow_redirects=False,
    )
    assert response.status_code == 200 and 'name="post_logout_redirect_uri" value="' + AFTER in response.text
    assert live_sessions(services) == 1
    done = client.post(
        "/logout",
        data={
            "confirm": "yes",
            "client_id": rp.client_id,
            "state": "p",
            "post_logout_redirect_uri": AFTER,
            "csrf_token": form_value(response.text, "csrf_token"),
        },
        follow_redirects=False,
    )
    assert location(done) == AFTER + "?state=p" and live_sessions(services) == 0


def test_logout_pages_in_spanish(client, services, people):
    logged_in_portal(client, services, people.obama)
    page = client.get("/logout", params={"ui_locales": "es"})
    assert '<html lang="es">' in page.text and "Cerrar sesión" in page.text
