"""A real Milvus standalone server on this machine, from the PyPI package ``milvus`` (no Docker), for tests and
benchmarks; and ``python -m tools.milvus_server DIR`` to run one by hand while developing.

The package ships Milvus 2.3's binaries and writes their configuration from a template. Its template leaves every
component's ``ip:`` empty, which makes each one advertise the machine's first unicast address: the components would
then talk to each other over the network card. ``MilvusStandalone`` sets them all to 127.0.0.1, so the server's
internal traffic stays on loopback, and the package picks free ports (from 19530 up) so it never takes another's.
"""

from __future__ import annotations

import argparse
import re
import signal
import time
from pathlib import Path
from types import TracebackType

# The components of a Milvus 2.3 standalone whose ``ip:`` the template leaves empty.
COMPONENTS = ("rootCoord", "proxy", "queryCoord", "queryNode", "indexNode", "dataCoord", "dataNode")
START_TIMEOUT_S = 120.0


class MilvusUnavailable(RuntimeError):
    """The server could not be started (package missing, binary refused to start, or not ready in time)."""


class MilvusStandalone:
    """One Milvus standalone server process with its data, configuration and logs under ``directory``."""

    def __init__(
        self, directory: Path, *, start_timeout_s: float = START_TIMEOUT_S, time_tick_ms: int | None = None
    ) -> None:
        self.directory = directory
        self.start_timeout_s = start_timeout_s
        # The proxy's time tick: a Strong search waits for the next one (Milvus's default 200 ms). Tests lower it.
        self.time_tick_ms = time_tick_ms
        self._server: object | None = None
        self.started_in_s = 0.0

    @property
    def uri(self) -> str:
        """Where a client connects (``http://127.0.0.1:<proxy port>``)."""
        if self._server is None:
            raise MilvusUnavailable("the Milvus server is not running")
        return f"http://127.0.0.1:{self._server.listen_port}"  # type: ignore[attr-defined]

    def start(self) -> MilvusStandalone:
        """Start the server and wait until it answers its health check; ``MilvusUnavailable`` otherwise."""
        try:
            import milvus  # the server package: binaries and the config template, loaded only here
        except ImportError as error:
            raise MilvusUnavailable("the PyPI package 'milvus' (the standalone server) is not installed") from error
        self.directory.mkdir(parents=True, exist_ok=True)
        config = milvus.MilvusServerConfig(data_dir=str(self.directory))
        # Only ``ip:`` lines change (none holds a {{ placeholder }}), so the parsed template stays valid.
        config.template_text = loopback_template(config.template_text)
        if self.time_tick_ms is not None:
            config.set("proxy.timeTickInterval", self.time_tick_ms)
        server = milvus.MilvusServer(config, wait_for_started=False)
        began = time.monotonic()
        try:
            server.start()
            server.wait_started(timeout=int(self.start_timeout_s * 1000))
        except (OSError, RuntimeError, TimeoutError) as error:
            server.stop()
            log = self.directory / "logs" / "milvus-stderr.log"
            tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
            raise MilvusUnavailable(f"the Milvus server did not start: {error}\n{tail}") from error
        self._server = server
        self.started_in_s = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stop the server (its data stays in ``directory``)."""
        if self._server is not None:
            self._server.stop()  # type: ignore[attr-defined]
            self._server = None

    def __enter__(self) -> MilvusStandalone:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def loopback_template(text: str) -> str:
    """The package's config template with every component's ``ip:`` set to 127.0.0.1."""
    section: str | None = None
    lines = []
    for line in text.splitlines():
        header = re.match(r"^([A-Za-z]+):", line)
        if header:
            section = header.group(1)
        if section in COMPONENTS and re.match(r"^  ip:", line):
            line = "  ip: 127.0.0.1"
        lines.append(line)
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run a server in the folder given until Ctrl+C (a developer's local Milvus for CIVID_GALLERY_BACKEND=milvus)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="folder for the server's data, configuration and logs")
    arguments = parser.parse_args()
    with MilvusStandalone(arguments.directory) as server:
        print(f"Milvus standalone ready in {server.started_in_s:.1f} s: CIVID_GALLERY_MILVUS_URI={server.uri}")
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
