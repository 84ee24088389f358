"""``civid serve --workers N``: N worker processes answer on one port over PostgreSQL, the first admin key is
made once, and SQLite (one writer at a time) refuses more than one worker with a message saying what to do."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.postgres import postgres_schema_url  # noqa: F401 - fixture
from tests.server import REPO, ServerProcess, free_port


def test_serve_refuses_two_workers_on_sqlite(tmp_path: Path):
    env = {**os.environ, "CIVID_DATA_DIR": str(tmp_path / "var"), "CIVID_PORT": str(free_port())}
    env.pop("CIVID_DATABASE_URL", None)
    # A server that starts anyway would run until the timeout: that fails the test too.
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--workers", "2"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    said = " ".join(result.stderr.split())
    assert "--workers 2 needs PostgreSQL" in said and "CIVID_DATABASE_URL" in said


def _worker_pids(server: ServerProcess, count: int, timeout: float = 120.0) -> set[int]:
    """The pids of the workers that have finished starting, once ``count`` have (read from uvicorn's log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = server.log_path.read_text()
        if log.count("Application startup complete") >= count:
            return {int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", log)}
        time.sleep(0.2)
    raise AssertionError(f"{count} workers did not start:\n{server.log_path.read_text()[-3000:]}")


@pytest.mark.postgres
def test_two_workers_serve_one_port_from_two_processes_on_postgresql(tmp_path: Path, postgres_schema_url: str):
    data = tmp_path / "var"
    server = ServerProcess(
        {"CIVID_DATA_DIR": str(data), "CIVID_DATABASE_URL": postgres_schema_url},
        tmp_path / "server.log",
        args=["--workers", "2"],
    ).start()
    try:
        assert server.process is not None
        workers = _worker_pids(server, 2)
        assert len(workers) == 2 and server.process.pid not in workers, server.log_path.read_text()[-4000:]
        # The first admin key was made once, before the workers started (not once by each of them).
        admin = {"Authorization": "Bearer " + (data / "admin-api-key").read_text().strip()}
        keys = httpx.get(server.url + "/v1/api-keys", headers=admin, timeout=30)
        assert keys.status_code == 200 and [key["name"] for key in keys.json()] == ["bootstrap admin"]
        # One scrape counts every worker's requests (prometheus_client's multiprocess mode, a folder per start).
        assert httpx.get(server.url + "/metrics", timeout=30).status_code == 401
        scrape = {"Authorization": "Bearer " + (data / "metrics-token").read_text().strip()}

        def health_checks() -> float:
            text = httpx.get(server.url + "/metrics", headers=scrape, timeout=30).text
            found = re.search(r'civid_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)', text)
            return float(found.group(1)) if found else 0.0

        before = health_checks()
        for _ in range(20):
            assert httpx.get(server.url + "/healthz", timeout=30).status_code == 200
        assert health_checks() - before == 20
        # With one worker killed the other still answers on the same port: both were serving it.
        os.kill(min(workers), signal.SIGKILL)
        for _ in range(5):
            assert httpx.get(server.url + "/healthz", timeout=30).status_code == 200
    finally:
        server.stop()
