"""OpenID provider throughput: the token endpoint (refresh_token grant) and UserInfo under load, per
signing algorithm, and the time of a whole login flow without the human.

A real ``civid serve`` (uvicorn, one process, SQLite in a temporary folder unless ``--database-url``) is
started on loopback once per signing algorithm (``CIVID_SIGNING_ALG``: ID and access tokens both use it).
A person is enrolled through the officer API with a public-domain test photo; a portal is registered.

- Login flow: a fresh browser (httpx, no cookies) goes authorize → login page → face login (1:1 against
  the enrolled template) → consent → back to the portal → token request; timed per step, ``--flows`` times.
- Load: each connection holds its own refresh-token chain (each rotation returns the next token; reusing
  one would revoke the family) and POSTs ``grant_type=refresh_token`` for ``--duration`` seconds; then
  every connection GETs /userinfo with a live access token. The load generator is ``wrk`` (Debian
  package ``wrk``) when installed, else an asyncio httpx client with the same number of connections
  (``--load-generator``). On a small machine client and server share the cores: the figures are for
  the pair.

    python -m benchmarks.idp_throughput                      # ~1.5 min: 10 s per load run, 5 login flows
    python -m benchmarks.idp_throughput --duration 30 --connections 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import numpy as np

from benchmarks.common import (
    REPO_ROOT,
    add_common_arguments,
    bench_services,
    bench_settings,
    civid_server,
    console,
    err_console,
    machine,
    print_machine,
    save_result,
    table,
)
from tests.server import ServerProcess

NAME = "idp_throughput"
QUICK_ARGUMENTS = ["--duration", "5", "--flows", "3"]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
ENROL_PHOTO, LOGIN_PHOTO = "obama_2012_portrait.jpg", "obama_2010_blue_room.jpg"  # public domain (SOURCES.md)
REDIRECT_URI = "http://127.0.0.1:9/callback"  # never contacted: the flow stops at the redirect
CODE_VERIFIER = secrets.token_urlsafe(48)

WRK_DONE = """
function done(summary, latency, requests)
  io.write(string.format('WRK_JSON {"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,'
    .. '"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\\n', summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""
# One connection per wrk thread, each rotating its own chain: a shared token would be reused and revoked.
WRK_REFRESH = """
seeds = {%(seeds)s}
auth = "%(auth)s"
local next_seed = 0
function setup(thread)
  next_seed = next_seed + 1
  thread:set("rt", seeds[next_seed])
end
function request()
  return wrk.format("POST", "/token", {["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = auth}, "grant_type=refresh_token&refresh_token=" .. rt)
end
function response(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if status == 200 and token then rt = token end
end
"""


# --- the server -------------------------------------------------------------------------------------------
def serve(folder: Path, alg: str, database_url: str | None) -> AbstractContextManager[ServerProcess]:
    """``civid serve`` in a child process (``benchmarks.common.civid_server``), signing with ``alg``."""
    return civid_server(folder, f"serve-{alg}.log", database_url, CIVID_SIGNING_ALG=alg)


# --- setup: keys, a person, a portal -----------------------------------------------------------------------
def prepare(folder: Path, database_url: str | None) -> dict[str, str]:
    """Create the officer and admin keys in a fresh database; return their secrets."""
    from civid.audit import SYSTEM
    from civid.auth import create_api_key

    services = bench_services(bench_settings(folder, database_url))
    with services.sessions.begin() as session:
        keys = {role: create_api_key(session, f"bench {role}", role, SYSTEM)[1] for role in ("officer", "admin")}
    services.engine.dispose()
    return keys


def enrol_and_register(server: ServerProcess, keys: dict[str, str], uin: str | None) -> tuple[str, str, str]:
    """Enrol the test person (unless ``uin`` is already enrolled) and register a portal;
    return (uin, client_id, secret)."""
    with httpx.Client(base_url=server.url, timeout=60) as http:
        if uin is None:
            demographics = {
                "given_name": "Barack",
                "family_name": "Obama",
                "date_of_birth": "1961-08-04",
                "sex": "M",
                "place_of_birth": "Honolulu",
                "nationality": "USA",
                "email": "b@example.bz",
                "address": {"line1": "1 Main St", "locality": "Belmopan", "country": "BLZ"},
            }
            response = http.post(
                "/v1/enrolments",
                headers={"Authorization": f"Bearer {keys['officer']}"},
                data={"demographics": json.dumps(demographics)},
                files={"photos": (ENROL_PHOTO, (FIXTURES / ENROL_PHOTO).read_bytes(), "image/jpeg")},
            )
            response.raise_for_status()
            uin = response.json()["uin"]
        portal = http.post(
            "/v1/clients",
            headers={"Authorization": f"Bearer {keys['admin']}"},
            json={"name": "Benchmark portal", "redirect_uris": [REDIRECT_URI]},
        )
        portal.raise_for_status()
        return uin, portal.json()["client"]["client_id"], portal.json()["client_secret"]


# --- one login flow, timed per step ---------------------------------------------------------------------------
def _input(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    if not match:
        raise RuntimeError(f"no {name} on the page")
    return match.group(1)


def _login_photo(rng: np.random.Generator) -> bytes:
    """The login photo, re-encoded with one corner pixel changed: a replay check sees new bytes each time."""
    import io

    from PIL import Image

    rgb = np.asarray(Image.open(FIXTURES / LOGIN_PHOTO).convert("RGB")).copy()
    rgb[0, 0] = rng.integers(0, 256, 3)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def login_flow(
    server: ServerProcess,
    uin: str,
    client_id: str,
    secret: str,
    photo: bytes,
    browser: httpx.Client | None = None,
    prompt: str | None = None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """authorize → login → face → consent → callback → token; return seconds per step and the tokens.
    With a ``browser`` that already has a session the login (and remembered consent) are skipped (SSO)."""
    import base64
    import hashlib

    challenge = base64.urlsafe_b64encode(hashlib.sha256(CODE_VERIFIER.encode()).digest()).rstrip(b"=").decode()
    steps: dict[str, float] = {}
    own = browser is None
    browser = browser or httpx.Client(base_url=server.url, timeout=60, follow_redirects=False)

    def timed(step: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        response = browser.request(method, url, **kwargs)
        steps[step] = steps.get(step, 0.0) + time.perf_counter() - started
        return response

    response = timed(
        "authorize",
        "GET",
        "/authorize",
        params={
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid profile",
            "state": "s",
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **({"prompt": prompt} if prompt else {}),
        },
    )
    for _ in range(8):
        location = urljoin(server.url, response.headers["location"])
        if location.startswith(REDIRECT_URI):
            break
        page_step = "consent page" if "/consent/" in location else "login page" if "/login/" in location else "resume"
        page = timed(page_step, "GET", location)
        if page.status_code in (302, 303):
            response = page
            continue
        if 'id="face-form"' in page.text:
            action = re.search(r'<form[^>]*action="([^"]+)"[^>]*id="face-form"', page.text).group(1)  # type: ignore[union-attr]
            response = timed(
                "face login",
                "POST",
                action,
                data={
                    "csrf_token": _input(page.text, "csrf_token"),
                    "challenge": _input(page.text, "challenge"),
                    "uin": uin,
                },
                files={"photo": ("face.jpg", photo, "image/jpeg")},
            )
        else:
            action = re.search(r'<form method="post" action="(/consent/[^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            response = timed(
                "consent", "POST", action, data={"csrf_token": _input(page.text, "csrf_token"), "decision": "approve"}
            )
        if response.status_code not in (302, 303):
            raise RuntimeError(f"login flow stopped at {location}: {response.status_code} {response.text[:300]}")
    code = parse_qs(urlsplit(location).query)["code"][0]
    tokens = timed(
        "token",
        "POST",
        "/token",
        auth=(client_id, secret),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": CODE_VERIFIER,
        },
    )
    tokens.raise_for_status()
    if own:
        browser.close()
    return steps, tokens.json()


# --- load generators --------------------------------------------------------------------------------------------
def run_wrk(url: str, path: str, script: str, connections: int, duration: int, headers: dict[str, str]) -> dict:
    """wrk with one connection per thread and a Lua script; the done() hook prints the figures as JSON."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script + WRK_DONE)
    try:
        command = [
            "wrk",
            f"-t{connections}",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            handle.name,
            *[part for k, v in headers.items() for part in ("-H", f"{k}: {v}")],
            url + path,
        ]
        output = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60).stdout
    finally:
        os.unlink(handle.name)
    raw = json.loads(next(line for line in output.splitlines() if line.startswith("WRK_JSON "))[9:])
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "errors": raw["status_errors"] + raw["socket_errors"],
    }


async def _python_load(url: str, connections: int, duration: int, make_request: Any) -> dict:
    """asyncio + httpx: ``connections`` workers, each sending its next request when the last is answered."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration

    async def worker(index: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    ok = await make_request(http, index)
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += 0 if ok else 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(connections)))
    elapsed = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "errors": errors,
    }


def load_refresh(generator: str, url: str, seeds: list[str], client_id: str, secret: str, duration: int) -> dict:
    """The refresh_token grant under load, one rotating chain per connection."""
    import base64

    auth = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    if generator == "wrk":
        script = WRK_REFRESH % {"seeds": ", ".join(f'"{s}"' for s in seeds), "auth": auth}
        return run_wrk(url, "/token", script, len(seeds), duration, {})
    chains = list(seeds)

    async def refresh(http: httpx.AsyncClient, index: int) -> bool:
        response = await http.post(
            "/token",
            headers={"Authorization": auth},
            data={"grant_type": "refresh_token", "refresh_token": chains[index]},
        )
        if response.status_code == 200:
            chains[index] = response.json()["refresh_token"]
        return response.status_code == 200

    return asyncio.run(_python_load(url, len(seeds), duration, refresh))


def load_userinfo(generator: str, url: str, access_token: str, connections: int, duration: int) -> dict:
    """GET /userinfo with one live access token on every connection."""
    headers = {"Authorization": f"Bearer {access_token}"}
    if generator == "wrk":
        return run_wrk(url, "/userinfo", "", connections, duration, headers)

    async def userinfo(http: httpx.AsyncClient, index: int) -> bool:
        return (await http.get("/userinfo", headers=headers)).status_code == 200

    return asyncio.run(_python_load(url, connections, duration, userinfo))


# --- the benchmark ---------------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    generator = args.load_generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "python"
    rng = np.random.default_rng(args.seed)
    rows, flows = [], []
    uin: str | None = None
    with tempfile.TemporaryDirectory(prefix="civid-idp-bench-") as tmp:
        folder = Path(tmp)
        keys = prepare(folder, args.database_url)
        for alg in args.algs:
            with serve(folder, alg, args.database_url) as server:
                uin, client_id, secret = enrol_and_register(server, keys, uin)
                err_console.print(f"[dim]{alg}: {args.flows} login flows[/]")
                for _ in range(args.flows):
                    # A fresh browser (no session) and prompt=consent: every step happens every time.
                    steps, tokens = login_flow(server, uin, client_id, secret, _login_photo(rng), prompt="consent")
                    flows.append({"alg": alg, "total_s": sum(steps.values()), **steps})
                # One refresh-token chain per connection (SSO: the browser signs in once).
                with httpx.Client(base_url=server.url, timeout=60, follow_redirects=False) as browser:
                    seeds, access = [], None
                    for index in range(args.connections):
                        photo = _login_photo(rng) if index == 0 else b""
                        _, tokens = login_flow(server, uin, client_id, secret, photo, browser)
                        seeds.append(tokens["refresh_token"])
                        access = tokens["access_token"]
                err_console.print(f"[dim]{alg}: token endpoint and userinfo, {args.duration} s each ({generator})[/]")
                refresh = load_refresh(generator, server.url, seeds, client_id, secret, args.duration)
                rows.append({"endpoint": "token refresh", "alg": alg, **refresh})
                userinfo = load_userinfo(generator, server.url, access, args.connections, args.duration)
                rows.append({"endpoint": "userinfo", "alg": alg, **userinfo})
    for row in rows:
        for key in ("rps", "p50_ms", "p99_ms"):
            row[key] = round(row[key], 2)
    flow_summary = {}
    for alg in args.algs:
        mine = [f for f in flows if f["alg"] == alg]
        steps = [k for k in mine[0] if k not in ("alg", "total_s")]
        flow_summary[alg] = {
            "flows": len(mine),
            "median_s": round(statistics.median(f["total_s"] for f in mine), 3),
            "max_s": round(max(f["total_s"] for f in mine), 3),
            "median_step_s": {s: round(statistics.median(f.get(s, 0.0) for f in mine), 3) for s in steps},
        }
    record = {
        "load_generator": generator,
        "connections": args.connections,
        "duration_s": args.duration,
        "database": "postgresql" if args.database_url else "sqlite",
        "server": "civid serve (uvicorn, 1 process)",
        "throughput": rows,
        "login_flow": flow_summary,
    }
    console.print(
        table(
            f"OpenID provider under load: {args.connections} connections, {args.duration} s each, "
            f"{generator}, {record['database']}",
            ["endpoint", "alg", "req/s", "p50 ms", "p99 ms", "requests", "errors"],
            [[r["endpoint"], r["alg"], r["rps"], r["p50_ms"], r["p99_ms"], r["requests"], r["errors"]] for r in rows],
        )
    )
    step_names = list(next(iter(flow_summary.values()))["median_step_s"])
    algs = list(flow_summary)
    console.print(
        table(
            "Login flow without the human (fresh browser, prompt=consent), median seconds per step",
            ["step", *algs],
            [
                *[[n, *[flow_summary[a]["median_step_s"][n] for a in algs]] for n in step_names],
                ["total (median)", *[flow_summary[a]["median_s"] for a in algs]],
                ["total (max)", *[flow_summary[a]["max_s"] for a in algs]],
                ["flows", *[flow_summary[a]["flows"] for a in algs]],
            ],
        )
    )
    return save_result(NAME, record, save=not args.no_save)


def summary_line(record: dict[str, Any]) -> str:
    """One line for benchmarks/run.py."""
    parts = [
        f"{r['endpoint']} {r['alg']} {r['rps']:.0f} req/s (p99 {r['p99_ms']:.0f} ms)" for r in record["throughput"]
    ]
    flow = "; ".join(f"login flow {alg} {s['median_s']:.2f} s" for alg, s in record["login_flow"].items())
    return ", ".join(parts) + "; " + flow


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(result)
    result.add_argument("--duration", type=int, default=10, help="seconds per load run")
    result.add_argument("--connections", type=int, default=8, help="concurrent connections of the load generator")
    result.add_argument("--flows", type=int, default=5, help="timed login flows per signing algorithm")
    result.add_argument("--algs", type=lambda text: text.split(","), default=["ES256", "RS256"])
    result.add_argument("--load-generator", choices=("auto", "wrk", "python"), default="auto")
    result.add_argument(
        "--database-url",
        default=None,
        help="e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test (default: SQLite in the temporary folder)",
    )
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parser().parse_args(argv)
    print_machine(machine())
    return run(args)


if __name__ == "__main__":
    main()
