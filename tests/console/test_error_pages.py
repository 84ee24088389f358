"""The console's own error pages (in the staff member's language, with a way back into the console), the root
page, and the API's problem+json kept for /v1/… paths."""

from __future__ import annotations

from civid.errors import Conflict, Forbidden
from console.common.error_pages import shown_code
from idp.lockout import LoginLocked
from tests.conftest import assert_problem, seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS, console_sign_in, enrol_staff
from tests.idp.frontchannel import OBAMA_PHOTO

seed, settings, keys, people = seeded_fixtures(enrol_staff, "people", **CONSOLE_SETTINGS)

CITIZEN_WORDS = ("Return to the service you came from", "Vuelva al servicio")


def _is_console_page(response, status: int) -> str:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert 'href="/console"' in response.text  # a way back into the console
    assert not any(words in response.text for words in CITIZEN_WORDS)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    return response.text


def test_a_page_for_another_role_says_so_in_words_in_the_console(client, people):
    console_sign_in(client, people.officer, OBAMA_PHOTO)
    english = _is_console_page(client.get("/console/cases"), 403)
    assert "This page is for adjudicators" in english and "Registration officer" in english
    assert "needs the adjudicator role" not in english  # no developer text
    assert "Officer Obama" in english  # the console's navigation: still signed in
    spanish = _is_console_page(client.get("/console/cases?lang=es"), 403)
    assert "Esta página es para adjudicadores" in spanish and "Oficial de registro" in spanish


def test_an_unknown_console_address_is_a_console_page_not_json(client, people):
    english = _is_console_page(client.get("/console/no-such-page"), 404)
    assert "There is no page at this address" in english
    spanish = _is_console_page(client.get("/console/no-such-page", headers={"Accept-Language": "es"}), 404)
    assert "No hay ninguna página en esta dirección" in spanish


def test_a_sign_in_that_was_not_started_here_is_explained_in_words(client, people):
    page = _is_console_page(client.get("/console/callback?state=forged&code=x&iss=http://localhost"), 422)
    assert "Sign in again" in page and 'href="/console/login"' in page
    spanish = _is_console_page(client.get("/console/callback?state=forged&lang=es"), 422)
    assert "Vuelva a iniciar sesión" in spanish


def test_the_root_page_points_to_the_console_the_account_and_the_api(client):
    root = client.get("/")
    assert root.status_code == 200 and root.headers["content-type"].startswith("text/html")
    for link in ('href="/console"', 'href="/account"', 'href="/docs"'):
        assert link in root.text, link
    assert "Registration console" in root.text
    assert "Consola de registro" in client.get("/?lang=es").text


def test_api_paths_keep_problem_json(client, keys):
    assert_problem(client.get("/v1/no-such-endpoint"), 404)
    assert_problem(client.get("/v1/identities/1234567890", headers=keys.officer), 404)
    assert_problem(client.get("/no-such-page"), 404)


def test_the_error_code_shown_is_the_raise_sites_else_the_problem_type(client, people):
    # A class's own code names a citizen page's sentence: staff are shown the problem type, as before it had one.
    assert "<code>forbidden</code>" in _is_console_page(client.post("/console/logout"), 403)
    assert shown_code(LoginLocked("too many")) == "login-locked"
    assert shown_code(Forbidden("staff must sign in with a passkey", code="passkey_required")) == "passkey_required"
    assert shown_code(Conflict("no code given")) == "conflict"
