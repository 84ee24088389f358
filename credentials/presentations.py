"""The relying party's side of civid's OpenID4VP verifier: a bank or a counter that trusts civid asks it to request
a presentation from a citizen's wallet, and reads back the disclosed claims once civid has verified them.

- ``POST /v1/presentations`` ``{"dcql_query": {...}}`` → 201 ``{id, nonce, state, expires_at, request_uri,
  authorization_request, authorization_request_qr}``: the ``openid4vp://`` URI to show the citizen (a link on the
  same device, the QR on another) names the ``request_uri`` where the wallet fetches civid's signed request object
  (``credentials.wallet_endpoints``).
- ``GET|POST /v1/presentations/{id}`` (``?wait=N`` seconds, at most ``presentation_max_wait_s``) → ``pending``,
  ``verified`` (per credential query id: the requested claims, the issuer, the vct, the status checked) or
  ``failed`` (``reason`` code and ``detail``). The outcome stays readable for ``presentation_ttl_s`` after the
  request expired, then its claim values are erased and the transaction is answered 404.

The relying party authenticates as a registered client with its registered method (private_key_jwt or a client
secret, ``idp.client_auth``; a GET carries only HTTP Basic) and must hold the ``presentations`` entitlement
(``civid clients add --entitle presentations``). Another client's transaction is answered 404.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civid import audit
from civid.deps import get_services
from civid.errors import InvalidInput, NotFound
from credentials import dcql
from credentials.runtime import CredentialServices
from idp.client_auth import authenticate_client
from idp.errors import AccessDenied
from idp.tokens import client_actor
from kyc.bank_auth import AUTH_MEMBERS, optional_body, request_body
from models import Client, PresentationTransaction, utcnow

PATH = "/v1/presentations"
STATUS_PATH = "/v1/presentations/{transaction_id}"
REQUEST_PATH = "/v1/presentations/requests/{handle}"
RESPONSE_PATH = "/v1/presentations/wallet/response"  # two segments: never a transaction id
ENTITLEMENT = "presentations"
SCHEME = "openid4vp://"  # OpenID4VP 1.0 §13.1.2: the wallet invocation of the static configuration
POLL_INTERVAL_S = 0.25
NO_STORE = {"Cache-Control": "no-store"}
TransactionId = Path(min_length=20, max_length=43, pattern=r"^[A-Za-z0-9_-]+$")

router = APIRouter(tags=["presentations"])


class PresentationRequestBody(BaseModel):
    """What the relying party sends (JSON), beside its client authentication (or HTTP Basic)."""

    dcql_query: dict[str, Any] = Field(
        description="A DCQL query (OpenID4VP 1.0 §6): credentials of format dc+sd-jwt with meta.vct_values among "
        "civid's credential types, and the claims wanted as claims path pointers",
        examples=[
            {
                "credentials": [
                    {
                        "id": "pid",
                        "format": "dc+sd-jwt",
                        "meta": {"vct_values": ["urn:civid:vct:pid:1"]},
                        "claims": [{"path": ["given_name"]}, {"path": ["age_over_18"]}],
                    }
                ]
            }
        ],
    )
    client_id: str | None = None
    client_secret: str | None = Field(None, description="client_secret_post (or HTTP Basic)")
    client_assertion_type: str | None = Field(None, examples=["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"])
    client_assertion: str | None = Field(None, description="private_key_jwt: a JWT signed with the client's key")


def authenticate_verifier(request: Request, body: dict[str, Any], db: Session, services: Any, endpoint: str) -> Client:
    """The calling relying party (its registered authentication method) holding the ``presentations`` entitlement."""
    credentials = {name: body[name] for name in AUTH_MEMBERS if isinstance(body.get(name), str)}
    if body.get("client_id") and isinstance(body["client_id"], str):
        credentials["client_id"] = body["client_id"]
    client = authenticate_client(request, credentials, db, services, endpoint)
    if ENTITLEMENT not in client.entitlements:
        raise AccessDenied(f"this client is not entitled to {ENTITLEMENT} (an administrator grants it)")
    return client


def authorization_request(services: CredentialServices, handle: str) -> tuple[str, str]:
    """(request_uri, the ``openid4vp://`` URI naming it with civid's client identifier)."""
    request_uri = services.settings.resolved_issuer + REQUEST_PATH.format(handle=handle)
    query = urlencode({"client_id": services.settings.resolved_presentation_client_id, "request_uri": request_uri})
    return request_uri, f"{SCHEME}?{query}"


@router.post(
    PATH,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PresentationRequestBody.model_json_schema()}},
        }
    },
)
def create_presentation(
    request: Request,
    body: dict[str, Any] = Depends(request_body),
    services: CredentialServices = Depends(get_services),
) -> JSONResponse:
    """Ask the citizen's wallet for a presentation answering a DCQL query (OpenID4VP 1.0 §6)."""
    settings = services.settings
    with services.sessions.begin() as db:
        client = authenticate_verifier(request, body, db, services, PATH)
        extra = sorted(set(body) - {"dcql_query", "client_id", *AUTH_MEMBERS})
        if extra:
            raise InvalidInput(f"unknown members: {', '.join(extra)}")
        query = dcql.validate(body.get("dcql_query"), settings.presentation_vct_values)
        now = utcnow()
        txn = PresentationTransaction(
            uid=secrets.token_urlsafe(32),
            client_id=client.client_id,
            request_handle=secrets.token_urlsafe(32),
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),  # 256 bits, OpenID4VP §5.3 asks at least 128
            dcql_query=query,
            status="pending",
            created_at=now,
            expires_at=now + timedelta(seconds=settings.presentation_ttl_s),
        )
        db.add(txn)
        db.flush()
        audit.record(
            db,
            client_actor(client.client_id),
            "presentation.requested",
            "presentation",
            txn.uid,
            client_id=client.client_id,
            credential_queries=[c["id"] for c in query["credentials"]],
            vct_values=sorted({v for c in query["credentials"] for v in c["meta"]["vct_values"]}),
            claims=sorted({"/".join(map(str, c["path"])) for q in query["credentials"] for c in q.get("claims", [])}),
            expires_at=txn.expires_at.isoformat(),
        )
        request_uri, uri = authorization_request(services, txn.request_handle)
        answer = {
            "id": txn.uid,
            "status": "pending",
            "nonce": txn.nonce,
            "state": txn.state,
            "client_id": settings.resolved_presentation_client_id,
            "expires_at": txn.expires_at.isoformat(),
            "request_uri": request_uri,
            "authorization_request": uri,
            "authorization_request_qr": segno.make(uri, error="m").svg_data_uri(scale=4),
        }
    headers = {**NO_STORE, "Location": STATUS_PATH.format(transaction_id=answer["id"])}
    return JSONResponse(answer, status_code=201, headers=headers)


def outcome(txn: PresentationTransaction) -> dict[str, Any]:
    """What the relying party reads about its transaction."""
    answer: dict[str, Any] = {
        "id": txn.uid,
        "status": txn.status,
        "expires_at": audit.as_utc(txn.expires_at).isoformat(),
    }
    if txn.status == "pending" and audit.as_utc(txn.expires_at) <= utcnow():
        return {
            **answer,
            "status": "failed",
            "reason": "expired_request",
            "detail": "the wallet did not answer in time",
        }
    if txn.completed_at is not None:
        answer["completed_at"] = audit.as_utc(txn.completed_at).isoformat()
    if txn.status == "verified":
        answer["credentials"] = txn.result or {}
    elif txn.status == "failed":
        code, _, detail = (txn.failure_reason or "failed: ").partition(": ")
        answer.update(reason=code, detail=detail)
    return answer


def _find(services: CredentialServices, client_id: str, uid: str) -> PresentationTransaction:
    with services.sessions.begin() as db:
        txn = db.scalars(select(PresentationTransaction).where(PresentationTransaction.uid == uid)).first()
        if txn is None or txn.client_id != client_id:
            raise NotFound(f"no presentation transaction {uid} of this client")
        readable_until = audit.as_utc(txn.expires_at) + timedelta(seconds=services.settings.presentation_ttl_s)
        gone = readable_until <= utcnow()
        if gone and txn.result is not None:  # the claim values are kept only for the relying party to read them
            erase = update(PresentationTransaction).where(PresentationTransaction.id == txn.id).values(result=None)
            db.execute(erase)
        db.expunge(txn)
    if gone:
        raise NotFound(f"presentation transaction {uid} has expired")
    return txn


def _authenticated(
    request: Request, transaction_id: str, body: dict[str, Any], services: CredentialServices
) -> PresentationTransaction:
    with services.sessions() as db:
        client = authenticate_verifier(request, body, db, services, STATUS_PATH.format(transaction_id=transaction_id))
    return _find(services, client.client_id, transaction_id)


async def _status(
    request: Request, transaction_id: str, wait: int, body: dict[str, Any], services: CredentialServices
) -> JSONResponse:
    deadline = time.monotonic() + min(wait, services.settings.presentation_max_wait_s)
    txn = await run_in_threadpool(_authenticated, request, transaction_id, body, services)
    # Long polling: the relying party learns the outcome the moment the wallet's answer is processed. The wait is
    # the event loop's, not a worker thread's: a bank holding many polls open must not starve the thread pool
    # that the wallets' own answers (and every sync endpoint) run in.
    while txn.status == "pending" and time.monotonic() < deadline and audit.as_utc(txn.expires_at) > utcnow():
        await asyncio.sleep(POLL_INTERVAL_S)
        txn = await run_in_threadpool(_find, services, txn.client_id, transaction_id)
    return JSONResponse(outcome(txn), headers=NO_STORE)


@router.get(STATUS_PATH)
async def presentation_status(
    request: Request,
    transaction_id: str = TransactionId,
    wait: int = Query(0, ge=0, le=60, description="Wait up to this many seconds for the wallet's answer"),
    services: CredentialServices = Depends(get_services),
) -> JSONResponse:
    """The transaction's outcome (HTTP Basic client authentication)."""
    return await _status(request, transaction_id, wait, {}, services)


@router.post(STATUS_PATH)
async def presentation_status_post(
    request: Request,
    transaction_id: str = TransactionId,
    wait: int = Query(0, ge=0, le=60, description="Wait up to this many seconds for the wallet's answer"),
    body: dict[str, Any] = Depends(optional_body),
    services: CredentialServices = Depends(get_services),
) -> JSONResponse:
    """The transaction's outcome (client authentication in the body: private_key_jwt or client_secret_post)."""
    return await _status(request, transaction_id, wait, body, services)
