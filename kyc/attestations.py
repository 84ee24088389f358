"""KYC attestations for banks: ``POST /v1/kyc/attestations``.

A bank that signed the citizen in (OpenID Connect, with consent to verified claims) asks civid for signed
evidence of who its customer is, to keep and show a regulator: a JWT signed with civid's keys, verifiable
offline against ``/jwks.json``, stating the verified claims (OIDC4IDA ``verified_claims``, built by
``kyc.verified_claims``), for whom (``sub`` pairwise to the bank), until when, and where its revocation
will be published (Token Status List ``status`` claim). As an SD-JWT (``"format": "sd-jwt"``) each claim
(and the evidence, as one block) is selectively disclosable, so the bank can show a third party only some,
and the SD-JWT is key-bound (``cnf``, ``kyc.holder_binding``): a third party requiring key binding accepts
it only with a Key Binding JWT signed by the bank's key, so a copy of it alone proves nothing.

Every condition must hold, checked in this order:
1. the bank authenticates with private_key_jwt and holds the ``kyc`` entitlement (``kyc.bank_auth``); for
   an SD-JWT, the key to bind is the one that verified that assertion, or a ``holder_jwk`` the bank
   registered (``kyc.holder_binding``);
2. it presents the citizen's access token (``Authorization: Bearer``), live and issued to this same bank;
3. the citizen's live consent for the purpose the token's grant was authorised for covers every verified
   claim asked for (``verified_claims:<claim>`` names); consent given for another purpose does not count;
4. re-verification: ``max_age`` (seconds since the citizen's login) and ``acr`` (its level) are met, else
   RFC 9470 ``insufficient_user_authentication``: send the citizen through /authorize with ``max_age``
   (or ``prompt=login``) and ``acr_values``, then ask again with the new access token;
5. civid holds verified claims meeting the request's filters (trust_framework, time, evidence).
Then the attestation is stored (claim names, never values), audited, and noted as a data release, in one
transaction.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civid import audit, sd_jwt
from civid.deps import get_services
from civid.errors import InvalidInput
from civid.events import AttestationIssued
from civid.input_types import DurationSeconds
from idp import dpop, login_methods
from idp.claims import entitled
from idp.consent import ClientConsent, consent_for_grant
from idp.errors import InsufficientScope, InsufficientUserAuthentication, InvalidRequest, InvalidToken
from idp.login_methods import LoginMethods
from idp.runtime import IdpServices
from idp.subjects import subject_for
from idp.tokens import LiveAccessToken, client_actor, verify_access_token
from idp.userinfo import presented_token
from kyc import holder_binding, status_list
from kyc.bank_auth import AUTH_MEMBERS, authenticate_bank, request_body
from kyc.releases import record_release
from kyc.verified_claims import CLAIMS_IN_VERIFIED_CLAIMS, released_claim_names, verified_claims_for
from kyc.verified_claims_request import consent_names, validate_request_element
from models import Attestation, Client, utcnow

PATH = "/v1/kyc/attestations"
ATTESTATION_TYP = "kyc-attestation+jwt"  # explicit typing (RFC 8725 §3.11): never mistaken for an ID token
VCT = "urn:civid:vct:kyc-attestation:1"  # SD-JWT VC credential type of the sd-jwt form
SD_PAD_TO = len(CLAIMS_IN_VERIFIED_CLAIMS) + 3  # decoys: the digest count never tells how many claims
SLOT_RETRIES = 5
VERIFICATION_BASIS = ("assurance_level", "time", "verification_process")  # always stated (the issue's "time")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

router = APIRouter(tags=["kyc"])


class AttestationRequest(BaseModel):
    """What the bank asks for (the client authentication members travel beside these)."""

    model_config = ConfigDict(extra="forbid")
    verified_claims: dict[str, Any] | list[dict[str, Any]] = Field(
        description="An OIDC4IDA verified_claims request element: the claims wanted and the verification "
        "filters (trust_framework, time.max_age, evidence)"
    )
    format: Literal["jwt", "sd-jwt"] = Field(
        "jwt",
        description="jwt: a compact JWS; sd-jwt: an SD-JWT VC with selectively disclosable claims, "
        "key-bound (cnf.jwk) to the bank's key: present it with a Key Binding JWT",
    )
    holder_jwk: dict[str, Any] | None = Field(
        None,
        description="sd-jwt only: the public JWK (EC P-256 or RSA >= 2048 bits) to bind the SD-JWT to; it "
        "must be one of the bank's registered keys. Default: the key that signed "
        "client_assertion",
    )
    max_age: DurationSeconds | None = Field(
        None,
        description="The citizen must have logged in at most this many "
        "seconds ago (a fresh biometric or passkey check)",
    )
    acr: Literal["urn:civid:acr:face", "urn:civid:acr:passkey"] | None = Field(  # idp.acr.ACR_VALUES_SUPPORTED
        None, description="The least authentication level the citizen's login must have had"
    )


class AttestationBody(AttestationRequest):
    """The whole JSON body as documented in OpenAPI: the request plus the bank's private_key_jwt members."""

    client_assertion_type: Literal["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]
    client_assertion: str = Field(
        description="A JWT signed by the bank's registered key (RFC 7523 §3), aud = the issuer or this endpoint's URL"
    )


class NothingToAttest(InvalidInput):
    """The request is well formed and consented, but civid holds no verified claims meeting its filters."""

    type_slug = "kyc/nothing-to-attest"
    title = "Nothing to attest"


def _parse(body: dict[str, Any]) -> AttestationRequest:
    """The validated request (a form body carries verified_claims and holder_jwk as JSON strings)."""
    body = {k: v for k, v in body.items() if k not in AUTH_MEMBERS}
    for name in ("verified_claims", "holder_jwk"):
        if isinstance(body.get(name), str):
            try:
                body[name] = json.loads(body[name])
            except (ValueError, RecursionError) as exc:
                raise InvalidRequest(f"{name} is not valid JSON") from exc
    try:
        request = AttestationRequest.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())
        raise InvalidRequest(f"invalid attestation request: {problems}") from exc
    if request.holder_jwk is not None and request.format != "sd-jwt":
        raise InvalidRequest("holder_jwk applies to format sd-jwt only: a jwt attestation is not key-bound")
    validate_request_element(request.verified_claims)
    return request


def _citizen_token(request: Request, db: Session, services: IdpServices, client: Client) -> LiveAccessToken:
    """The citizen's live access token, issued to this bank (a token of another client is refused)."""
    token = presented_token(request, services)
    live = verify_access_token(db, services, token.value)
    dpop.check_binding(live.claims, token)  # RFC 9449 §7.2: a DPoP-bound token is never a bearer token
    if live.grant.client_id != client.client_id:
        raise InvalidToken("the access token was issued to another client")
    if live.grant.identity.status != "active":
        raise InvalidToken("the access token's person is no longer active")
    return live


def _consent(db: Session, client: Client, live: LiveAccessToken, wanted: AttestationRequest) -> ClientConsent:
    """The grant's own live consent (its purpose's rows), which must cover every verified claim (and evidence)
    asked for."""
    available = {name for name in CLAIMS_IN_VERIFIED_CLAIMS if entitled(client, name)}
    needed = consent_names(wanted.verified_claims, available)
    if not needed:
        raise InvalidRequest(f"ask for at least one claim civid attests: {', '.join(sorted(available))}")
    consent = consent_for_grant(db, live.grant)
    missing = sorted(needed - set(consent.claims if consent else ()))
    if missing:
        raise InsufficientScope(
            "the citizen has not consented to release " + ", ".join(missing) + ": request "
            "them in the claims parameter's verified_claims at /authorize first",
            missing_consent=missing,
        )
    assert consent is not None  # noqa: S101 - needed is not empty, so no consent means something is missing
    return consent


def _check_authentication(live: LiveAccessToken, wanted: AttestationRequest, methods: LoginMethods) -> None:
    """Re-verification: the login behind the token must be recent and strong enough (RFC 9470 §3), as the
    application's login ``methods`` rank the levels."""
    grant = live.grant
    age = int((utcnow() - audit.as_utc(grant.auth_time)).total_seconds())
    reasons: list[str] = []
    remedies: list[str] = []
    challenge: dict[str, Any] = {}
    if wanted.max_age is not None and age > wanted.max_age:
        reasons.append(f"the citizen last authenticated {age} s ago (max_age {wanted.max_age})")
        remedies.append(f"max_age={wanted.max_age} (or prompt=login)")
        challenge["max_age"] = wanted.max_age
    if wanted.acr is not None and not methods.satisfies(grant.acr, [wanted.acr]):
        reasons.append(f"the citizen authenticated at {grant.acr}, below {wanted.acr}")
        remedies.append(f"acr_values={wanted.acr}")
        challenge["acr_values"] = wanted.acr
    if reasons:
        raise InsufficientUserAuthentication(
            f"{'; '.join(reasons)}: send the citizen through /authorize with {' and '.join(remedies)}, then ask "
            "again with the new access token",
            **challenge,
        )


def _claims(
    services: IdpServices, client: Client, live: LiveAccessToken, uid: str, verified: Any, slot: tuple[int, int]
) -> dict[str, Any]:
    """The attestation's JWT claims (before any selective-disclosure transformation)."""
    settings = services.settings
    issued_at = utcnow()
    grant = live.grant
    claims: dict[str, Any] = {
        "iss": settings.resolved_issuer,
        "sub": subject_for(services.idp_secrets, client, grant.identity.uin),
        "aud": client.client_id,
        "iat": int(issued_at.timestamp()),
        "exp": int((issued_at + timedelta(seconds=settings.attestation_ttl_s)).timestamp()),
        "jti": uid,
        # How recently and how strongly the citizen proved themselves before this was issued (re-verification).
        "auth_time": int(audit.as_utc(grant.auth_time).timestamp()),
        "acr": grant.acr,
        "amr": list(grant.amr),
        "verified_claims": verified,
        # Token Status List, "Referenced Token": where a bank learns of a later revocation.
        "status": {"status_list": {"idx": slot[1], "uri": status_list.list_uri(settings.resolved_issuer, slot[0])}},
    }
    return claims


def with_verification_basis(element: dict[str, Any] | list[dict[str, Any]]) -> dict[str, Any] | list[dict[str, Any]]:
    """The request element with ``assurance_level``, ``time`` and ``verification_process`` always asked for:
    an attestation is evidence, so it always says how strongly, when and in which enrolment the person was
    verified (the bank's own filters on them, if any, are kept)."""

    def one(request: dict[str, Any]) -> dict[str, Any]:
        verification = {name: None for name in VERIFICATION_BASIS} | dict(request.get("verification") or {})
        return {**request, "verification": verification}

    return [one(r) for r in element] if isinstance(element, list) else one(element)


def sign_attestation(
    services: IdpServices, claims: dict[str, Any], form: str, bound_jwk: dict[str, Any] | None = None
) -> str:
    """The signed attestation: a compact JWS, or an SD-JWT whose verified claims are each disclosable,
    key-bound to ``bound_jwk`` (the holder's public key, ``kyc.holder_binding``)."""
    if form == "jwt":
        return services.signing_keys.sign(claims, typ=ATTESTATION_TYP)
    if bound_jwk is None:
        raise ValueError("an SD-JWT attestation is always key-bound: bound_jwk is required")
    # SD-JWT: every claim inside verified_claims.claims becomes a Disclosure, and so does the evidence (it
    # may hold a document number); the rest stays plain so a verifier can always check issuer, validity,
    # status, trust framework, assurance level and time.
    payload = dict(claims)
    payload.pop("aud")  # shown to third parties by the bank: an audience of the bank would make them refuse it
    payload["vct"] = VCT
    payload["_sd_alg"] = sd_jwt.SD_ALG
    # Key Binding (RFC 9901; SD-JWT VC "cnf"): in plain view, never disclosable, so every verifier sees it.
    payload["cnf"] = holder_binding.confirmation(bound_jwk)
    disclosures: list[sd_jwt.Disclosure] = []
    is_list = isinstance(claims["verified_claims"], list)
    concealed_objects = []
    for obj in claims["verified_claims"] if is_list else [claims["verified_claims"]]:
        concealed_claims, made = sd_jwt.conceal(obj["claims"], pad_to=SD_PAD_TO)
        disclosures += made
        verification = dict(obj["verification"])
        if "evidence" in verification:
            hidden, made = sd_jwt.conceal({"evidence": verification.pop("evidence")})
            verification["_sd"] = hidden["_sd"]
            disclosures += made
        concealed_objects.append({**obj, "verification": verification, "claims": concealed_claims})
    payload["verified_claims"] = concealed_objects if is_list else concealed_objects[0]
    return sd_jwt.serialize(services.signing_keys.sign(payload, typ=sd_jwt.SD_JWT_TYP), disclosures)


def issue(
    db: Session,
    services: IdpServices,
    client: Client,
    live: LiveAccessToken,
    consent: ClientConsent,
    wanted: AttestationRequest,
    bound_jwk: dict[str, Any] | None = None,
) -> tuple[Attestation, str]:
    """Build, sign and record one attestation (store, audit, release) in the caller's transaction; an
    SD-JWT is bound to ``bound_jwk``."""
    identity = live.grant.identity
    verified = verified_claims_for(
        db, services, identity, client, with_verification_basis(wanted.verified_claims), consented=set(consent.claims)
    )
    if not verified:
        raise NothingToAttest(
            "civid holds no verified claims meeting this request's filters "
            "(trust_framework, time, evidence, or the claims asked for)"
        )
    names = released_claim_names(verified)
    settings = services.settings
    for attempt in range(SLOT_RETRIES):
        number = status_list.current_list(db, settings.status_list_size)
        slot = (number, status_list.draw_index(db, number, settings.status_list_size))
        uid = secrets.token_urlsafe(18)
        claims = _claims(services, client, live, uid, verified, slot)
        token = sign_attestation(services, claims, wanted.format, bound_jwk)
        verification = (verified[0] if isinstance(verified, list) else verified)["verification"]
        row = Attestation(
            uid=uid,
            client_id=client.client_id,
            identity_id=identity.id,
            grant_id=live.grant.id,
            format=wanted.format,
            claims=names,
            trust_framework=verification["trust_framework"],
            assurance_level=verification.get("assurance_level", ""),
            issued_at=utcnow(),
            expires_at=utcnow() + timedelta(seconds=settings.attestation_ttl_s),
            status_list=slot[0],
            status_index=slot[1],
        )
        try:
            with db.begin_nested():  # a concurrent issuance may have taken the same slot: draw again
                db.add(row)
                db.flush()
            break
        except IntegrityError:
            if attempt == SLOT_RETRIES - 1:
                raise
    bound = {"holder_jkt": holder_binding.thumbprint(bound_jwk)} if bound_jwk else {}  # which key, by RFC 7638
    audit.record(
        db,
        client_actor(client.client_id),
        "kyc.attestation_issued",
        "attestation",
        row.uid,
        client_id=client.client_id,
        uin=identity.uin,
        claims=names,
        format=row.format,
        status_list=row.status_list,
        status_index=row.status_index,
        consents=consent.covering(names),
        **bound,
    )
    services.events.publish(
        db,
        AttestationIssued(
            identity_id=identity.id, uin=identity.uin, actor=client_actor(client.client_id), client_name=client.name
        ),
    )
    record_release(
        db,
        identity.id,
        client.client_id,
        "attestation",
        names,
        verified=True,
        consent=consent,
        detail={"attestation": row.uid, "format": row.format},
    )
    return row, token


@router.post(
    PATH,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": AttestationBody.model_json_schema()}},
        }
    },
)
def create_attestation(
    request: Request, body: dict[str, Any] = Depends(request_body), services: IdpServices = Depends(get_services)
) -> JSONResponse:
    """Issue a signed KYC attestation about the citizen behind the presented access token."""
    with services.sessions.begin() as db:
        client = authenticate_bank(request, body, db, services, PATH)
        wanted = _parse(body)
        bound_jwk = (
            holder_binding.key_to_bind(request, services, client, wanted.holder_jwk)
            if wanted.format == "sd-jwt"
            else None
        )
        live = _citizen_token(request, db, services, client)
        consent = _consent(db, client, live, wanted)
        _check_authentication(live, wanted, login_methods.of(request))
        row, token = issue(db, services, client, live, consent, wanted, bound_jwk)
        answer = {
            "id": row.uid,
            "format": row.format,
            "attestation": token,
            "issued_at": audit.as_utc(row.issued_at).isoformat(),
            "expires_at": audit.as_utc(row.expires_at).isoformat(),
            "status": {
                "status_list": {
                    "idx": row.status_index,
                    "uri": status_list.list_uri(services.settings.resolved_issuer, row.status_list),
                },
                "endpoint": f"{services.settings.resolved_issuer}{PATH}/{row.uid}/status",
            },
        }
        if bound_jwk is not None:  # the key the bank must sign its Key Binding JWTs with (as in the SD-JWT)
            answer["cnf"] = holder_binding.confirmation(bound_jwk)
    return JSONResponse(answer, status_code=201, headers={**NO_STORE, "Location": f"{PATH}/{row.uid}/status"})
