"""The consent page: which of the citizen's data a portal asks for, in plain words, to approve or deny.

``GET /consent/{uid}`` shows it (only when the request needs consent: ``idp.interaction_policy``);
``POST /consent/{uid}`` (CSRF-protected) records the answer. Approval is remembered per client
(``idp.consent.grant_consent``) and the code is issued; denial returns ``access_denied`` to the portal
(RFC 6749 §4.1.2.1). The national number (UIN) is marked apart: few portals are entitled to it.
A claims extension adds its own box (``idp.claims_extensions``; kyc: verified identity data for banks), and
the purposes the request states (kyc: OIDC4IDA ``purpose``) are shown as given (escaped) and stored on the
consent.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from civid import audit
from civid.deps import get_services
from civid.events import ConsentGiven
from civid.web import pages
from civid.web.csrf import check_csrf
from idp import (
    authorization_response,
    authorize,
    claims_extensions,
    clients,
    consent,
    interaction_policy,
    interactions,
    login_methods,
    sessions,
)
from idp.errors import AccessDenied, InvalidClient, InvalidRequest
from idp.interaction_policy import CONSENT
from idp.runtime import IdpServices
from models import AuthorizationRequest, Client, Identity

router = APIRouter(tags=["citizen pages"], dependencies=[Depends(pages.html_page)])

# What the citizen is shown, one line per item, in this order; an item is shown when any of its claims is asked.
CLAIM_ITEMS: tuple[tuple[str, frozenset[str]], ...] = (
    ("consent.claim.name", frozenset({"name", "given_name", "family_name", "middle_name"})),
    ("consent.claim.birthdate", frozenset({"birthdate"})),
    ("consent.claim.gender", frozenset({"gender"})),
    ("consent.claim.email", frozenset({"email", "email_verified"})),
    ("consent.claim.phone", frozenset({"phone_number", "phone_number_verified"})),
    ("consent.claim.address", frozenset({"address"})),
    ("consent.claim.updated_at", frozenset({"updated_at"})),
)


def _load(db: Session, uid: str) -> tuple[AuthorizationRequest, Client]:
    interaction = interactions.load(db, uid)
    client = clients.find(db, interaction.client_id)
    if client is None:
        raise InvalidClient("the service that sent you here is no longer registered")
    return interaction, client


@router.get("/consent/{uid}")
def consent_page(uid: str, request: Request, services: IdpServices = Depends(get_services)) -> Response:
    """Ask the citizen (or continue, when nothing needs asking any more)."""
    extensions = claims_extensions.of(request.app)
    with services.sessions.begin() as db:
        interaction, client = _load(db, uid)
        session = sessions.current(request, db)
        step = interaction_policy.next_step(
            db,
            client,
            interaction.params,
            session,
            interaction.login_session_id,
            secrets=services.idp_secrets,
            extensions=extensions,
            methods=login_methods.of(request),
        )
        if step.kind != CONSENT:
            return authorize.finish(request, db, services, interaction, client)
        params = interaction.params
        names = interaction_policy.requested_claim_names(client, params, extensions)
        items = [key for key, claims in CLAIM_ITEMS if claims & names]
        return pages.render(
            request,
            "consent.html",
            ui_locales=params.get("ui_locales"),
            uid=uid,
            client_name=client.name,
            items=items,
            uin="uin" in names,
            sections=extensions.consent_sections(names),
            purposes=interaction_policy.requested_purposes(client, params, extensions),
            pairwise=client.subject_type == "pairwise",
            offline="offline_access" in (params.get("scope") or []),
        )


@router.post("/consent/{uid}")
def consent_answer(
    uid: str,
    request: Request,
    decision: str = Form(""),
    csrf_token: str = Form(""),
    services: IdpServices = Depends(get_services),
) -> Response:
    """Record approval (then the code) or denial (then ``access_denied`` to the portal)."""
    check_csrf(request, csrf_token)
    if decision not in ("approve", "deny"):
        raise InvalidRequest("choose approve or deny")
    with services.sessions.begin() as db:
        interaction, client = _load(db, uid)
        session = sessions.current(request, db)
        params = interaction.params
        if session is None or interaction_policy.login_needed(
            params,
            session,
            interaction.login_session_id,
            db.get(Identity, session.identity_id),
            login_methods.of(request),
        ):
            return authorize.finish(request, db, services, interaction, client)  # log in first
        identity = db.get(Identity, session.identity_id)
        assert identity is not None
        actor = sessions.citizen(identity)
        if decision == "deny":
            interactions.consume(db, interaction)
            audit.record(
                db,
                actor,
                "consent.denied",
                "identity",
                identity.uin,
                client_id=client.client_id,
                scopes=params.get("scope"),
            )
            return authorization_response.error(
                params["redirect_uri"],
                AccessDenied("the user denied the request"),
                params.get("state"),
                services.settings.resolved_issuer,
            )
        extensions = claims_extensions.of(request.app)
        names = interaction_policy.requested_claim_names(client, params, extensions)
        consent.grant_consent(
            db,
            identity,
            client,
            params.get("scope") or [],
            names,
            interaction_policy.purpose_text(client, params, extensions),
            actor,
            services.settings.consent_ttl_days,
        )
        # The person is told of a consent they gave on this page (not of a first-party client's implicit one).
        services.events.publish(
            db, ConsentGiven(identity_id=identity.id, uin=identity.uin, actor=actor, client_name=client.name)
        )
        return authorize.finish(request, db, services, interaction, client, consent_given=True)
