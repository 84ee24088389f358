"""What DPoP (RFC 9449) costs a token request and a UserInfo call: the same refresh grant and UserInfo with bearer
tokens and with DPoP proofs, alternately in blocks in one process (civid's app in-process through Starlette's test
client, SQLite in a temporary folder unless ``--database-url``), so that machine noise falls on both alike.

A DPoP request adds, server side: one ES256 verification of the proof, a thumbprint, and one INSERT of the proof's
jti in a transaction of its own (the replay memory every process shares). The client's proof signing is timed
apart and left out of the request times. Ratios, not absolute times, are the result (2 noisy shared cores).

    python -m benchmarks.dpop_overhead                    # ~1 min: 200 requests of each kind
    python -m benchmarks.dpop_overhead --requests 1000 --block 50
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    add_common_arguments,
    bench_services,
    bench_settings,
    console,
    machine,
    print_machine,
    progress,
    save_result,
    table,
)

NAME = "dpop_overhead"
QUICK_ARGUMENTS = ["--requests", "40", "--block", "10"]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    parser.add_argument("--requests", type=int, default=200, help="requests of each kind (bearer, DPoP) per endpoint")
    parser.add_argument("--block", type=int, default=20, help="requests of one kind before switching to the other")
    parser.add_argument("--database-url", default=None, help="e.g. a PostgreSQL URL (default: SQLite in a temp dir)")
    args = parser.parse_args(argv)

    from fastapi.testclient import TestClient

    from server.app import create_app
    from tests.conftest import add_keys
    from tests.idp.conftest import basic, enrol_citizen, issue_code, register_client
    from tests.idp.dpop_keys import DpopKey

    info = machine()
    print_machine(info)
    with tempfile.TemporaryDirectory(prefix="civid-dpop-bench-") as folder:
        services = bench_services(bench_settings(Path(folder), args.database_url))
        try:
            with TestClient(create_app(services=services)) as client:
                citizen = enrol_citizen(client, add_keys(services), given_name="Barack", family_name="Obama")
                client_id, secret = register_client(services)
                token_url = services.settings.resolved_issuer + "/token"
                userinfo_url = services.settings.resolved_issuer + "/userinfo"
                key = DpopKey()
                chains: dict[str, dict[str, str]] = {}
                for kind in ("bearer", "dpop"):
                    issued = issue_code(services, client_id, citizen)
                    form = {
                        "grant_type": "authorization_code",
                        "code": issued.code,
                        "redirect_uri": issued.redirect_uri,
                        "code_verifier": issued.verifier,
                    }
                    headers = basic(client_id, secret or "") | (
                        {"DPoP": key.proof("POST", token_url)} if kind == "dpop" else {}
                    )
                    answer = client.post("/token", data=form, headers=headers)
                    assert answer.status_code == 200, answer.text
                    chains[kind] = answer.json()

                def refresh(kind: str) -> Callable[[], float]:
                    def once() -> float:
                        headers = basic(client_id, secret or "")
                        if kind == "dpop":
                            headers["DPoP"] = key.proof("POST", token_url)
                        form = {"grant_type": "refresh_token", "refresh_token": chains[kind]["refresh_token"]}
                        started = time.perf_counter()
                        answer = client.post("/token", data=form, headers=headers)
                        elapsed = time.perf_counter() - started
                        assert answer.status_code == 200, answer.text
                        chains[kind] = answer.json()
                        return elapsed

                    return once

                def userinfo(kind: str) -> Callable[[], float]:
                    def once() -> float:
                        token = chains[kind]["access_token"]
                        if kind == "dpop":
                            headers = {
                                "Authorization": f"DPoP {token}",
                                "DPoP": key.proof("GET", userinfo_url, token=token),
                            }
                        else:
                            headers = {"Authorization": f"Bearer {token}"}
                        started = time.perf_counter()
                        answer = client.get("/userinfo", headers=headers)
                        elapsed = time.perf_counter() - started
                        assert answer.status_code == 200, answer.text
                        return elapsed

                    return once

                signing = _timed(lambda: key.proof("POST", token_url), args.requests)
                parts = _server_parts(services, key, token_url, args.requests)
                timings = {
                    endpoint: _alternate({k: make(k) for k in ("bearer", "dpop")}, args.requests, args.block, endpoint)
                    for endpoint, make in (("refresh grant", refresh), ("userinfo", userinfo))
                }
        finally:
            services.close()

    rows, record_rows = [], {}
    for endpoint, by_kind in timings.items():
        bearer, dpop = (statistics.median(by_kind[k]) * 1000 for k in ("bearer", "dpop"))
        rows.append((endpoint, f"{bearer:.2f}", f"{dpop:.2f}", f"{dpop - bearer:+.2f}", f"{dpop / bearer:.2f}"))
        record_rows[endpoint] = {"bearer_median_ms": bearer, "dpop_median_ms": dpop, "ratio": dpop / bearer}
    console.print(
        table(
            f"DPoP against bearer tokens, median per request ({args.requests} of each, blocks of {args.block})",
            ("endpoint", "bearer ms", "DPoP ms", "difference ms", "DPoP / bearer"),
            rows,
        )
    )
    client_ms = statistics.median(signing) * 1000
    check_ms, remember_ms = (statistics.median(parts[name]) * 1000 for name in ("check", "remember"))
    console.print(
        table(
            "What DPoP adds, each part timed alone (median of "
            f"{args.requests}; steadier than the requests when the machine is shared)",
            ("part", "ms"),
            [
                ("server: proof checked (parse, ES256 verify, thumbprint, htu, iat)", f"{check_ms:.3f}"),
                ("server: jti remembered (INSERT, own transaction)", f"{remember_ms:.3f}"),
                ("client: proof signed (not in the request times)", f"{client_ms:.3f}"),
            ],
        )
    )
    database = "postgresql" if args.database_url and args.database_url.startswith("postgresql") else "sqlite"
    return save_result(
        NAME,
        {
            "requests": args.requests,
            "block": args.block,
            "database": database,
            "endpoints": record_rows,
            "client_proof_sign_median_ms": client_ms,
            "server_proof_check_median_ms": check_ms,
            "server_jti_insert_median_ms": remember_ms,
        },
        save=not args.no_save,
    )


def _timed(call: Callable[[], Any], times: int) -> list[float]:
    """The seconds of each of ``times`` calls."""
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return seconds


def _server_parts(services: Any, key: Any, url: str, times: int) -> dict[str, list[float]]:
    """The two things a DPoP request adds at the server, timed alone on a request built as Starlette would."""
    from starlette.requests import Request

    from idp import dpop

    split = urlsplit(url)

    def request(proof: str) -> Request:
        port = split.port or (443 if split.scheme == "https" else 80)
        return Request(
            {
                "type": "http",
                "method": "POST",
                "scheme": split.scheme,
                "server": (split.hostname, port),
                "path": split.path,
                "root_path": "",
                "query_string": b"",
                "headers": [(b"dpop", proof.encode()), (b"host", split.netloc.encode())],
            }
        )

    check, remember = [], []
    for _ in range(times):
        incoming = request(key.proof("POST", url))
        started = time.perf_counter()
        proof = dpop._check(incoming.headers["dpop"], incoming, services, None)
        checked = time.perf_counter()
        dpop._remember(services, proof)
        check.append(checked - started)
        remember.append(time.perf_counter() - checked)
    return {"check": check, "remember": remember}


def _alternate(runs: dict[str, Callable[[], float]], requests: int, block: int, what: str) -> dict[str, list[float]]:
    """Run each kind ``requests`` times, ``block`` at a time, alternating; the seconds of each request per kind."""
    timings: dict[str, list[float]] = {kind: [] for kind in runs}
    with progress() as bar:
        task = bar.add_task(what, total=requests * len(runs))
        while any(len(done) < requests for done in timings.values()):
            for kind, once in runs.items():
                for _ in range(min(block, requests - len(timings[kind]))):
                    timings[kind].append(once())
                    bar.advance(task)
    return timings


def summary_line(record: dict[str, Any]) -> str:
    """One line for ``benchmarks.run``."""
    parts = [f"{name} ×{values['ratio']:.2f}" for name, values in record["endpoints"].items()]
    return "DPoP / bearer time: " + ", ".join(parts)


if __name__ == "__main__":
    main()
