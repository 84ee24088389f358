"""The ABIS's HTTP endpoint: one MOSIP message in the body, MOSIP's response out, for a key with role ``abis``.

One endpoint for the six operations, dispatched on the message's ``id``, as MOSIP's queue carries them all to one
ABIS (docs/abis-mosip.md: the queue bridge posts each message here and puts the answer on the response queue). A
message-level failure is a MOSIP answer (HTTP 200, ``returnValue`` "2", ``failureReason``): on the queue only that
tells the registration processor what happened. Authentication stays HTTP's (401/403 problem+json): a bridge
without a valid key is misconfigured, and no message from it should be taken.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from abis import messages
from abis.operations import Abis
from abis.runtime import AbisServices
from civid.actor import Actor
from civid.auth import require

router = APIRouter(tags=["abis"])
_CREATE = threading.Lock()

ABIS_BODY = {
    "content": {
        "application/json": {
            "schema": messages.IdentifyRequest.model_json_schema(),
            "example": {
                "id": "mosip.abis.identify",
                "version": "1.1",
                "requestId": "01234567-89AB-CDEF-0123-456789ABCDEF",
                "requesttime": "2020-03-29T07:01:24.692Z",
                "referenceId": "987654321-89AB-CDEF-0123-456789ABCDEF",
                "referenceURL": "",
                "flags": {"maxResults": "10", "targetFPIR": "30"},
            },
        }
    },
    "required": True,
}


def abis_of(app: FastAPI) -> Abis:
    """The process's ABIS (its reference indexes are built from the database on first use)."""
    abis: Abis | None = getattr(app.state, "abis", None)
    if abis is None:
        with _CREATE:
            abis = getattr(app.state, "abis", None)
            if abis is None:
                services: AbisServices = app.state.services
                abis = Abis(services.settings, services.sessions, services.keyring, services.faces, services.fusion)
                app.state.abis = abis
    return abis


@router.post(
    "/v1/abis",
    summary="One MOSIP ABIS request (insert, identify, delete, ping, pendingJobs, referenceCount)",
    openapi_extra={"requestBody": ABIS_BODY},
    response_model=messages.IdentifyResponse,
    response_model_exclude_none=True,
)
async def abis_request(request: Request, actor: Actor = Depends(require("abis"))) -> JSONResponse:
    """Answer the MOSIP message in the body; every request, answered or failed, is audited."""
    raw = await request.body()
    try:
        body: Any = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        body = None  # answered as failure reason 4, invalid request structure
    answer = await run_in_threadpool(abis_of(request.app).handle, body, actor)
    return JSONResponse(answer)


def install(app: FastAPI) -> None:
    """Mount the ABIS endpoint."""
    app.include_router(router)
