"""The civil registry's endpoints.

The registry (a client holding the ``civil_registry`` entitlement) authenticates with ``private_key_jwt``
(RFC 7523), the assertion in the JSON body as at the KYC endpoints, its audience the endpoint's URL, each jti
used once. Beside the credentials the body carries the event: ``bundle`` (the OpenCRVS FHIR bundle, as its
mediator sends it) or ``event`` (the plain JSON form). The officer's link of a pending birth to the enrolled
child is an ordinary API-key call.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from civid.audit import Actor
from civid.auth import require
from civid.deps import get_services
from civid.errors import InvalidInput
from crvs import fhir_bundle, registrations
from crvs.vital_event import PlainEvent, VitalEvent
from idp.runtime import IdpServices
from kyc.bank_auth import AUTH_MEMBERS, authenticate_bank, request_body
from models import Client

ENTITLEMENT = "civil_registry"
EVENTS = "/v1/civil-registry/events"
BIRTH_STATUS = "/v1/civil-registry/birth-status"
router = APIRouter(tags=["civil registry"])
ServicesDep = Annotated[IdpServices, Depends(get_services)]
Body = Annotated[dict[str, Any], Depends(request_body)]
Officer = Annotated[Actor, Depends(require("officer"))]


class OutcomeOut(BaseModel):
    registration_number: str
    kind: str
    status: str = Field(description="birth: pending_enrolment or enrolled; death: deactivated")
    uin: str | None = Field(description="death: the deactivated UIN; birth: the child's, once enrolled")
    replayed: bool = Field(description="true when this registration number had been received before")


class RegistryCredentials(BaseModel):
    client_assertion_type: Literal["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]
    client_assertion: str = Field(
        description="A JWT signed by the registry's registered key (RFC 7523 §3), aud = the issuer or this URL"
    )


class EventBody(RegistryCredentials):
    """The credentials and one event: ``bundle`` (an OpenCRVS FHIR Bundle) or ``event`` (the plain form)."""

    bundle: dict[str, Any] | None = Field(None, description="A FHIR document Bundle with Composition and Task")
    event: PlainEvent | None = None


class BirthStatusBody(RegistryCredentials):
    registration_number: str = Field(max_length=64)


def _documented(model: type[BaseModel]) -> dict[str, Any]:
    content = {"application/json": {"schema": model.model_json_schema()}}
    return {"requestBody": {"required": True, "content": content}}


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    uin: str = Field(min_length=1, max_length=20, description="the child's UIN, issued at the desk")


def _registry(request: Request, body: dict[str, Any], db: Any, services: IdpServices, path: str) -> Client:
    return authenticate_bank(request, body, db, services, path, entitlement=ENTITLEMENT)


def _event(body: dict[str, Any]) -> tuple[str, VitalEvent]:
    payload = {k: v for k, v in body.items() if k not in AUTH_MEMBERS}
    if set(payload) == {"bundle"} and isinstance(payload["bundle"], dict):
        return "fhir", fhir_bundle.vital_event(payload["bundle"])
    if set(payload) == {"event"} and isinstance(payload["event"], dict):
        try:
            return "json", PlainEvent.model_validate(payload["event"]).event()
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidInput(f"event.{where}: {first['msg']}", code="event_invalid") from exc
    raise InvalidInput("the body carries the registry's credentials and one of: bundle (FHIR) or event (JSON)")


@router.post(
    EVENTS,
    response_model=OutcomeOut,
    summary="A registered birth or death from the civil registry (FHIR bundle or plain JSON; idempotent)",
    openapi_extra=_documented(EventBody),
)
def post_event(request: Request, body: Body, services: ServicesDep) -> OutcomeOut:
    with services.sessions.begin() as db:
        client = _registry(request, body, db, services, EVENTS)
        source, event = _event(body)
        outcome = registrations.apply(db, services.events, client.client_id, source, event)
    return OutcomeOut(**dataclasses.asdict(outcome))


@router.post(
    BIRTH_STATUS,
    response_model=OutcomeOut,
    summary="A birth's status, and the child's UIN once enrolled",
    openapi_extra=_documented(BirthStatusBody),
)
def post_birth_status(request: Request, body: Body, services: ServicesDep) -> OutcomeOut:
    with services.sessions.begin() as db:
        _registry(request, body, db, services, BIRTH_STATUS)
        number = body.get("registration_number")
        if not isinstance(number, str) or not number.strip():
            raise InvalidInput("registration_number is required")
        outcome = registrations.birth_status(db, number.strip())
    return OutcomeOut(**dataclasses.asdict(outcome))


@router.post(
    "/v1/civil-registry/births/{registration_number}/identity",
    response_model=OutcomeOut,
    summary="Link a pending birth to the child's identity enrolled at the desk (officer)",
)
def post_birth_link(registration_number: str, body: LinkIn, services: ServicesDep, actor: Officer) -> OutcomeOut:
    with services.sessions.begin() as db:
        outcome = registrations.link_birth(db, actor, registration_number, body.uin)
    return OutcomeOut(**dataclasses.asdict(outcome))
