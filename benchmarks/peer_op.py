"""The reference OpenID provider civid's throughput is compared with: node-oidc-provider 9 (panva's certified
OP) started from ``benchmarks/peer/start.mjs``, and a browser's way through its development login and consent.

The library is installed from the npm registry into ``benchmarks/peer/node_modules`` (gitignored) by
``npm ci --prefix benchmarks/peer`` (the version is pinned in ``benchmarks/peer/package.json``); nothing is
fetched while the benchmark runs. What it is configured to do, and where it cannot match civid: start.mjs.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from benchmarks.common import BENCH_DIR
from tests.server import free_port

PEER_DIR = BENCH_DIR / "peer"
REDIRECT_URI = "http://127.0.0.1:9/callback"  # as in start.mjs; never contacted
OPAQUE_CLIENT, JWT_CLIENT = "bench-opaque", "bench-jwt"
API_RESOURCE = "urn:civid:bench-api"


class PeerMissing(SystemExit):
    """node or the installed library is absent: a message and exit code 2."""

    def __init__(self, message: str) -> None:
        from benchmarks.common import err_console

        err_console.print(f"[bold red]peer OP missing:[/] {message}")
        super().__init__(2)


@dataclass
class PeerProcess:
    """A running node-oidc-provider on loopback."""

    url: str
    secret: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


def missing() -> str | None:
    """Why the peer cannot run here (None: it can)."""
    if shutil.which("node") is None:
        return "node is not installed (Debian package nodejs)"
    if not (PEER_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        return f"run `npm ci --prefix {PEER_DIR.relative_to(BENCH_DIR.parent)}` once to install it"
    return None


def installed_version() -> str:
    """The installed oidc-provider version (raise ``PeerMissing`` when it is not installed)."""
    import json

    reason = missing()
    if reason is not None:
        raise PeerMissing(reason)
    return str(json.loads((PEER_DIR / "node_modules" / "oidc-provider" / "package.json").read_text())["version"])


@contextmanager
def peer_server(log_path: Path) -> Iterator[PeerProcess]:
    """node-oidc-provider in a child process, answering once its discovery document does; stopped on leaving."""
    installed_version()
    port, secret = free_port(), secrets.token_urlsafe(24)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            ["node", str(PEER_DIR / "start.mjs"), str(port), secret], cwd=PEER_DIR, stdout=log, stderr=log
        )
    peer = PeerProcess(f"http://localhost:{port}", secret, process)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the peer OP exited:\n{log_path.read_text()[-2000:]}")
            try:
                if httpx.get(peer.url + "/.well-known/openid-configuration", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the peer OP did not start:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        yield peer
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def login(peer: PeerProcess, browser: httpx.Client, client_id: str) -> dict:
    """authorize (prompt=consent, offline_access) → dev login → dev consent → code → tokens, for ``client_id``."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        # offline_access (with prompt=consent, OIDC Core §11) is how this library is asked for a refresh token.
        "scope": "openid profile offline_access" + (" api" if client_id == JWT_CLIENT else ""),
        "prompt": "consent",
        "state": "s",
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if client_id == JWT_CLIENT:
        params["resource"] = API_RESOURCE  # RFC 8707: its access tokens are JWTs for this resource server
    response = browser.get(peer.url + "/auth", params=params)
    for _ in range(10):
        location = urljoin(peer.url, response.headers["location"])
        if location.startswith(REDIRECT_URI):
            break
        page = browser.get(location)
        if page.status_code in (302, 303):
            response = page
            continue
        prompt = re.search(r'name="prompt" value="([a-z]+)"', page.text)
        action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
        if prompt is None or action is None:
            raise RuntimeError(f"the peer's interaction page has no form: {page.text[:300]}")
        form = {"prompt": prompt.group(1)}
        if prompt.group(1) == "login":
            form |= {"login": "bench-person", "password": "any"}
        response = browser.post(urljoin(location, action.group(1)), data=form)
        if response.status_code not in (302, 303):
            raise RuntimeError(f"the peer's {prompt.group(1)} stopped: {response.status_code} {response.text[:300]}")
    else:
        raise RuntimeError("the peer's login did not come back to the redirect URI")
    code = parse_qs(urlsplit(location).query)["code"][0]
    tokens = browser.post(
        peer.url + "/token",
        auth=(client_id, peer.secret),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
    )
    tokens.raise_for_status()
    return tokens.json()


def seeds(peer: PeerProcess, client_id: str, connections: int) -> tuple[list[str], str]:
    """One refresh-token chain per connection (one browser, signed in once) and a live access token."""
    chains, access = [], ""
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        for _ in range(connections):
            tokens = login(peer, browser, client_id)
            chains.append(tokens["refresh_token"])
            access = tokens["access_token"]
    return chains, access
