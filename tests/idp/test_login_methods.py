"""A login method is one module plus its registration: a toy method registered on a test app (its own router,
fragment and acr) shows on the login page after the built-in ones and in discovery, without touching idp; and
a request naming a registered method's acr is held to it as to a built-in one (never dropped as unknown)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient

from civid.web import pages
from idp import login_methods
from idp.acr import ACR_FACE, ACR_PASSKEY, BUILT_IN
from idp.login_methods import LoginMethod, LoginMethods
from server.app import create_app
from server.services import Services
from tests.conftest import Keys
from tests.idp.conftest import enrol_citizen
from tests.idp.frontchannel import authorize, code_for, location, portal, query_of

TOY_ACR = "urn:example:acr:toy"
toy_router = APIRouter()


@toy_router.post("/login/toy")
def toy_login() -> PlainTextResponse:
    return PlainTextResponse("toy login")


def _toy_page(db: Any, settings: Any, uid: str | None) -> Mapping[str, Any]:
    return {"toy_greeting": f"toy for {uid or 'civid'}"}


TOY = LoginMethod(
    name="toy",
    acr=TOY_ACR,
    level=1,
    amr=("otp",),
    router=toy_router,
    fragment="toy_login.html",
    scripts=("/static/toy.js",),
    page_context=_toy_page,
)


# The same toy, stronger than any built-in method: a request for its acr can be met by it alone.
STRONG_TOY_ACR = "urn:example:acr:strong-toy"
STRONG_TOY = LoginMethod(
    name="strong-toy",
    acr=STRONG_TOY_ACR,
    level=3,
    amr=("hwk",),
    router=APIRouter(),
    fragment="toy_login.html",
    page_context=_toy_page,
)


def _client_with(services: Services, method: LoginMethod) -> Iterator[TestClient]:
    pages.add_template_folder(Path(__file__).parent / "templates")
    app = create_app(services=services)
    login_methods.register(app, method)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def toy_client(services: Services) -> Iterator[TestClient]:
    yield from _client_with(services, TOY)


@pytest.fixture
def strong_toy_client(services: Services) -> Iterator[TestClient]:
    yield from _client_with(services, STRONG_TOY)


def test_a_registered_method_is_offered_on_the_login_page_in_registry_order(toy_client):
    page = toy_client.get("/login").text
    assert 'id="toy-section"' in page and "toy for civid" in page and '<script src="/static/toy.js"' in page
    assert page.index('id="passkey-section"') < page.index('id="face-section"') < page.index('id="toy-section"')
    assert toy_client.post("/login/toy").text == "toy login"  # its own router


def test_a_registered_method_acr_is_in_discovery(toy_client):
    meta = toy_client.get("/.well-known/openid-configuration").json()
    assert meta["acr_values_supported"] == [ACR_PASSKEY, ACR_FACE, TOY_ACR]


def test_registering_on_one_app_leaves_another_app_as_built(toy_client, services):
    with TestClient(create_app(services=services)) as plain:
        assert 'id="toy-section"' not in plain.get("/login").text
        assert plain.get("/.well-known/openid-configuration").json()["acr_values_supported"] == [ACR_PASSKEY, ACR_FACE]


def test_the_registry_answers_levels_from_its_methods():
    with_toy = BUILT_IN.with_method(TOY)
    assert [m.name for m in with_toy.allowed([ACR_PASSKEY])] == ["passkey"]
    assert [m.name for m in with_toy.allowed([TOY_ACR])] == ["passkey", "face", "toy"]
    assert with_toy.satisfies(ACR_FACE, [TOY_ACR]) and not with_toy.satisfies(TOY_ACR, [ACR_PASSKEY])
    with pytest.raises(ValueError):
        LoginMethods((TOY, TOY))


def test_a_request_for_a_registered_method_acr_requires_that_method(strong_toy_client, services, keys: Keys):
    client = strong_toy_client
    rp = portal(services)
    code_for(client, rp, enrol_citizen(client, keys))  # a face session
    url = location(authorize(client, rp, acr_values=STRONG_TOY_ACR))
    assert url.startswith("/login/")  # the face session does not satisfy it
    page = client.get(url).text
    assert 'id="toy-section"' in page
    assert 'id="passkey-section"' not in page and 'id="face-section"' not in page  # the toy method only
    silent = query_of(authorize(client, rp, acr_values=STRONG_TOY_ACR, prompt="none"))
    assert silent["error"] == "login_required"
