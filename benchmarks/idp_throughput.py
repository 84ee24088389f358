"""OpenID provider throughput against the reference OP: the token endpoint (refresh_token grant) and UserInfo
under load, civid and node-oidc-provider 9 measured alternately in one run, and the time of a whole login flow.

A real ``civid serve`` (uvicorn, ``--workers`` processes, SQLite in a temporary folder unless
``--database-url``) is started on loopback. A person is enrolled through the officer API with a public-domain
test photo; a portal is registered. The peer is node-oidc-provider (``benchmarks/peer``: ES256, refresh tokens
rotated on every use, confidential clients with the same grants, its development login and consent, its
in-memory store); ``npm ci --prefix benchmarks/peer`` installs it once.

- Login flow: a fresh browser (httpx, no cookies) goes authorize → login page → face login (1:1 against
  the enrolled template) → consent → back to the portal → token request; timed per step, ``--flows`` times.
- Load, ``--rounds`` times, alternately: civid's refresh grant, the peer's (with JWT access tokens, as civid
  issues, then with its default opaque ones), civid's UserInfo, the peer's. Each connection holds its own
  refresh-token chain (each rotation returns the next token; reusing one would revoke the family), fresh each
  round. The load generator is ``wrk`` (Debian package ``wrk``) when installed, else an asyncio httpx client
  (``--load-generator``). Client and servers share the cores: the figures are for the pair, hence ratios.
- Not like for like, whatever the configuration: the peer keeps every token in process memory (an LRU of
  1,000 objects: nothing survives a restart or is shared between processes) where civid commits each one to
  its database before answering; its UserInfo accepts only its opaque tokens (a database-free lookup), civid's
  JWT access tokens are verified (ES256) and checked against their grant; civid's UserInfo also records the
  release of person data, and audits every token issued.

    python -m benchmarks.idp_throughput                      # ~3 min: 3 rounds of 10 s per load run
    python -m benchmarks.idp_throughput --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test --workers 2
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
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import numpy as np

from benchmarks import peer_op
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
    progress,
    save_result,
    table,
)
from tests.server import ServerProcess

NAME = "idp_throughput"
QUICK_ARGUMENTS = ["--duration", "5", "--flows", "2", "--rounds", "2"]
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
def serve(
    folder: Path, alg: str, database_url: str | None, args: list[str] | None = None
) -> AbstractContextManager[ServerProcess]:
    """``civid serve`` in a child process (``benchmarks.common.civid_server``), signing with ``alg``; ``args``
    after ``serve`` (e.g. ``--workers 2``)."""
    return civid_server(folder, f"serve-{alg}.log", database_url, args or [], CIVID_SIGNING_ALG=alg)


@contextmanager
def own_schema(database_url: str | None) -> Iterator[str | None]:
    """A PostgreSQL URL whose connections use a fresh schema of their own (dropped afterwards), so that a run never
    meets an earlier run's person (a second enrolment of one face is a duplicate case, not a UIN); SQLite: None."""
    if database_url is None:
        yield None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = "civid_bench_" + secrets.token_hex(4)
    admin = create_engine(database_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            make_url(database_url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


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


def load_userinfo(
    generator: str, url: str, access_token: str, connections: int, duration: int, path: str = "/userinfo"
) -> dict:
    """GET UserInfo (civid's /userinfo, the peer's /me) with one live access token on every connection."""
    headers = {"Authorization": f"Bearer {access_token}"}
    if generator == "wrk":
        return run_wrk(url, path, "", connections, duration, headers)

    async def userinfo(http: httpx.AsyncClient, index: int) -> bool:
        return (await http.get(path, headers=headers)).status_code == 200

    return asyncio.run(_python_load(url, connections, duration, userinfo))


# --- the benchmark ---------------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and every process below it (uvicorn's workers), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        todo.extend(children.get(current, []))
    return total


def measured(pid: int, load: Callable[[], dict]) -> dict:
    """Run one load, adding the server's CPU milliseconds per request and the machine's 1-minute load average."""
    before = cpu_seconds(pid)
    result = load()
    result["server_cpu_ms_per_request"] = 1000 * (cpu_seconds(pid) - before) / max(1, result["requests"])
    result["load_average_1m"] = os.getloadavg()[0]
    return result


def civid_seeds(
    server: ServerProcess, browser: httpx.Client, uin: str, client_id: str, secret: str, connections: int, photo: bytes
) -> tuple[list[str], str]:
    """One fresh refresh-token chain per connection and a live access token; ``browser`` signs in with the face
    ``photo`` the first time and then by single sign-on (a face photo is refused a second time: replay)."""
    chains, access = [], ""
    for _ in range(connections):
        _, tokens = login_flow(server, uin, client_id, secret, photo, browser)
        chains.append(tokens["refresh_token"])
        access = tokens["access_token"]
    return chains, access


def run(args: argparse.Namespace) -> dict[str, Any]:
    generator = args.load_generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "python"
    rng = np.random.default_rng(args.seed)
    if args.peer and peer_op.missing() and not args.require_peer:
        # benchmarks/run.py runs this on machines without node: civid alone then, said on stderr.
        err_console.print(f"[yellow]the peer OP is not installed, measuring civid alone:[/] {peer_op.missing()}")
        args.peer = False
    peer_version = peer_op.installed_version() if args.peer else None
    rows, flows = [], []
    uin: str | None = None
    workers = ["--workers", str(args.workers)] if args.workers > 1 else []
    with tempfile.TemporaryDirectory(prefix="civid-idp-bench-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        database_url = stack.enter_context(own_schema(args.database_url))
        keys = prepare(folder, database_url)
        alg = args.algs[0]
        peer = stack.enter_context(peer_op.peer_server(folder / "peer.log")) if args.peer else None
        for flow_alg in args.algs:
            with serve(folder, flow_alg, database_url, workers) as server:
                uin, client_id, secret = enrol_and_register(server, keys, uin)
                err_console.print(f"[dim]{flow_alg}: {args.flows} login flows[/]")
                for _ in range(args.flows):
                    # A fresh browser (no session) and prompt=consent: every step happens every time.
                    steps, _ = login_flow(server, uin, client_id, secret, _login_photo(rng), prompt="consent")
                    flows.append({"alg": flow_alg, "total_s": sum(steps.values()), **steps})
        server = stack.enter_context(serve(folder, alg, database_url, workers))
        uin, client_id, secret = enrol_and_register(server, keys, uin)
        pid = server.process.pid if server.process else 0
        assert uin is not None
        # Alternately, round after round, so that whatever else loads the machine loads both alike; fresh chains
        # each round (a rotation in flight when a load run stops would make its chain's next use a reuse).
        browser = stack.enter_context(httpx.Client(base_url=server.url, timeout=60, follow_redirects=False))
        photo = _login_photo(rng)
        with progress() as bar:
            task = bar.add_task("civid and the peer, alternately", total=args.rounds)

            def add(system: str, endpoint: str, process: int, load: Callable[..., dict], *load_args: Any) -> None:
                result = measured(process, partial(load, generator, *load_args))
                rows.append({"system": system, "endpoint": endpoint, **result})

            for round_number in range(args.rounds):
                chains, access = civid_seeds(server, browser, uin, client_id, secret, args.connections, photo)
                add("civid", "token refresh", pid, load_refresh, server.url, chains, client_id, secret, args.duration)
                if peer is not None:
                    for peer_client, label in ((peer_op.JWT_CLIENT, "peer jwt-at"), (peer_op.OPAQUE_CLIENT, "peer")):
                        peer_chains, _ = peer_op.seeds(peer, peer_client, args.connections)
                        add(
                            label,
                            "token refresh",
                            peer.pid,
                            load_refresh,
                            peer.url,
                            peer_chains,
                            peer_client,
                            peer.secret,
                            args.duration,
                        )
                add("civid", "userinfo", pid, load_userinfo, server.url, access, args.connections, args.duration)
                if peer is not None:
                    # A token of its own, just issued: the library's in-memory store keeps only the last 1,000
                    # objects, and the refresh runs have pushed the earlier logins' tokens out of it.
                    _, peer_access = peer_op.seeds(peer, peer_op.OPAQUE_CLIENT, 1)
                    add(
                        "peer",
                        "userinfo",
                        peer.pid,
                        partial(load_userinfo, path="/me"),
                        peer.url,
                        peer_access,
                        args.connections,
                        args.duration,
                    )
                for row in rows:
                    row.setdefault("round", round_number)
                bar.advance(task)
    summary = summarise(rows)
    flow_summary = {}
    for flow_alg in args.algs:
        mine = [f for f in flows if f["alg"] == flow_alg]
        if not mine:
            continue
        steps = [k for k in mine[0] if k not in ("alg", "total_s")]
        flow_summary[flow_alg] = {
            "flows": len(mine),
            "median_s": round(statistics.median(f["total_s"] for f in mine), 3),
            "max_s": round(max(f["total_s"] for f in mine), 3),
            "median_step_s": {s: round(statistics.median(f.get(s, 0.0) for f in mine), 3) for s in steps},
        }
    record = {
        "load_generator": generator,
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "alg": alg,
        "database": "postgresql" if args.database_url else "sqlite",
        "server": f"civid serve (uvicorn, {args.workers} worker process{'es' if args.workers > 1 else ''})",
        "peer": f"node-oidc-provider {peer_version} (in-memory adapter, node {node_version()})"
        if peer_version
        else None,
        "summary": summary,
        "rounds_measured": [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in rows],
        "login_flow": flow_summary,
    }
    print_tables(record)
    return save_result(NAME, record, save=not args.no_save)


def node_version() -> str:
    """The node that runs the peer."""
    return subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()


def summarise(rows: list[dict]) -> list[dict]:
    """Per system and endpoint: requests over all rounds / seconds, median p50 and p99 of the rounds, server CPU
    per request; and civid's ratio to the peer's opaque-token figures (refresh: also to its JWT access tokens)."""
    out = []
    for endpoint in ("token refresh", "userinfo"):
        systems = dict.fromkeys(r["system"] for r in rows if r["endpoint"] == endpoint)
        for system in systems:
            mine = [r for r in rows if r["endpoint"] == endpoint and r["system"] == system]
            out.append(
                {
                    "endpoint": endpoint,
                    "system": system,
                    "rps": round(statistics.median(r["rps"] for r in mine), 1),
                    "p50_ms": round(statistics.median(r["p50_ms"] for r in mine), 2),
                    "p99_ms": round(statistics.median(r["p99_ms"] for r in mine), 2),
                    "server_cpu_ms": round(statistics.median(r["server_cpu_ms_per_request"] for r in mine), 2),
                    "requests": sum(r["requests"] for r in mine),
                    "errors": sum(r["errors"] for r in mine),
                    "load_average_1m": round(max(r["load_average_1m"] for r in mine), 2),
                }
            )
    for row in out:
        if row["system"] == "civid":
            for peer in (p for p in out if p["endpoint"] == row["endpoint"] and p["system"] != "civid"):
                row[f"ratio_to_{peer['system'].replace(' ', '_')}"] = round(row["rps"] / max(peer["rps"], 1e-9), 3)
    return out


def print_tables(record: dict[str, Any]) -> None:
    """The comparison and the login-flow tables on stdout."""
    rows = record["summary"]
    console.width = max(console.width, 170)  # the ratios are the point: never wrapped away when piped
    ratio_columns = sorted({k for r in rows for k in r if k.startswith("ratio_to_")})
    console.print(
        table(
            f"OpenID provider under load: civid ({record['server']}, {record['database']}, {record['alg']}) vs "
            f"{record['peer'] or 'no peer'}; {record['connections']} connections, {record['rounds']} alternating "
            f"rounds of {record['duration_s']} s, {record['load_generator']}",
            [
                "endpoint",
                "system",
                "req/s",
                "p50 ms",
                "p99 ms",
                "server CPU ms/req",
                "requests",
                "errors",
                "load avg",
                *[c.replace("ratio_to_", "civid/") for c in ratio_columns],
            ],
            [
                [
                    r["endpoint"],
                    r["system"],
                    r["rps"],
                    r["p50_ms"],
                    r["p99_ms"],
                    r["server_cpu_ms"],
                    r["requests"],
                    r["errors"],
                    r["load_average_1m"],
                    *[r.get(c, "") for c in ratio_columns],
                ]
                for r in rows
            ],
        )
    )
    flow_summary = record["login_flow"]
    if not flow_summary:
        return
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


def summary_line(record: dict[str, Any]) -> str:
    """One line for benchmarks/run.py."""
    parts = []
    for r in record["summary"]:
        ratio = next((v for k, v in r.items() if k == "ratio_to_peer"), None)
        parts.append(
            f"{r['endpoint']} {r['system']} {r['rps']:.0f} req/s (p99 {r['p99_ms']:.0f} ms)"
            + (f" = {ratio:.2f}x the peer" if ratio is not None else "")
        )
    flow = "; ".join(f"login flow {alg} {s['median_s']:.2f} s" for alg, s in record["login_flow"].items())
    return ", ".join(parts) + ("; " + flow if flow else "")


def parser() -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(result)
    result.add_argument("--duration", type=int, default=10, help="seconds per load run")
    result.add_argument("--connections", type=int, default=8, help="concurrent connections of the load generator")
    result.add_argument("--flows", type=int, default=5, help="timed login flows per signing algorithm")
    result.add_argument(
        "--algs",
        type=lambda text: text.split(","),
        default=["ES256"],
        help="signing algorithms of the timed login flows; the first is the one measured under load",
    )
    result.add_argument("--rounds", type=int, default=3, help="alternating rounds (civid, the peer, civid, ...)")
    result.add_argument("--workers", type=int, default=1, help="civid serve --workers (more than one: PostgreSQL)")
    result.add_argument("--no-peer", dest="peer", action="store_false", help="civid alone, even if the peer is there")
    result.add_argument(
        "--require-peer", action="store_true", help="exit 2 when the peer is not installed (default: civid alone)"
    )
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
