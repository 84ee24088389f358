"""An independent DPoP client against a real ``civid serve``: panva's openid-client 6 (Node, from the npm registry
through ``.ci/run``) pushes the authorization request with a DPoP proof, the citizen signs in with their face and
consents (driven here over HTTP, the pages parsed as a browser would), and the library redeems the code,
calls UserInfo, refreshes and calls UserInfo again, all with DPoP proofs — civid requiring server nonces and a
client registered to require DPoP, so the library's nonce retry is exercised at every endpoint.

CI runs it (``.ci/run`` installs openid-client); elsewhere it skips when Node or the package is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx
import jwt
import pytest
from joserfc.jwk import JWKRegistry
from sqlalchemy import select

from civid.audit import SYSTEM
from idp import clients
from models import AuthorizationCode
from server.services import build_services
from tests.conftest import add_keys, enrol, make_settings
from tests.idp.authlib_flow import page_input
from tests.idp.frontchannel import fresh_photo
from tests.server import REPO, ServerProcess, free_port

NODE_MODULES = REPO / ".ci" / "node" / "node_modules"
SCRIPT = Path(__file__).with_name("openid_client_dpop.mjs")
NODE = shutil.which("node")
_missing = NODE is None or not (NODE_MODULES / "openid-client").is_dir()
if _missing and os.environ.get("CI"):
    raise RuntimeError("CI needs node and openid-client in .ci/node (.ci/run installs them)")
pytestmark = pytest.mark.skipif(
    _missing, reason="needs node and openid-client 6 in .ci/node (npm install --prefix .ci/node openid-client@6)"
)


@dataclass(frozen=True)
class Civid:
    server: ServerProcess
    url: str
    root: Path
    client_id: str
    secret: str
    redirect_uri: str
    uin: str


@pytest.fixture(scope="module")
def civid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Civid]:
    """``civid serve`` requiring DPoP nonces, a portal registered to require DPoP, one person enrolled over HTTP."""
    root = tmp_path_factory.mktemp("openid-client-dpop")
    server = ServerProcess(
        {"CIVID_DATA_DIR": str(root / "var"), "CIVID_DPOP_REQUIRE_NONCE": "true"}, root / "server.log"
    )
    url = f"http://localhost:{server.port}"  # a name, not an IP address: civid serve refuses those as issuer
    server.env["CIVID_ISSUER"] = url
    redirect_uri = f"http://localhost:{free_port()}/callback"  # nothing listens: the test reads the redirect
    services = build_services(make_settings(root, issuer=url), open_gallery=False)
    try:
        keys = add_keys(services)
        with services.sessions.begin() as db:
            row, secret = clients.register(
                db,
                clients.ClientMetadata(name="FAPI bank", redirect_uris=[redirect_uri], require_dpop=True),
                SYSTEM,
            )
            client_id = row.client_id
    finally:
        services.close()
    server.start(timeout=120)
    try:
        with httpx.Client(base_url=url, timeout=120) as http:  # the officer's enrolment, over HTTP
            enrolled = enrol(http, keys.officer, ["obama_2012_portrait.jpg"], given_name="Barack", family_name="Obama")
        assert enrolled.status_code == 201, enrolled.text
        assert secret is not None
        yield Civid(server, url, root, client_id, secret, redirect_uri, enrolled.json()["uin"])
    finally:
        server.stop()


def sign_in(civid: Civid, authorize_url: str) -> str:
    """The citizen's browser: authorization URL → face login → consent → the portal's callback URL."""
    with httpx.Client(timeout=120) as browser:
        url = authorize_url
        for _ in range(12):
            response = browser.get(url, follow_redirects=False)
            if response.status_code in (302, 303):
                url = urljoin(civid.url, response.headers["location"])
                if url.startswith(civid.redirect_uri):
                    return url
                continue
            assert response.status_code == 200, response.text[:800]
            page = response.text
            if 'id="face-form"' in page:
                action = re.search(r'<form[^>]*action="([^"]+)"[^>]*id="face-form"', page)
                assert action
                posted = browser.post(
                    urljoin(civid.url, action.group(1)),
                    data={
                        "csrf_token": page_input(page, "csrf_token"),
                        "challenge": page_input(page, "challenge"),
                        "uin": civid.uin,
                    },
                    files={"photo": fresh_photo()},
                    follow_redirects=False,
                )
            else:
                action = re.search(r'<form method="post" action="(/consent/[^"]+)"', page)
                assert action and 'name="decision"' in page, page[:800]
                posted = browser.post(
                    urljoin(civid.url, action.group(1)),
                    data={"csrf_token": page_input(page, "csrf_token"), "decision": "approve"},
                    follow_redirects=False,
                )
            assert posted.status_code in (302, 303), posted.text[:800]
            url = urljoin(civid.url, posted.headers["location"])
            if url.startswith(civid.redirect_uri):
                return url
    raise AssertionError("the sign-in did not come back to the portal")


def test_openid_client_does_par_code_refresh_and_userinfo_with_dpop(civid: Civid) -> None:
    assert NODE is not None
    rp = subprocess.Popen(
        [
            NODE,
            "--dns-result-order=ipv4first",
            str(SCRIPT),
            str(NODE_MODULES),
            civid.url,
            civid.client_id,
            civid.secret,
            civid.redirect_uri,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert rp.stdout is not None and rp.stdin is not None
        first = rp.stdout.readline()
        assert first, rp.communicate(timeout=30)[1]
        started = json.loads(first)
        jkt = JWKRegistry.import_key(started["jwk"]).thumbprint()  # RFC 7638, joserfc's reckoning
        assert "request_uri=" in started["authorize"]  # PAR: the browser carries only client_id and request_uri
        callback = sign_in(civid, started["authorize"])
        out, err = rp.communicate(callback + "\n", timeout=120)
        assert rp.returncode == 0, err
    finally:
        if rp.poll() is None:
            rp.kill()
    result = json.loads(out.strip().splitlines()[-1])

    assert result["token_type"].lower() == "dpop" and result["refreshed_token_type"].lower() == "dpop"
    jwks = jwt.PyJWKClient(civid.url + "/jwks.json")
    for token in (result["access_token"], result["refreshed_access_token"]):
        claims = jwt.decode(
            token, jwks.get_signing_key_from_jwt(token).key, algorithms=["ES256", "RS256"], audience=civid.url
        )
        assert claims["cnf"] == {"jkt": jkt}  # bound to the library's key (RFC 9449 §6.1)
    assert result["userinfo"]["sub"] == result["sub"] and result["userinfo"]["given_name"] == "Barack"
    assert result["userinfo_after_refresh"]["sub"] == result["sub"]
    assert result["refresh_token_rotated"]
    assert result["as_bearer"]["accepted"] is False, result["as_bearer"]
    log = (civid.root / "server.log").read_text()
    # The first proof had no nonce: civid asked for one (use_dpop_nonce) and the library retried with it.
    assert '"POST /par HTTP/1.1" 400' in log and '"POST /par HTTP/1.1" 201' in log
    assert '"GET /userinfo HTTP/1.1" 401' in log  # the bound token presented as a bearer token

    # The PAR proof bound the code to the same key (RFC 9449 §10.1).
    services = build_services(make_settings(civid.root, issuer=civid.url), open_gallery=False)
    try:
        with services.sessions() as db:
            bound = db.scalars(select(AuthorizationCode.dpop_jkt).where(AuthorizationCode.client_id == civid.client_id))
            assert list(bound) == [jkt]
    finally:
        services.close()
