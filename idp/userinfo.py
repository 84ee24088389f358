"""The UserInfo endpoint (OIDC Core §5.3): the consented claims about the person behind an access token.

The access token is a bearer token (RFC 6750): in the ``Authorization`` header, or for POST in the form
body as ``access_token`` (§2.2), never both; or a DPoP-bound token with the ``DPoP`` scheme and a proof
(RFC 9449 §7, ``idp.dpop``), never as a bearer token. It must be our signature (``typ: at+jwt``), unexpired,
unrevoked, of a live grant, and carry the ``openid`` scope. Only claims the token's scopes or the
grant's ``claims.userinfo`` ask for and the citizen's live consent for the grant's purpose covers are
released (consent given for another purpose does not count); without consent
the answer is ``sub`` alone. The claims extensions add the members
``claims.userinfo`` asked of them (``idp.claims_extensions``; kyc: OIDC4IDA ``verified_claims`` for a client
holding the ``kyc`` entitlement), within the same consent, and record every answer carrying person data as a
release (kyc: ``kyc.releases``) before it leaves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from idp import claims, claims_extensions, client_cache, dpop, release_batch, tokens
from idp.claims_extensions import ClaimsExtensions, Release
from idp.consent import consent_for_grant
from idp.errors import InsufficientScope, InvalidRequest, InvalidToken
from idp.form import oauth_form
from idp.runtime import IdpServices

PATH = "/userinfo"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

router = APIRouter(tags=["openid"])


def bearer_token(request: Request, form: Mapping[str, str] | None = None) -> str:
    """The access token of the request (RFC 6750 §2.1 header, §2.2 form body); exactly one place."""
    header = request.headers.get("authorization", "")
    in_header = header[7:].strip() if header[:7].lower() == "bearer " else None
    in_form = (form or {}).get("access_token")
    if in_header and in_form:
        raise InvalidRequest("send the access token in one place only")  # RFC 6750 §2
    token = in_header or in_form
    if not token:
        # RFC 6750 §3.1: no credentials at all → a challenge without an error code.
        raise InvalidToken("an access token is required", bare_challenge=True)
    return token


def presented_token(
    request: Request, services: IdpServices, form: Mapping[str, str] | None = None
) -> dpop.PresentedToken:
    """The access token with the scheme it came with: DPoP (proof checked, RFC 9449 §7) or Bearer."""
    return dpop.presented(request, services, form) or dpop.PresentedToken(bearer_token(request, form))


def userinfo_claims(
    db: Session, services: IdpServices, extensions: ClaimsExtensions, token: dpop.PresentedToken
) -> tuple[dict[str, Any], Release]:
    """The UserInfo response for a presented access token (raises ``invalid_token``/``insufficient_scope``), and
    the release it makes, to be recorded before it is sent."""
    live = tokens.verify_access_token(db, services, token.value)
    dpop.check_binding(live.claims, token)  # RFC 9449 §7.2: a bound token never as Bearer
    scopes = str(live.claims.get("scope", "")).split()
    if "openid" not in scopes:
        raise InsufficientScope("the access token lacks the openid scope")  # OIDC Core §5.3
    client = client_cache.find(db, live.grant.client_id)
    identity = live.grant.identity
    if client is None or identity.status != "active":
        raise InvalidToken("the access token's client or person is no longer active")
    request = claims.requested(client, scopes, live.grant.claims, extensions)
    consent = consent_for_grant(db, live.grant)  # the purpose this token was authorised for, not the union
    consented = set(consent.claims) if consent is not None else set()
    released = claims.release(db, identity, request.userinfo, consented=consented) if request.userinfo else {}
    extended = extensions.release(db, services, identity, client, request.extensions, "userinfo", consented=consented)
    release = Release(
        identity.id,
        client.client_id,
        "userinfo",
        (*released, *extensions.released_claim_names(extended)),
        extended,
        consent,
    )
    # OIDC Core §5.3.2: sub is always present and equals the ID token's.
    answer = {"sub": live.claims["sub"], **released, **extended}  # extended: e.g. verified_claims (OIDC4IDA -13 §5.2)
    return answer, release


def _claims(request: Request, form: Mapping[str, str] | None) -> tuple[dict[str, Any], Release, dpop.PresentedToken]:
    services: IdpServices = request.app.state.services
    token = presented_token(request, services, form)  # a DPoP proof's jti is recorded here (its own transaction)
    with dpop.challenges(token), services.sessions() as db:  # reads only: the release is written by idp.release_batch
        answer, release = userinfo_claims(db, services, claims_extensions.of(request.app), token)
    return answer, release, token


async def _answer(request: Request, form: Mapping[str, str] | None = None) -> JSONResponse:
    answer, release, token = await run_in_threadpool(_claims, request, form)  # one hop, as at /token (idp.token)
    if any(True for _ in claims_extensions.of(request.app)):  # with no extension registered nobody records releases
        await release_batch.of(request.app).record(release)  # committed before the answer leaves
    return JSONResponse(answer, headers={**NO_STORE, **dpop.resource_headers(request.app.state.services, token)})


# A token check and a few reads in one hop through the thread pool (as at /token), the release record written with
# those of the other answers waiting at that moment (idp.release_batch).
@router.get(PATH)
async def userinfo_get(request: Request) -> JSONResponse:
    """UserInfo with the access token in the Authorization header."""
    return await _answer(request)


async def _optional_form(request: Request) -> dict[str, str]:
    """A POST's form body if it has one (the token may be only in the header)."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        return await oauth_form(request)
    return {}


@router.post(PATH)
async def userinfo_post(request: Request) -> JSONResponse:
    """UserInfo with the access token in the header or the form body."""
    return await _answer(request, await _optional_form(request))
