"""UserInfo's release records, written in batches: one transaction for every answer waiting at that moment (a group
commit), instead of a transaction and a commit per call.

Each answer still waits until the transaction holding its release record has committed, so no person data leaves
before its release is recorded (``kyc.releases``) and a crash loses no release of an answer that was sent. A failed
write fails every answer of its batch. A batch is written once the requests already ready to run have queued
theirs, in the thread pool, while the next one gathers: under load, the answers that arrived together are recorded
together.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from idp import claims_extensions
from idp.claims_extensions import Release

if TYPE_CHECKING:
    from idp.runtime import IdpServices


class ReleaseBatch:
    """The releases waiting to be written for one application, and the answers waiting on them."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._pending: list[tuple[Release, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, release: Release) -> None:
        """Return once ``release`` is committed (with whatever else was waiting); raise what the write raised."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((release, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await done

    async def _drain(self) -> None:
        """Write batches until none is waiting; while one is written (in the thread pool) the next gathers."""
        services: IdpServices = self.app.state.services
        while self._pending:
            await asyncio.sleep(0)  # the requests already ready to run queue theirs first
            batch, self._pending = self._pending, []
            try:
                await run_in_threadpool(self._write, services, batch)
            except Exception as exc:  # noqa: BLE001 - handed to every answer of the batch, each fails with it
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, done in batch:
                if not done.done():  # a client that went away has cancelled its wait; its release stays recorded
                    done.set_result(None)

    def _write(self, services: IdpServices, batch: list[tuple[Release, asyncio.Future[None]]]) -> None:
        extensions = claims_extensions.of(self.app)
        with services.sessions.begin() as db:
            for release, _ in batch:
                extensions.record_release(db, release)


def install(app: FastAPI) -> None:
    """Give ``app`` its batch of UserInfo releases."""
    app.state.release_batch = ReleaseBatch(app)


def of(app: FastAPI) -> ReleaseBatch:
    """The application's batch (``install`` first)."""
    batch: ReleaseBatch = app.state.release_batch
    return batch
