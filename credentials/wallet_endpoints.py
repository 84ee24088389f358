"""The wallet's side of civid's OpenID4VP verifier: the request object at the ``request_uri`` and the
``response_uri`` the wallet posts its ``vp_token`` to (Response Mode ``direct_post``, OpenID4VP 1.0 §8.2).

**The request object** (``GET /v1/presentations/requests/{handle}``, ``application/oauth-authz-req+jwt``) is a JWT
typed ``oauth-authz-req+jwt`` (RFC 9101; OpenID4VP §5) signed with civid's **OpenID keys**
(``services.signing_keys``, published at ``/jwks.json``): civid acts here as an OAuth client toward the wallet, as
it signs ID tokens as an OpenID provider, and the request lives minutes, so it belongs with the keys that rotate
often; the credential keys stay for what a citizen carries (credentials, status lists), whose set must remain small
and stable for offline verifiers. civid's ``client_id`` has no Client Identifier Prefix (§5.9.2, a pre-registered
client): a wallet that trusts civid knows it in advance, with ``/jwks.json`` as its key set. ``redirect_uri:`` could
not be used (such a request cannot be signed), and ``x509_san_dns:`` would need an X.509 certificate civid does not
have. ``aud`` is ``https://self-issued.me/v2`` (§5.8, static discovery).

**The response** (``POST /v1/presentations/response``, form: ``vp_token`` and ``state``, or ``error`` and
``state``) is single-use: the first answer for a ``state`` decides the transaction (a conditional update from
``pending``, so of two concurrent posts exactly one is processed); any later one is refused ``invalid_request``.
A verified answer gets 200 ``{}``; a presentation civid rejects gets 400 ``invalid_request`` naming the fault. Who
may end the transaction: the request's QR code can be read by anyone near the screen, so only an answer that proves
itself the holder's, for this transaction (a valid Key Binding JWT over one of civid's credentials), fails it — a
revoked or expired credential, a requested claim not disclosed, the relying party reads the same reason — and so
does a wallet's error response (the citizen declined: acknowledged 200). Anything else (garbage, a forged or altered
credential, a wrong nonce or audience) is refused and leaves the transaction pending for the real wallet. Audited:
``presentation.verified``, ``presentation.failed``, ``presentation.answer_refused`` (claim names, reasons and the
credential's status slot; never a claim value).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civid import audit
from civid.actor import Actor
from civid.deps import get_services, get_session
from civid.errors import NotFound
from credentials import presentation_verify
from credentials.presentations import NO_STORE, REQUEST_PATH, RESPONSE_PATH
from credentials.runtime import CredentialServices
from credentials.sd_jwt_verify import KB_ALGS, Rejected
from idp.client_cache import find as find_client
from idp.errors import InvalidRequest
from idp.form import FORM, oauth_form
from models import PresentationTransaction, utcnow
from models.db import affected_rows

REQUEST_OBJECT_TYP = "oauth-authz-req+jwt"
REQUEST_OBJECT_MEDIA_TYPE = "application/oauth-authz-req+jwt"
STATIC_AUDIENCE = "https://self-issued.me/v2"
WALLET = Actor(None, "wallet", "holder")
Handle = Path(min_length=20, max_length=43, pattern=r"^[A-Za-z0-9_-]+$")

router = APIRouter(tags=["presentations"])


def request_object_claims(services: CredentialServices, db: Session, txn: PresentationTransaction) -> dict[str, Any]:
    """The authorization request the wallet processes (OpenID4VP §5, §8.2)."""
    settings = services.settings
    client = find_client(db, txn.client_id)
    now = int(utcnow().timestamp())
    return {
        "aud": STATIC_AUDIENCE,
        "iat": now,
        "exp": int(audit.as_utc(txn.expires_at).timestamp()),
        "client_id": settings.resolved_presentation_client_id,
        "response_type": "vp_token",
        "response_mode": "direct_post",
        "response_uri": settings.resolved_issuer + RESPONSE_PATH,
        "nonce": txn.nonce,
        "state": txn.state,
        "dcql_query": txn.dcql_query,
        "client_metadata": {
            # RFC 7591 client_name: whom civid asks on behalf of, for the wallet's consent screen.
            "client_name": f"{client.name if client else txn.client_id} (verified by civid)",
            "vp_formats_supported": {
                "dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": list(KB_ALGS)},
            },
        },
    }


@router.get(REQUEST_PATH, response_class=Response, responses={200: {"content": {REQUEST_OBJECT_MEDIA_TYPE: {}}}})
def request_object(handle: str = Handle, services: CredentialServices = Depends(get_services)) -> Response:
    """The signed request object a wallet fetches from the ``request_uri`` (RFC 9101 §5.2)."""
    with services.sessions.begin() as db:
        txn = db.scalars(
            select(PresentationTransaction).where(PresentationTransaction.request_handle == handle)
        ).first()
        if txn is None or txn.status != "pending" or audit.as_utc(txn.expires_at) <= utcnow():
            raise NotFound("no open presentation request here (unknown, answered or expired)")
        txn.request_fetched_at = txn.request_fetched_at or utcnow()
        token = services.signing_keys.sign(request_object_claims(services, db, txn), typ=REQUEST_OBJECT_TYP)
    return Response(token, media_type=REQUEST_OBJECT_MEDIA_TYPE, headers=NO_STORE)


def _pending(db: Session, state: str) -> PresentationTransaction:
    txn = db.scalars(select(PresentationTransaction).where(PresentationTransaction.state == state)).first()
    if txn is None:
        raise InvalidRequest("unknown state: no presentation request of civid's")
    if txn.status != "pending":
        raise InvalidRequest("this presentation request has already been answered")
    if audit.as_utc(txn.expires_at) <= utcnow():
        raise InvalidRequest("this presentation request has expired")
    return txn


def _release(db: Session, txn: PresentationTransaction) -> None:
    """End the read transaction before the write (an SQLite reader would hold the lock the writer needs), keeping
    the row's loaded values."""
    db.expunge(txn)
    db.rollback()


def _settle(
    services: CredentialServices,
    txn: PresentationTransaction,
    verified: presentation_verify.Verified | None,
    failure: tuple[str, str] | None,
) -> None:
    """Record the outcome if, and only if, the transaction is still pending: the one answer that counts."""
    now = utcnow()
    values: dict[str, Any] = {"completed_at": now}
    if verified is not None:
        values.update(status="verified", result=verified.credentials, credential_status_id=verified.status_ids[0])
    else:
        assert failure is not None  # noqa: S101 - one of the two is always given
        values.update(status="failed", failure_reason=f"{failure[0]}: {failure[1]}"[:300])
    with services.sessions.begin() as db:
        claimed = affected_rows(
            db,
            update(PresentationTransaction)
            .where(
                PresentationTransaction.id == txn.id,
                PresentationTransaction.status == "pending",
                PresentationTransaction.expires_at > now,
            )
            .values(**values)
            .execution_options(synchronize_session=False),
        )
        if claimed != 1:
            raise InvalidRequest("this presentation request has already been answered")
        common = {"client_id": txn.client_id, "credential_queries": [c["id"] for c in txn.dcql_query["credentials"]]}
        if verified is not None:
            audit.record(
                db,
                WALLET,
                "presentation.verified",
                "presentation",
                txn.uid,
                **common,
                credentials=verified.status_ids,
                claims=sorted({name for c in verified.credentials.values() for name in c["claims"]}),
            )
        else:
            assert failure is not None  # noqa: S101
            audit.record(db, WALLET, "presentation.failed", "presentation", txn.uid, **common, reason=failure[0])


def _refused(services: CredentialServices, txn: PresentationTransaction, reason: str) -> None:
    """An answer that is not the holder's (no valid key binding to this transaction, a forged or altered
    credential, garbage): refused and audited, the transaction left pending for the real wallet's answer."""
    with services.sessions.begin() as db:
        audit.record(
            db, WALLET, "presentation.answer_refused", "presentation", txn.uid, client_id=txn.client_id, reason=reason
        )


class AuthorizationResponse(BaseModel):
    """The wallet's direct_post (form-encoded): a vp_token, or an error, with the request's state."""

    state: str = Field(description="The state of the request object")
    vp_token: str | None = Field(
        None, description="JSON: {credential query id: [SD-JWT presentation with its Key Binding JWT]}"
    )
    error: str | None = Field(None, examples=["access_denied"], description="An Authorization Error Response")
    error_description: str | None = None


@router.post(
    RESPONSE_PATH,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {FORM: {"schema": AuthorizationResponse.model_json_schema()}},
        }
    },
)
def presentation_response(
    form: dict[str, str] = Depends(oauth_form),
    services: CredentialServices = Depends(get_services),
    db: Session = Depends(get_session),
) -> JSONResponse:
    """The wallet's Authorization Response (Response Mode ``direct_post``)."""
    state = form.get("state")
    if not state:
        raise InvalidRequest("state is required")
    txn = _pending(db, state)
    if form.get("error"):
        _release(db, txn)
        # The wallet's Authorization Error Response (§8.5): the citizen declined, or the wallet could not answer.
        error = form["error"][:60]
        _settle(services, txn, None, ("wallet_error", error))
        return JSONResponse({}, headers=NO_STORE)
    vp_token = form.get("vp_token")
    if not vp_token:
        raise InvalidRequest("vp_token (or error) is required")
    try:
        verified = presentation_verify.verify(db, services, txn, vp_token)
    except Rejected as exc:
        _release(db, txn)
        if exc.bound:
            _settle(services, txn, None, (exc.code, exc.detail))
        else:
            _refused(services, txn, exc.code)
        raise InvalidRequest(f"the presentation was rejected: {exc.detail}", reason=exc.code) from exc
    _release(db, txn)
    _settle(services, txn, verified, None)
    return JSONResponse({}, headers=NO_STORE)
