"""Run ``civid serve`` in a real child process (for crash and multi-process tests); the server's own tests are
the modules of this package."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from civid.settings import Settings
    from tests.conftest import Keys

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CividProcess:
    """A ``civid`` command in its own process, configured only through CIVID_* environment variables: started
    until it is ready (``_ready``), then stopped (SIGTERM) or killed (SIGKILL) by the test."""

    name = "civid"  # the command, for the errors

    def __init__(self, env: dict[str, str], log_path: Path, command: Sequence[str]) -> None:
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.command = list(command)  # after ``python -m server.cli``
        self.process: subprocess.Popen[bytes] | None = None

    def _ready(self) -> bool:
        raise NotImplementedError

    def _start(self, timeout: float) -> None:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", *self.command],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_path.read_text()[-3000:]}")
            if self._ready():
                return
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"{self.name} did not start:\n{self.log_path.read_text()[-3000:]}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs and the job in hand is abandoned mid-way, as in a power cut."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM: a normal shutdown (SIGKILL if it takes more than 20 s)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


class ServerProcess(CividProcess):
    """``civid serve`` in its own process, ready once its /healthz answers."""

    name = "civid serve"

    def __init__(self, env: dict[str, str], log_path: Path, args: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # ``args`` come after ``civid serve``, e.g. ["--workers", "2"]
        super().__init__({**env, "CIVID_PORT": str(self.port), "CIVID_HOST": "127.0.0.1"}, log_path, ["serve", *args])

    def start(self, timeout: float = 60.0) -> ServerProcess:
        self._start(timeout)
        return self

    def _ready(self) -> bool:
        try:
            return httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False


@contextmanager
def postgres_nodes(
    tmp_path: Path, database_url: str, nodes: int = 2, *, open_gallery: bool = False
) -> Iterator[tuple[Settings, Keys, list[ServerProcess]]]:
    """``nodes`` civid services in their own processes on one PostgreSQL schema, sharing one template key ring
    (what two machines of one deployment share), with one API key per role made first; stopped afterwards."""
    from civid.settings import Settings
    from server.services import build_services
    from tests.conftest import add_keys

    shared_keys = tmp_path / "template-keys.json"
    settings = Settings(data_dir=tmp_path / "setup", database_url=database_url, template_keys_file=shared_keys)
    services = build_services(settings, open_gallery=open_gallery)
    keys = add_keys(services)
    services.close()
    servers = [
        ServerProcess(
            {
                "CIVID_DATA_DIR": str(tmp_path / f"node{i}"),
                "CIVID_DATABASE_URL": database_url,
                "CIVID_TEMPLATE_KEYS_FILE": str(shared_keys),
            },
            tmp_path / f"node{i}.log",
        ).start()
        for i in range(nodes)
    ]
    try:
        yield settings, keys, servers
    finally:
        for server in servers:
            server.stop()


class WorkerProcess(CividProcess):
    """A ``civid abis worker`` in its own process, for kill -9 tests; ready once it logs so."""

    name = "civid abis worker"

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        super().__init__(env, log_path, ["abis", "worker"])

    def start(self, timeout: float = 120.0) -> WorkerProcess:
        self._start(timeout)
        return self

    def _ready(self) -> bool:
        return "ready" in self.log_path.read_text()
