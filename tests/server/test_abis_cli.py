"""``civid abis dedup-bulk`` from the command line: in-process, and in a child process killed mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from civid.settings import get_settings
from models import BulkDedupRun, CaseKind, DedupCase, RunStatus
from server.cli import app
from server.services import Services, build_services
from tests.conftest import make_settings
from tests.enrollment.bulk_register import near, register, unit
from tests.server import REPO


@pytest.fixture
def cli(tmp_path: Path) -> Iterator:
    """Run ``civid ARGS`` with CIVID_DATA_DIR pointing at the test's data folder."""
    runner = CliRunner()
    env = {"CIVID_DATA_DIR": str(tmp_path / "var")}

    def run(*args: str):
        get_settings.cache_clear()
        return runner.invoke(app, list(args), env=env)

    yield run
    get_settings.cache_clear()


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = build_services(make_settings(tmp_path), open_gallery=False)
    yield built
    built.engine.dispose()


def planted(services: Services, people: int, copies: int, seed: int = 3) -> set[tuple[str, str]]:
    """``people`` distinct people, the first ``copies`` of them registered again; the planted UIN pairs."""
    rng = np.random.default_rng(seed)
    faces = unit(rng, people)
    register(services, faces)
    register(services, np.stack([near(faces[i], 0.98, rng) for i in range(copies)]))
    return {(f"9{i:09d}", f"9{people + i:09d}") for i in range(copies)}


def reported(path: Path) -> set[tuple[str, str]]:
    data = json.loads(path.read_text())
    return {(p["first_uin"], p["second_uin"]) for p in data["pairs"]}


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_a_run_stopped_after_some_batches_resumes_to_the_same_report(cli, services, tmp_path: Path) -> None:
    pairs = planted(services, 60, 5)
    first = cli("abis", "dedup-bulk", "--batch-size", "10", "--max-batches", "2", "--out", str(tmp_path / "r"))
    assert first.exit_code == 0, first.output
    with services.sessions() as session:
        run = session.scalars(select(BulkDedupRun)).one()
    assert run.status == RunStatus.RUNNING and run.queries_done == 20
    assert f"resume with --resume {run.public_id}" in one_line(first.output)

    resumed = cli("abis", "dedup-bulk", "--resume", run.public_id, "--out", str(tmp_path / "r"))

    assert resumed.exit_code == 0, resumed.output
    assert "65 of 65 faces searched, 5 candidate pairs, 5 cases opened" in one_line(resumed.output)
    assert reported(tmp_path / "r" / f"bulk-dedup-{run.public_id}.json") == pairs
    with services.sessions() as session:
        assert len(session.scalars(select(DedupCase).where(DedupCase.kind == CaseKind.REGISTER_PAIR)).all()) == 5


def test_unknown_batch_or_run_is_a_message_and_exit_code_2(cli, services) -> None:
    batch = cli("abis", "dedup-bulk", "--batch", "no-such-batch")
    assert batch.exit_code == 2 and "no imported batch no-such-batch" in one_line(batch.output)
    run = cli("abis", "dedup-bulk", "--resume", "no-such-run")
    assert run.exit_code == 2 and "no bulk dedup run no-such-run" in one_line(run.output)
    both = cli("abis", "dedup-bulk", "--resume", "r", "--batch", "b")
    assert both.exit_code == 2 and "either --resume or --batch" in one_line(both.output)


def test_a_run_killed_mid_way_resumes_and_finds_the_same_pairs(cli, services, tmp_path: Path) -> None:
    pairs = planted(services, 1500, 8)
    env = {**os.environ, "CIVID_DATA_DIR": str(tmp_path / "var"), "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-m", "server", "abis", "dedup-bulk", "--batch-size", "1", "--out", str(tmp_path / "r")],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        run = None
        while time.monotonic() < deadline and child.poll() is None:
            with services.sessions() as session:
                run = session.scalars(select(BulkDedupRun)).first()
                if run is not None and run.queries_done >= 20:
                    break
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    with services.sessions() as session:
        run = session.scalars(select(BulkDedupRun)).one()
    assert run.status == RunStatus.RUNNING, "the child finished before it could be killed"
    assert 20 <= run.queries_done < 1508

    resumed = cli("abis", "dedup-bulk", "--resume", run.public_id, "--out", str(tmp_path / "r"))

    assert resumed.exit_code == 0, resumed.output
    assert reported(tmp_path / "r" / f"bulk-dedup-{run.public_id}.json") == pairs
    with services.sessions() as session:
        done = session.get(BulkDedupRun, run.id)
        assert done is not None and done.status == RunStatus.COMPLETED and done.queries_done == 1508
        assert len(session.scalars(select(DedupCase).where(DedupCase.kind == CaseKind.REGISTER_PAIR)).all()) == 8
