"""Requests that append to the audit chain at the same moment never fork it: each event's ``prev_hash`` is
the hash of the event before it, on SQLite (one service process, many threads) and on PostgreSQL (two
service processes), so ``civid audit verify`` passes after any load and counts every request."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from civid.audit import verify_chain
from civid.settings import Settings
from models import AuditEvent
from server.services import build_services
from tests.conftest import add_keys
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture
from tests.server import ServerProcess, postgres_nodes

PARALLEL = 24  # the reproduction in issue #11 forked the chain 11 times in 24 requests


def _parallel_case_lists(servers: list[ServerProcess], headers: dict, count: int) -> list[int]:
    """``count`` GET /v1/cases (each one audited as ``case.listed``) released together, spread over servers."""
    barrier = threading.Barrier(count)
    statuses: list[int] = [0] * count

    def send(index: int) -> None:
        server = servers[index % len(servers)]
        with httpx.Client(timeout=120) as http:
            http.get(server.url + "/healthz")  # connect first, so the requests themselves start together
            barrier.wait()
            statuses[index] = http.get(server.url + "/v1/cases", headers=headers).status_code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    return statuses


def _chain(settings: Settings) -> tuple[int, int | None, int, int]:
    """(events checked, first broken event or None, case.listed events, forks: events sharing a prev_hash)."""
    services = build_services(settings, open_gallery=False)
    try:
        with services.sessions() as session:
            checked, broken = verify_chain(session)
            listed = session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "case.listed")
            )
            links = session.scalars(select(AuditEvent.prev_hash)).all()
        return checked, broken, listed or 0, len(links) - len(set(links))
    finally:
        services.close()


def test_parallel_audited_requests_on_sqlite_keep_one_unbroken_chain(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "var")
    services = build_services(settings, open_gallery=False)
    keys = add_keys(services)
    services.close()
    before, *_ = _chain(settings)
    server = ServerProcess({"CIVID_DATA_DIR": str(settings.data_dir)}, tmp_path / "server.log").start()
    try:
        statuses = []
        for _ in range(2):  # two rounds: a fork is likely, not certain, in any one of them
            statuses += _parallel_case_lists([server], keys.adjudicator, PARALLEL)
    finally:
        server.stop()
    checked, broken, listed, forks = _chain(settings)
    print(
        f"sqlite: {len(statuses)} requests sent, {listed} events written, {checked} events checked, "
        f"broken={broken}, forks={forks}"
    )
    assert statuses == [200] * len(statuses)
    assert broken is None and forks == 0, f"the chain forked {forks} times, first at event {broken}"
    assert listed == len(statuses) and checked == before + len(statuses)
    assert "database is locked" not in (tmp_path / "server.log").read_text()


@pytest.mark.postgres
def test_parallel_audited_requests_on_two_postgres_processes_keep_one_unbroken_chain(
    tmp_path: Path, postgres_schema_url: str
):
    with postgres_nodes(tmp_path, postgres_schema_url) as (settings, keys, servers):
        before, *_ = _chain(settings)
        statuses = _parallel_case_lists(servers, keys.adjudicator, PARALLEL)
    checked, broken, listed, forks = _chain(settings)
    print(
        f"postgres: {len(statuses)} requests sent, {listed} events written, {checked} events checked, "
        f"broken={broken}, forks={forks}"
    )
    assert statuses == [200] * len(statuses)
    assert broken is None and forks == 0, f"the chain forked {forks} times, first at event {broken}"
    assert listed == len(statuses) and checked == before + len(statuses)
