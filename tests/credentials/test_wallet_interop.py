"""An independent wallet receives civid's PID: OpenWallet Foundation's ``@openid4vc/openid4vci`` (oid4vc-ts, by Animo;
Node, from the npm registry) resolves the officer's credential offer and civid's issuer metadata, redeems the
pre-authorized code with the transaction code, fetches a c_nonce, signs a key proof and retrieves the credential from
a real ``civid serve``; the ``sd-jwt`` package then checks it against civid's published keys.

The library lives in ``tests/credentials/interop/node_modules`` (git-ignored; ``npm ci --prefix
tests/credentials/interop``, which ``.ci/run`` should do); elsewhere the test skips when Node or the package is
missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

from server.services import build_services
from tests.conftest import add_keys, enrol, make_settings
from tests.credentials.issuance_flow import holder_view
from tests.server import ServerProcess

INTEROP = Path(__file__).with_name("interop")
SCRIPT = INTEROP / "pre_authorized_wallet.mjs"
NODE = shutil.which("node")
_missing = NODE is None or not (INTEROP / "node_modules" / "@openid4vc" / "openid4vci").is_dir()
if _missing and os.environ.get("CI"):
    raise RuntimeError("CI needs node and @openid4vc/openid4vci (npm ci --prefix tests/credentials/interop)")
pytestmark = pytest.mark.skipif(
    _missing, reason="needs node and @openid4vc/openid4vci (npm ci --prefix tests/credentials/interop)"
)


def test_oid4vc_ts_wallet_receives_the_pid_through_the_pre_authorized_code_flow(tmp_path: Path) -> None:
    assert NODE is not None
    server = ServerProcess({"CIVID_DATA_DIR": str(tmp_path / "var")}, tmp_path / "server.log")
    url = f"http://localhost:{server.port}"  # a name, not an IP address: civid serve refuses those as issuer
    server.env["CIVID_ISSUER"] = url
    services = build_services(make_settings(tmp_path, issuer=url), open_gallery=False)
    try:
        keys = add_keys(services)
    finally:
        services.close()
    server.start(timeout=120)
    try:
        with httpx.Client(base_url=url, timeout=120) as http:  # the officer's enrolment, over HTTP
            enrolled = enrol(http, keys.officer, ["obama_2012_portrait.jpg"], given_name="Barack", family_name="Obama")
        assert enrolled.status_code == 201, enrolled.text
        uin = enrolled.json()["uin"]
        offer = httpx.post(f"{url}/v1/identities/{uin}/wallet-offers", headers=keys.officer, timeout=30)
        assert offer.status_code == 201, offer.text
        argument = json.dumps({"offer_link": offer.json()["offer_link"], "tx_code": offer.json()["tx_code"]})
        ran = subprocess.run(
            [NODE, str(SCRIPT), argument], cwd=INTEROP, capture_output=True, text=True, timeout=120, check=False
        )
        assert ran.returncode == 0, ran.stderr + ran.stdout
        result = json.loads(ran.stdout)
        assert result["configuration_ids"] == ["civid_pid_sd_jwt"] and result["token_type"] == "Bearer"
        payload = holder_view(result["credential"]).sd_jwt_payload
        assert payload["iss"] == url and payload["vct"] == "urn:civid:vct:pid:1"
        assert payload["cnf"] == {"jwk": result["public_jwk"]}  # bound to the library's key
        jwks = httpx.get(httpx.get(url + "/.well-known/jwt-vc-issuer").json()["jwks_uri"]).json()

        def issuer_key(issuer: str, header: dict) -> JWK:
            return JWK(**next(k for k in jwks["keys"] if k["kid"] == header["kid"]))

        verified = SDJWTVerifier(result["credential"], issuer_key).get_verified_payload()
        assert verified["family_name"] == "Obama" and verified["age_equal_or_over"] == {"18": True}
    finally:
        server.stop()
