"""The authorization endpoint: each validation rule, where its error goes (page or redirect), the SSO and
prompt/max_age/acr/login_hint decisions, and the code issued once per interaction."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select, update

from civid.audit import SYSTEM
from idp import clients
from idp.acr import ACR_FACE, ACR_PASSKEY
from models import AuditEvent, AuthorizationCode, AuthorizationRequest, Grant, LoginSession, utcnow
from tests.conftest import seeded_fixtures
from tests.idp.conftest import basic
from tests.idp.frontchannel import (
    BIDEN_PHOTO,
    REDIRECT_URI,
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


def assert_redirected_error(response, rp, error: str, issuer: str) -> dict[str, str]:
    assert location(response).startswith(rp.redirect_uri + "?")
    query = query_of(response)
    assert query["error"] == error, query
    assert query["state"] == "st-123" and query["iss"] == issuer and query["error_description"]
    return query


def count(services, model, *where) -> int:
    with services.sessions() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


# --- a valid request ---------------------------------------------------------------------------------


def test_valid_request_without_session_stores_the_interaction_and_goes_to_login(client, services):
    rp = portal(services)
    response = authorize(
        client,
        rp,
        scope="openid profile email",
        login_hint="",
        ui_locales="es-BZ en",
        max_age="600",
        claims=json.dumps({"id_token": {"email": {"essential": True}}}),
    )
    url = location(response)
    assert url.startswith("/login/")
    with services.sessions() as db:
        row = db.scalars(select(AuthorizationRequest).where(AuthorizationRequest.uid == url.split("/")[-1])).one()
    assert row.pushed is False and row.consumed_at is None and row.client_id == rp.client_id
    assert row.params == {
        "client_id": rp.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": ["openid", "profile", "email"],
        "state": "st-123",
        "nonce": "n-456",
        "code_challenge": rp.challenge,
        "code_challenge_method": "S256",
        "prompt": [],
        "max_age": 600,
        "login_hint": None,
        "ui_locales": ["es-BZ", "en"],
        "acr_values": [],
        "claims": {"id_token": {"email": {"essential": True}}},
        "required_sub": None,
        "response_mode": "query",
    }


def test_whole_front_channel_returns_a_code_with_state_and_iss_that_the_token_endpoint_redeems(
    client, services, people
):
    rp = portal(services)
    query = code_for(client, rp, people.obama)
    assert set(query) == {"code", "state", "iss"}
    assert query["state"] == "st-123" and query["iss"] == services.settings.resolved_issuer  # RFC 9207
    with services.sessions() as db:
        code = db.scalars(select(AuthorizationCode)).one()
        grant = db.get(Grant, code.grant_id)
        assert (code.redirect_uri, code.code_challenge, code.nonce) == (REDIRECT_URI, rp.challenge, "n-456")
        assert (grant.scope, grant.acr, grant.amr, grant.identity_id) == (
            "openid profile",
            ACR_FACE,
            ["face"],
            people.obama.identity_id,
        )
        issued = db.scalars(select(AuditEvent).where(AuditEvent.action == "oidc.code_issued")).one()
    assert query["code"] not in json.dumps(issued.detail)
    tokens = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": rp.verifier,
        },
        headers=basic(rp.client_id, rp.secret),
    )
    assert tokens.status_code == 200, tokens.text
    assert {"access_token", "id_token"} <= set(tokens.json())


def test_redirect_uri_with_a_query_keeps_it_and_appends_the_response(client, services, people):
    rp = portal(services, redirect_uris=["https://portal.example.bz/cb?tenant=health"])
    query = code_for(client, rp, people.obama)
    assert query["tenant"] == "health" and query["code"]


def test_post_with_form_serialization_continues_through_resume(client, services):
    rp = portal(services)
    form = {
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "response_type": "code",
        "scope": "openid",
        "code_challenge": rp.challenge,
        "code_challenge_method": "S256",
        "state": "st-123",
    }
    response = client.post("/authorize", data=form, follow_redirects=False)
    assert location(response).startswith("/authorize/resume/")
    assert location(client.get(location(response), follow_redirects=False)).startswith("/login/")


# --- shown to the citizen, never redirected ---------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        "https://portal.example.bz/callback/",  # trailing slash
        "https://portal.example.bz/Callback",  # case of the path
        "https://PORTAL.example.bz/callback",  # case of the host: still not the registered string
        "https://portal.example.bz/callback?x=1",  # extra query
        "https://portal.example.bz:8443/callback",  # another port
        "https://portal.example.bz:443/callback",  # the default port spelled out
        "https://portal.example.bz/call",  # a prefix of the registered URI
        "https://portal.example.bz/callback/../evil",  # a path below it
        "https://portal.example.bz.evil.example/callback",  # registered host as a prefix of another
        "http://portal.example.bz/callback",  # https -> http
        "https://portal.example.bz/callback#frag",  # a fragment
        "https://evil.example/callback",
    ],
)
def test_redirect_uri_variants_are_shown_as_an_error_page_not_redirected(client, services, variant):
    rp = portal(services)
    assert_error_page(authorize(client, rp, redirect_uri=variant), "invalid_request")


def test_missing_redirect_uri_is_an_error_page_even_with_one_registered(client, services):
    assert_error_page(authorize(client, portal(services), redirect_uri=None), "invalid_request")


def test_unknown_missing_or_disabled_client_is_an_error_page(client, services):
    rp = portal(services)
    assert_error_page(authorize(client, rp, client_id="no-such-client"), "invalid_client", 401)
    assert_error_page(authorize(client, rp, client_id=None), "invalid_request")
    with services.sessions.begin() as db:
        clients.disable(db, rp.client_id, SYSTEM)
    assert_error_page(authorize(client, rp), "invalid_client", 401)


def test_a_parameter_sent_twice_is_an_error_page(client, services):
    rp = portal(services)
    response = client.get(
        f"/authorize?client_id={rp.client_id}&client_id={rp.client_id}&response_type=code", follow_redirects=False
    )
    assert_error_page(response, "invalid_request")


def test_an_invalid_request_never_redirects_before_the_redirect_uri_is_checked(client, services):
    # Several errors at once: the bad redirect URI wins, so nothing goes to evil.example.
    response = authorize(
        client,
        portal(services),
        redirect_uri="https://evil.example/cb",
        response_type="token",
        code_challenge=None,
        scope="email",
    )
    assert_error_page(response, "invalid_request")


# --- redirected to the client (redirect URI valid) ----------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_challenge": None, "code_challenge_method": None},  # missing PKCE
        {"code_challenge": None},  # a method without a challenge
        {"code_challenge_method": "plain"},  # plain refused
        {"code_challenge_method": None},  # missing method means plain (RFC 7636 §4.3)
        {"code_challenge_method": "S512"},
        {"code_challenge": "too-short"},
        {"code_challenge": "A" * 44},  # not a SHA-256 length
        {"code_challenge": "a+b/" + "A" * 39},  # not base64url
    ],
)
def test_pkce_s256_is_required(client, services, overrides):
    rp = portal(services)
    issuer = services.settings.resolved_issuer
    assert_redirected_error(authorize(client, rp, **overrides), rp, "invalid_request", issuer)


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token", "code token", "id_token token"])
def test_implicit_and_hybrid_response_types_are_unsupported(client, services, response_type):
    rp = portal(services)
    assert_redirected_error(
        authorize(client, rp, response_type=response_type),
        rp,
        "unsupported_response_type",
        services.settings.resolved_issuer,
    )


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"response_type": None}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"response_mode": "form_post"}, "invalid_request"),
        ({"scope": "profile email"}, "invalid_scope"),  # no openid
        ({"scope": "wallet profile"}, "invalid_scope"),  # unknown ones ignored: still no openid
        ({"scope": "openid uin"}, "invalid_scope"),  # not entitled
        ({"claims": "{not json"}, "invalid_request"),
        ({"claims": json.dumps({"id_token": ["email"]})}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "sometimes"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"max_age": "ten"}, "invalid_request"),
        ({"max_age": "\u00b2"}, "invalid_request"),  # "²".isdigit(), but not a number
        # OIDC Core §5.5.1: malformed individual claim requests are invalid_request, never a crash (or a grant
        # whose stored claims crash the token endpoint later).
        ({"claims": json.dumps({"id_token": {"acr": {"essential": True, "values": 5}}})}, "invalid_request"),
        ({"claims": json.dumps({"id_token": {"acr": {"values": 5}}})}, "invalid_request"),
        ({"claims": json.dumps({"id_token": {"acr": {"essential": True, "value": {"a": 1}}}})}, "invalid_request"),
        ({"claims": json.dumps({"id_token": {"acr": {"values": [["urn:civid:acr:face"]]}}})}, "invalid_request"),
        ({"claims": json.dumps({"userinfo": {"email": {"essential": "yes"}}})}, "invalid_request"),
        ({"nonce": "n" * 501}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
    ],
)
def test_invalid_parameters_are_redirected_with_the_error(client, services, overrides, error):
    rp = portal(services)
    assert_redirected_error(authorize(client, rp, **overrides), rp, error, services.settings.resolved_issuer)


def test_a_scope_the_client_may_not_ask_for_is_invalid_scope(client, services):
    rp = portal(services, allowed_scopes=["openid", "profile"])
    assert_redirected_error(
        authorize(client, rp, scope="openid email"), rp, "invalid_scope", services.settings.resolved_issuer
    )


def test_uin_scope_is_accepted_for_an_entitled_client(client, services):
    rp = portal(services, entitlements=["uin"])
    assert location(authorize(client, rp, scope="openid uin")).startswith("/login/")


# --- prompt, max_age, SSO ---------------------------------------------------------------------------


def test_prompt_none_without_a_session_is_login_required(client, services):
    rp = portal(services)
    query = assert_redirected_error(
        authorize(client, rp, prompt="none"), rp, "login_required", services.settings.resolved_issuer
    )
    assert "code" not in query


def test_prompt_none_with_a_session_but_no_consent_is_consent_required(client, services, people):
    code_for(client, portal(services), people.obama)  # logged in (and consented to another portal)
    rp = portal(services, name="Tax portal")
    assert_redirected_error(
        authorize(client, rp, prompt="none"), rp, "consent_required", services.settings.resolved_issuer
    )


def test_a_session_and_remembered_consent_give_a_code_at_once(client, services, people):
    rp = portal(services)
    code_for(client, rp, people.obama)
    for prompt in (None, "none"):
        query = query_of(authorize(client, rp, prompt=prompt))
        assert query["code"] and query["state"] == "st-123" and query["iss"] == services.settings.resolved_issuer


@pytest.mark.parametrize("overrides", [{"prompt": "login"}, {"max_age": "0"}, {"prompt": "select_account"}])
def test_prompt_login_and_max_age_zero_force_a_new_login_that_then_suffices(client, services, people, overrides):
    rp = portal(services)
    code_for(client, rp, people.obama)
    url = location(authorize(client, rp, **overrides))
    assert url.startswith("/login/")
    # The login made during this interaction satisfies it: no loop back to the login page.
    query = query_of(client.get(location(sign_in(client, url, people.obama)), follow_redirects=False))
    assert query["code"]


def test_max_age_longer_than_the_session_age_keeps_single_sign_on(client, services, people):
    rp = portal(services)
    code_for(client, rp, people.obama)
    assert query_of(authorize(client, rp, max_age="3600"))["code"]


def test_max_age_exceeded_with_prompt_none_is_login_required(client, services, people):
    rp = portal(services)
    code_for(client, rp, people.obama)
    with services.sessions.begin() as db:
        db.execute(update(LoginSession).values(auth_time=utcnow() - timedelta(seconds=120)))
    assert location(authorize(client, rp, max_age="60")).startswith("/login/")
    assert_redirected_error(
        authorize(client, rp, max_age="60", prompt="none"), rp, "login_required", services.settings.resolved_issuer
    )


# --- acr ---------------------------------------------------------------------------------------------


def assert_passkey_only_login_page(client, url: str) -> None:
    page = client.get(url)
    assert page.status_code == 200
    assert 'id="face-form"' not in page.text and 'id="passkey-section"' in page.text
    assert 'id="passkey-required"' in page.text


def test_acr_passkey_with_a_face_session_forces_a_passkey_only_login(client, services, people):
    rp = portal(services)
    code_for(client, rp, people.obama)  # a face session
    url = location(authorize(client, rp, acr_values=ACR_PASSKEY))
    assert url.startswith("/login/")
    assert_passkey_only_login_page(client, url)
    assert_redirected_error(
        authorize(client, rp, acr_values=ACR_PASSKEY, prompt="none"),
        rp,
        "login_required",
        services.settings.resolved_issuer,
    )


def test_registered_default_acr_is_a_floor_the_request_cannot_lower(client, services):
    rp = portal(services, default_acr_values=[ACR_PASSKEY])
    assert_passkey_only_login_page(client, location(authorize(client, rp, acr_values=ACR_FACE)))


def test_essential_acr_claim_is_enforced(client, services):
    rp = portal(services)
    claims = json.dumps({"id_token": {"acr": {"essential": True, "values": [ACR_PASSKEY]}}})
    assert_passkey_only_login_page(client, location(authorize(client, rp, claims=claims)))


def test_unknown_acr_values_are_ignored(client, services, people):
    rp = portal(services)
    url = location(authorize(client, rp, acr_values="urn:example:loa:4"))
    assert 'id="face-form"' in client.get(url).text
    assert location(client.get(location(sign_in(client, url, people.obama)), follow_redirects=False)).startswith(
        "/consent/"
    )


def test_acr_face_is_satisfied_by_a_face_session(client, services, people):
    rp = portal(services)
    code_for(client, rp, people.obama)
    assert query_of(authorize(client, rp, acr_values=f"{ACR_FACE} urn:example:other"))["code"]


# --- login_hint --------------------------------------------------------------------------------------


def test_login_hint_prefills_the_uin(client, services, people):
    rp = portal(services)
    page = client.get(location(authorize(client, rp, login_hint=people.biden.uin[:5] + " " + people.biden.uin[5:])))
    assert f'value="{people.biden.uin}"' in page.text


def test_login_hint_naming_another_person_than_the_session_forces_login(client, services, people):
    rp = portal(services)
    code_for(client, rp, people.obama)
    assert query_of(authorize(client, rp, login_hint=people.obama.uin))["code"]
    assert location(authorize(client, rp, login_hint=people.biden.uin)).startswith("/login/")
    assert_redirected_error(
        authorize(client, rp, login_hint=people.biden.uin, prompt="none"),
        rp,
        "login_required",
        services.settings.resolved_issuer,
    )


def test_whoever_logs_in_during_the_interaction_is_accepted_despite_the_hint(client, services, people):
    rp = portal(services)
    url = location(authorize(client, rp, login_hint=people.obama.uin))
    resumed = client.get(location(sign_in(client, url, people.biden, BIDEN_PHOTO)), follow_redirects=False)
    assert location(resumed).startswith("/consent/")  # a hint, not a demand: no loop back to the login page


# --- id_token_hint and a requested sub (OIDC Core §3.1.2.1, §5.5.1) ----------------------------------


def _id_token(services, rp, person) -> str:  # type: ignore[no-untyped-def]
    """An ID token civid issued to ``rp`` for ``person`` (expired: still a valid hint)."""
    import time

    from idp.subjects import subject_for
    from models import Client

    with services.sessions() as db:
        row = db.scalars(select(Client).where(Client.client_id == rp.client_id)).one()
        sub = subject_for(services.idp_secrets, row, person.uin)
    now = int(time.time())
    return services.signing_keys.sign(
        {
            "iss": services.settings.resolved_issuer,
            "sub": sub,
            "aud": rp.client_id,
            "iat": now - 3600,
            "exp": now - 3000,
        }
    )


def test_id_token_hint_of_the_session_person_answers_silently_and_of_another_needs_their_login(
    client, services, people
):
    rp = portal(services)
    code_for(client, rp, people.obama)
    assert query_of(authorize(client, rp, prompt="none", id_token_hint=_id_token(services, rp, people.obama)))["code"]
    other = _id_token(services, rp, people.biden)
    assert_redirected_error(
        authorize(client, rp, prompt="none", id_token_hint=other),
        rp,
        "login_required",
        services.settings.resolved_issuer,
    )
    assert location(authorize(client, rp, id_token_hint=other)).startswith("/login/")


def test_a_requested_sub_is_answered_only_for_that_person(client, services, people):
    rp = portal(services)
    wanted = _id_token(services, rp, people.biden)
    import jwt as pyjwt

    sub = pyjwt.decode(wanted, options={"verify_signature": False})["sub"]
    url = location(authorize(client, rp, claims=json.dumps({"id_token": {"sub": {"value": sub}}})))
    resumed = client.get(location(sign_in(client, url, people.obama)), follow_redirects=False)  # someone else
    assert_redirected_error(resumed, rp, "access_denied", services.settings.resolved_issuer)


@pytest.mark.parametrize("hint", ["not-a-jwt", "foreign"])
def test_an_id_token_hint_that_is_not_ours_for_this_client_is_invalid_request(client, services, people, hint):
    rp, other = portal(services), portal(services, name="Other portal")
    token = _id_token(services, other, people.obama) if hint == "foreign" else hint  # issued to another client
    assert_redirected_error(
        authorize(client, rp, id_token_hint=token), rp, "invalid_request", services.settings.resolved_issuer
    )


# --- one code per interaction ------------------------------------------------------------------------


def test_an_interaction_issues_one_code_only(client, services, people):
    rp = portal(services)
    url = location(authorize(client, rp))
    resume = location(sign_in(client, url, people.obama))
    consent = location(client.get(resume, follow_redirects=False))
    assert query_of(approve_consent(client, consent))["code"]
    again = client.get(resume, follow_redirects=False)
    assert_error_page(again, "invalid_request")
    assert_error_page(approve_consent_post_again(client, consent), "invalid_request")
    assert count(services, AuthorizationCode) == 1
    assert count(services, AuditEvent, AuditEvent.action == "oidc.code_issued") == 1


def approve_consent_post_again(client, consent_url: str):
    page = client.get("/login")  # any page: a valid CSRF token for this browser
    return client.post(
        consent_url,
        data={"csrf_token": form_value(page.text, "csrf_token"), "decision": "approve"},
        follow_redirects=False,
    )


def test_an_expired_interaction_cannot_be_resumed(client, services, people):
    rp = portal(services)
    url = location(authorize(client, rp))
    with services.sessions.begin() as db:
        db.execute(update(AuthorizationRequest).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert_error_page(client.get(url), "invalid_request")
    assert_error_page(
        client.get(url.replace("/login/", "/authorize/resume/"), follow_redirects=False), "invalid_request"
    )


def test_unknown_interaction_is_an_error_page(client):
    assert_error_page(client.get("/authorize/resume/nope", follow_redirects=False), "invalid_request")


# --- pages -------------------------------------------------------------------------------------------


def test_ui_locales_es_renders_the_login_page_in_spanish(client, services):
    page = client.get(location(authorize(client, portal(services, name="Portal de Salud"), ui_locales="es-BZ")))
    assert '<html lang="es">' in page.text
    assert "Iniciar sesión" in page.text and "Portal de Salud" in page.text
    assert "ataque de presentación" in page.text


def test_login_page_is_accessible_and_has_no_inline_script(client, services):
    page = client.get(location(authorize(client, portal(services))))
    text = page.text
    assert '<html lang="en">' in text
    for field in ("uin", "photo"):
        assert f'<label for="{field}">' in text and f'id="{field}"' in text
    assert 'capture="user"' in text and 'accept="image/*"' in text
    assert "<script>" not in text and "onclick" not in text
    assert '<script src="/static/idp/face-capture.js"' in text
    assert "presentation attack" in text
    assert page.headers["x-frame-options"] == "DENY"
    assert client.get("/static/idp/face-capture.js").status_code == 200


def test_error_parameters_are_query_encoded(client, services):
    rp = portal(services)
    response = authorize(client, rp, scope="profile", state="a b&c=d")
    parsed = parse_qs(urlsplit(location(response)).query)
    assert parsed["state"] == ["a b&c=d"] and parsed["error"] == ["invalid_scope"]
