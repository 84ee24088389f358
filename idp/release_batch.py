"""UserInfo's release records, written in batches: one transaction for every answer waiting at that moment (a group
commit), instead of a transaction and a commit per call.

Each answer still waits until the transaction holding its release record has committed, so no person data leaves
before its release is recorded (``kyc.releases``) and a crash loses no release of an answer that was sent. A failed
write fails every answer of its batch. The batch is written on the event loop once the requests already ready to
run have queued theirs (``loop.call_soon``): under load, the answers that arrived together are recorded together.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from fastapi import FastAPI

from idp import claims_extensions
from idp.claims_extensions import Release

if TYPE_CHECKING:
    from idp.runtime import IdpServices


class ReleaseBatch:
    """The releases waiting to be written for one application, and the answers waiting on them."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._pending: list[tuple[Release, asyncio.Future[None]]] = []
        self._scheduled = False

    async def record(self, release: Release) -> None:
        """Return once ``release`` is committed (with whatever else was waiting); raise what the write raised."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._pending.append((release, done))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._write)
        await done

    def _write(self) -> None:
        batch, self._pending, self._scheduled = self._pending, [], False
        services: IdpServices = self.app.state.services
        extensions = claims_extensions.of(self.app)
        try:
            with services.sessions.begin() as db:
                for release, _ in batch:
                    extensions.record_release(db, release)
        except Exception as exc:  # noqa: BLE001 - handed to every answer of the batch, each fails with it
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for _, done in batch:
            if not done.done():  # a client that went away has cancelled its wait; its release stays recorded
                done.set_result(None)


def install(app: FastAPI) -> None:
    """Give ``app`` its batch of UserInfo releases."""
    app.state.release_batch = ReleaseBatch(app)


def of(app: FastAPI) -> ReleaseBatch:
    """The application's batch (``install`` first)."""
    batch: ReleaseBatch = app.state.release_batch
    return batch
