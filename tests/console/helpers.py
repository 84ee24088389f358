"""Helpers for console tests: a seeded database with staff, and signing a staff member in through
civid's own OpenID provider (face login over HTTP; the passkey path is covered in the browser tests)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from civid.audit import SYSTEM
from console.staff import accounts as staff_accounts
from tests.conftest import Keys
from tests.idp.conftest import Citizen, enrol_citizen
from tests.idp.frontchannel import BIDEN_PHOTO, OBAMA_PHOTO, approve_consent, location, sign_in

# The console derives its redirect URI from the issuer, and http is allowed only on the loopback host;
# the helpers follow redirects by path, so TestClient (on "testserver") still serves every hop.
ISSUER = "http://localhost"
# Console tests over HTTP sign staff in with a face login (passkeys are exercised in the browser tests).
CONSOLE_SETTINGS = {"issuer": ISSUER, "console_require_passkey": False}


@dataclass(frozen=True)
class Staffed:
    """Two enrolled people with staff accounts: Obama an officer, Biden an adjudicator and auditor."""

    officer: Citizen
    adjudicator: Citizen


def enrol_staff(client: TestClient, keys: Keys) -> Staffed:
    officer = enrol_citizen(client, keys, "obama_2012_portrait.jpg", given_name="Barack", family_name="Obama")
    adjudicator = enrol_citizen(client, keys, "biden_2010_blue_room.jpg", given_name="Joseph", family_name="Biden")
    services = client.app.state.services
    with services.sessions.begin() as db:
        staff_accounts.add(db, officer.uin, "Officer Obama", ["officer"], SYSTEM)
        staff_accounts.add(db, adjudicator.uin, "Adjudicator Biden", ["adjudicator", "auditor"], SYSTEM)
    return Staffed(officer, adjudicator)


def photo_of(citizen: Citizen, people: Staffed) -> str:
    return OBAMA_PHOTO if citizen == people.officer else BIDEN_PHOTO


def console_sign_in(client: TestClient, citizen: Citizen, photo_name: str, next_path: str = "/console"):
    """Sign ``citizen`` in to the console with a face login; return the final response (the next page)."""
    response = client.get(f"/console/login?next={next_path}", follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    response = client.get(location(response), follow_redirects=False)  # /authorize
    url = location(response)
    assert url.startswith("/login/"), url
    response = client.get(location(sign_in(client, url, citizen, photo_name)), follow_redirects=False)
    url = location(response)
    if url.startswith("/consent/"):
        url = location(approve_consent(client, url))
    parts = urlsplit(url)
    assert parts.path == "/console/callback", url
    return client.get(f"{parts.path}?{parts.query}", follow_redirects=False)
