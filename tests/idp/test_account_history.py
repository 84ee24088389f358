"""The resident's authentication history (/account/history and its CSV): real face logins (a failed one and one
for a portal), the portal's token and UserInfo release, newest first, by portal name and method; another
resident's history stays apart; signed out goes to the login page; the export is audited."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from models import AuditEvent
from server.app import create_app
from server.services import build_services
from tests.conftest import add_keys, make_settings, seeded_fixtures
from tests.idp.conftest import basic
from tests.idp.frontchannel import BIDEN_PHOTO, code_for, enrol_people, fresh_photo, login_with_face, portal
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture

seed, settings, keys, people = seeded_fixtures(enrol_people, "people")
PAGES = ("/account/history", "/account/history.csv", "/account/my-data.json", "/account/my-data.pdf")


def _portal_release(client, services, citizen, name: str = "Ministry of Health") -> None:
    """Sign ``citizen`` in for a portal through the front channel, redeem the code, call UserInfo."""
    rp = portal(services, name=name)
    query = code_for(client, rp, citizen)
    token = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": rp.redirect_uri,
            "code_verifier": rp.verifier,
        },
        headers=basic(rp.client_id, rp.secret),
    )
    assert token.status_code == 200, token.text
    userinfo = client.get("/userinfo", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert userinfo.status_code == 200, userinfo.text


def _csv(client) -> list[dict[str, str]]:
    response = client.get("/account/history.csv")
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_signed_out_every_resident_page_goes_to_the_login_page(client):
    for path in PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login", path


def test_history_lists_logins_and_releases_newest_first_with_portal_and_method(client, services, people):
    wrong_face = login_with_face(client, "/login", people.obama.uin, fresh_photo(BIDEN_PHOTO))
    assert wrong_face.status_code == 403  # refused: the face is not the UIN holder's
    _portal_release(client, services, people.obama)

    rows = _csv(client)
    assert [r["when"] for r in rows] == sorted((r["when"] for r in rows), reverse=True)
    logins = [r for r in rows if r["what"] == "login"]
    assert [(r["outcome"], r["method"]) for r in logins] == [("succeeded", "face"), ("failed", "face")]
    assert logins[0]["who"] == "Ministry of Health" and logins[1]["who"] == ""
    releases = [r for r in rows if r["what"] == "release"]
    assert {r["method"] for r in releases} >= {"userinfo"}
    assert all(r["who"] == "Ministry of Health" and r["outcome"] == "released" for r in releases)
    consent = next(r for r in rows if r["what"] == "consent_granted")
    assert rows.index(releases[-1]) < rows.index(consent) < rows.index(logins[1])

    page = client.get("/account/history")
    assert page.status_code == 200 and "Ministry of Health" in page.text
    assert "Sign-in" in page.text and "Failed" in page.text and "Face" in page.text
    assert "Inicio de sesión" in client.get("/account/history?lang=es").text
    assert 'href="/account/history"' in client.get("/account").text

    with services.sessions() as db:
        (event,) = db.scalars(select(AuditEvent).where(AuditEvent.action == "account.history_exported")).all()
    assert event.actor_name == f"citizen:{people.obama.uin}" and event.subject_id == people.obama.uin


def test_another_resident_sees_only_their_own_history(client, services, people):
    _portal_release(client, services, people.obama)
    client.cookies.clear()
    login_with_face(client, "/login", people.biden.uin, fresh_photo(BIDEN_PHOTO))
    rows = _csv(client)
    assert [r["what"] for r in rows] == ["login"]  # Biden's one login; nothing of Obama's portal
    assert "Ministry of Health" not in client.get("/account/history").text


def test_a_portal_name_that_looks_like_a_formula_is_neutralised_in_the_csv(client, services, people):
    _portal_release(client, services, people.obama, name="=HYPERLINK(1)")
    assert {r["who"] for r in _csv(client) if r["what"] == "release"} == {"'=HYPERLINK(1)"}


def test_history_and_download_on_postgresql(tmp_path: Path, postgres_schema_url: str):
    services = build_services(make_settings(tmp_path, database_url=postgres_schema_url))
    try:
        with TestClient(create_app(services=services), raise_server_exceptions=False) as client:
            people = enrol_people(client, add_keys(services))
            login_with_face(client, "/login", people.obama.uin, fresh_photo(BIDEN_PHOTO))  # refused
            _portal_release(client, services, people.obama)
            rows = _csv(client)
            assert [(r["what"], r["outcome"]) for r in rows if r["what"] == "login"] == [
                ("login", "succeeded"),
                ("login", "failed"),
            ]
            assert rows[0]["what"] == "release" and rows[0]["who"] == "Ministry of Health"
            data = client.get("/account/my-data.json").json()
            assert data["enrolments"][0]["demographics"]["given_name"] == "Barack"
            assert client.get("/account/my-data.pdf").content.startswith(b"%PDF-")
    finally:
        services.close()
