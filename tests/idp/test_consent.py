"""The consent page: what it lists, approve (remembered) and deny (access_denied), prompt=consent, CSRF."""

from __future__ import annotations

import json

from sqlalchemy import select

from models import AuditEvent, AuthorizationCode, Consent
from tests.conftest import seeded_fixtures
from tests.idp.frontchannel import (
    approve_consent,
    assert_error_page,
    authorize,
    code_for,
    enrol_people,
    form_value,
    location,
    portal,
    query_of,
    sign_in,
)

seed, settings, keys, people = seeded_fixtures(enrol_people, "people")


def consent_url(client, rp, citizen, **overrides) -> str:
    """Log in for a new request and stop at the consent page."""
    url = location(authorize(client, rp, **overrides))
    if url.startswith("/login/"):
        url = location(client.get(location(sign_in(client, url, citizen)), follow_redirects=False))
    assert url.startswith("/consent/"), url
    return url


def items(page) -> str:
    start = page.text.index('id="consent-claims"')
    return page.text[start : page.text.index("</ul>", start)]


def test_consent_page_lists_the_requested_claims_in_plain_words(client, services, people):
    rp = portal(services, name="Ministry of Health")
    page = client.get(consent_url(client, rp, people.obama, scope="openid profile email"))
    assert page.status_code == 200
    listed = items(page)
    assert "Ministry of Health" in page.text
    assert "Your name" in listed and "Your date of birth" in listed and "Your email address" in listed
    assert "only Ministry of Health uses" in listed  # pairwise subject
    assert "phone" not in listed and "national identity number" not in page.text
    assert 'name="csrf_token"' in page.text and "<script>" not in page.text


def test_the_uin_is_marked_apart_for_an_entitled_client(client, services, people):
    rp = portal(services, name="Civil Registry", entitlements=["uin"])
    page = client.get(consent_url(client, rp, people.obama, scope="openid uin"))
    assert 'id="consent-uin"' in page.text
    assert "Civil Registry is entitled to receive your national identity number" in page.text


def test_claims_parameter_members_are_listed(client, services, people):
    rp = portal(services)
    claims = json.dumps({"id_token": {"phone_number": {"essential": True}}})
    assert "Your phone number" in items(
        client.get(consent_url(client, rp, people.obama, scope="openid", claims=claims))
    )


def test_approval_is_remembered_and_later_requests_skip_the_page(client, services, people):
    rp = portal(services)
    query = query_of(approve_consent(client, consent_url(client, rp, people.obama, scope="openid profile")))
    assert query["code"] and query["state"] == "st-123"
    with services.sessions() as db:
        consent = db.scalars(select(Consent)).one()
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "consent.granted")).one()
    assert consent.scopes == ["openid", "profile"] and "given_name" in consent.claims and "email" not in consent.claims
    assert event.detail["client_id"] == rp.client_id
    assert query_of(authorize(client, rp, scope="openid profile"))["code"]  # no page, no login
    assert query_of(authorize(client, rp, scope="openid"))["code"]  # a subset is covered too
    # Asking for more than was consented asks again.
    assert location(authorize(client, rp, scope="openid profile email")).startswith("/consent/")


def test_prompt_consent_asks_again_and_approving_finishes(client, services, people):
    rp = portal(services)
    code_for(client, rp, people.obama)
    url = location(authorize(client, rp, prompt="consent"))
    assert url.startswith("/consent/")
    assert query_of(approve_consent(client, url))["code"]  # no loop back to the consent page


def test_deny_returns_access_denied_and_ends_the_interaction(client, services, people):
    rp = portal(services)
    url = consent_url(client, rp, people.obama)
    response = approve_consent(client, url, decision="deny")
    assert location(response).startswith(rp.redirect_uri + "?")
    query = query_of(response)
    assert query["error"] == "access_denied" and query["state"] == "st-123"
    assert query["iss"] == services.settings.resolved_issuer and "code" not in query
    assert_error_page(client.get(url), "invalid_request")
    with services.sessions() as db:
        assert db.scalars(select(Consent)).first() is None
        assert db.scalars(select(AuthorizationCode)).first() is None
        assert db.scalars(select(AuditEvent).where(AuditEvent.action == "consent.denied")).one()


def test_consent_post_without_a_valid_csrf_token_is_refused(client, services, people):
    url = consent_url(client, portal(services), people.obama)
    for token in (None, "forged"):
        data = {"decision": "approve"} | ({"csrf_token": token} if token else {})
        response = client.post(url, data=data, follow_redirects=False)
        assert response.status_code == 403 and response.headers["content-type"].startswith("text/html")
    with services.sessions() as db:
        assert db.scalars(select(Consent)).first() is None


def test_consent_page_without_a_session_sends_the_citizen_to_log_in(client, services, people):
    rp = portal(services)
    url = consent_url(client, rp, people.obama)
    csrf = form_value(client.get(url).text, "csrf_token")
    client.cookies.delete("civid_session")
    assert location(client.get(url, follow_redirects=False)).startswith("/login/")
    response = client.post(url, data={"csrf_token": csrf, "decision": "approve"}, follow_redirects=False)
    assert location(response).startswith("/login/")
    with services.sessions() as db:
        assert db.scalars(select(Consent)).first() is None


def test_consent_page_in_spanish(client, services, people):
    page = client.get(
        consent_url(
            client, portal(services, name="Portal de Impuestos"), people.obama, ui_locales="es", scope="openid profile"
        )
    )
    assert '<html lang="es">' in page.text and "Su nombre" in page.text and "Permitir" in page.text
