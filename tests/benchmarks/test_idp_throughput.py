"""benchmarks/idp_throughput.py's summary of alternating rounds: requests over all rounds, medians of the rounds'
figures, and civid's ratio to each peer configuration (the load itself needs node and wrk: the benchmark only)."""

from __future__ import annotations

import os

from benchmarks import idp_throughput


def _row(system: str, endpoint: str, rps: float, p99: float, round_number: int) -> dict:
    return {
        "system": system,
        "endpoint": endpoint,
        "round": round_number,
        "rps": rps,
        "p50_ms": p99 / 4,
        "p99_ms": p99,
        "requests": int(rps * 10),
        "errors": 0,
        "server_cpu_ms_per_request": 1000 / rps,
        "load_average_1m": 2.0 + round_number,
    }


def test_summary_gives_medians_over_rounds_and_civids_ratio_to_each_peer():
    rows = [
        _row("civid", "token refresh", 100, 80, 0),
        _row("peer jwt-at", "token refresh", 200, 40, 0),
        _row("peer", "token refresh", 400, 20, 0),
        _row("civid", "token refresh", 120, 60, 1),
        _row("peer jwt-at", "token refresh", 240, 30, 1),
        _row("peer", "token refresh", 400, 30, 1),
        _row("civid", "userinfo", 300, 10, 0),
        _row("peer", "userinfo", 1000, 5, 0),
    ]
    summary = {(r["endpoint"], r["system"]): r for r in idp_throughput.summarise(rows)}
    civid = summary[("token refresh", "civid")]
    assert civid["rps"] == 110 and civid["p99_ms"] == 70 and civid["requests"] == 2200
    assert civid["ratio_to_peer"] == round(110 / 400, 3) and civid["ratio_to_peer_jwt-at"] == 0.5
    assert civid["load_average_1m"] == 3.0  # the highest any round saw
    assert summary[("userinfo", "civid")]["ratio_to_peer"] == 0.3
    assert "ratio_to_peer" not in summary[("userinfo", "peer")]


def test_server_cpu_counts_the_process_itself():
    assert idp_throughput.cpu_seconds(os.getpid()) > 0
