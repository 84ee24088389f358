"""The resident's "My data" download (/account/my-data.json and .pdf) after a real face login and a portal's
release: every section present, the resident's own facts and nobody else's, templates described but no template
bytes, a readable PDF in English and Spanish, a stale login sent to sign in again, every download audited."""

from __future__ import annotations

import re
import zlib
from datetime import timedelta

from sqlalchemy import select, update

from idp.my_data_pdf import latin1, render_pdf
from models import AuditEvent, LoginSession, utcnow
from tests.conftest import seeded_fixtures
from tests.idp.frontchannel import BIDEN_PHOTO, enrol_people, fresh_photo, login_with_face
from tests.idp.test_account_history import _portal_release

seed, settings, keys, people = seeded_fixtures(enrol_people, "people")
SECTIONS = {
    "identity",
    "enrolments",
    "status_history",
    "civil_registrations",
    "consents",
    "passkeys",
    "login_sessions",
    "releases",
    "attestations",
    "documents",
    "authentication_history",
}


def _pdf_text(pdf: bytes) -> bytes:
    """Every content stream of ``pdf``, inflated (fpdf2 compresses them with zlib)."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
    inflated = []
    for stream in streams:
        try:
            inflated.append(zlib.decompress(stream))
        except zlib.error:
            inflated.append(stream)
    return b"\n".join(inflated)


def test_the_json_holds_every_section_of_the_resident_and_nothing_of_another(client, services, people):
    _portal_release(client, services, people.obama)
    response = client.get("/account/my-data.json")
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-disposition"] == f'attachment; filename="civid-my-data-{people.obama.uin}.json"'
    data = response.json()
    assert SECTIONS <= data.keys() and data["format"] == "civid-resident-data"
    assert data["identity"]["uin"] == people.obama.uin
    (enrolment,) = data["enrolments"]
    assert enrolment["demographics"]["given_name"] == "Barack" and enrolment["decided_at"]
    face, photo = enrolment["biometrics"]  # the face template and the kept photo, described
    assert face["modality"] == "face" and face["note"] == "encrypted template held for deduplication"
    assert photo == {"modality": "photo", "photo": 0, "note": "encrypted enrolment photo kept for the adjudicators"}
    assert data["releases"][0]["to"] == "Ministry of Health" and "sub" not in data["releases"][0]["claims"]
    assert data["consents"][0]["service"] == "Ministry of Health"
    history = data["authentication_history"]
    assert history[-1]["what"] == "consent_granted" or any(h["what"] == "login" for h in history)
    text = response.text
    assert people.biden.uin not in text and "Biden" not in text and "Joseph" not in text
    assert not re.search(r'"(ciphertext|nonce|features_ciphertext|token_hash|key_id|officer_id)"', text)
    assert not re.search(r"[A-Za-z0-9+/]{200,}", text)  # no encoded blob (a template, a photo)

    with services.sessions() as db:
        (event,) = db.scalars(select(AuditEvent).where(AuditEvent.action == "account.data_downloaded")).all()
    assert event.actor_name == f"citizen:{people.obama.uin}" and event.detail["format"] == "json"


def test_the_pdf_is_readable_in_the_resident_s_language(client, services, people):
    login_with_face(client, "/login", people.biden.uin, fresh_photo(BIDEN_PHOTO))
    english = client.get("/account/my-data.pdf")
    assert english.status_code == 200 and english.headers["content-type"] == "application/pdf"
    assert english.content.startswith(b"%PDF-")
    content = _pdf_text(english.content)
    assert b"Biden" in content and b"Joseph" in content and b"Obama" not in content
    assert b"Authentication history" in content and b"Date of birth" in content
    spanish = _pdf_text(client.get("/account/my-data.pdf?lang=es").content)
    assert "Dirección".encode("latin-1") in spanish and b"Fecha de nacimiento" in spanish


def test_a_name_outside_latin_1_does_not_stop_the_pdf():
    assert latin1("Zoë Łukasz Dvořák 李") == "Zoë Lukasz Dvorák ?"
    document = {"identity": {"uin": "1"}, "enrolments": [{"demographics": {"given_name": "Łukasz 李 Ñandú"}}]}
    content = _pdf_text(render_pdf(document, "es", compress=False))
    assert "Lukasz ? Ñandú".encode("latin-1") in content


def test_a_stale_login_signs_in_again_before_the_download(client, services, people):
    login_with_face(client, "/login", people.biden.uin, fresh_photo(BIDEN_PHOTO))
    max_age = services.settings.resident_data_login_max_age_s
    with services.sessions.begin() as db:
        db.execute(update(LoginSession).values(auth_time=utcnow() - timedelta(seconds=max_age + 60)))
    for path in ("/account/my-data.json", "/account/my-data.pdf"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login", path
    assert client.get("/account/history").status_code == 200  # the history needs no fresh login
    with services.sessions() as db:
        assert db.scalars(select(AuditEvent).where(AuditEvent.action == "account.data_downloaded")).all() == []
