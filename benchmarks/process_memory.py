"""Resident memory of civid processes by role (``civid serve --role idp|registration|all``, ``civid abis worker``),
read from /proc: VmRSS (now) and VmHWM (the peak), summed over the process and its children (uvicorn workers).

Measured after the process is ready (``/healthz`` answers, or the worker printed ``ready``), so it includes the
models, the settings, the database pool and, for the roles that search, the galleries as loaded at start.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree(pid: int) -> list[int]:
    """The process and all its descendants."""
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        queue += _children(current)
    return pids


def rss_mib(pid: int) -> dict[str, float]:
    """{"rss_mib": now, "peak_mib": high-water mark} of the process tree, in MiB."""
    pids = tree(pid)
    return {
        "rss_mib": round(sum(_status_kib(p, "VmRSS") for p in pids) / 1024, 1),
        "peak_mib": round(sum(_status_kib(p, "VmHWM") for p in pids) / 1024, 1),
    }


def seed_gallery(seed: Path | None, data_dir: Path) -> None:
    """Give a new process's data folder a copy of saved FAISS index files (it then loads and reconciles them
    instead of rebuilding from the database: seconds, not minutes, at 100k people)."""
    if seed is not None and seed.exists() and not (data_dir / "gallery").exists():
        shutil.copytree(seed, data_dir / "gallery")


def measure_roles(env: dict[str, str], folder: Path, seed: Path | None, timeout_s: float = 900) -> list[dict[str, Any]]:
    """Start each ``civid serve`` role in turn (one uvicorn worker), read its memory once ready, stop it."""
    from tests.server import ServerProcess

    results = []
    for role in ("idp", "registration", "all"):
        data_dir = folder / f"serve-{role}"
        seed_gallery(seed, data_dir)
        server = ServerProcess({**env, "CIVID_DATA_DIR": str(data_dir)}, folder / f"serve-{role}.log", ["--role", role])
        server.start(timeout_s)
        try:
            assert server.process is not None
            results.append({"role": f"serve --role {role}", **rss_mib(server.process.pid)})
        finally:
            server.stop()
    return results
