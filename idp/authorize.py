"""The authorization endpoint (RFC 6749 §3.1, §4.1.1; OIDC Core §3.1.2): where a portal sends the citizen.

``GET /authorize`` (and ``POST`` with form serialization, OIDC Core §3.1.2.1) validates the request with
the chain in ``idp.authorization``, stores it as an interaction, and sends the browser to the login page,
the consent page, or straight back to the portal with a code when the SSO session and the remembered
consent suffice. ``GET /authorize/resume/{uid}`` is where the login and consent pages return.

Errors (RFC 6749 §4.1.2.1): while the client or its redirect URI is not established, they are shown to
the citizen as a page and never redirected; afterwards they go back to the redirect URI with ``error``,
``error_description``, ``state`` and ``iss`` (RFC 9207).
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from civid.deps import get_services
from civid.web import pages
from idp import (
    authorization_response,
    claims_extensions,
    clients,
    codes,
    consent,
    interaction_policy,
    interactions,
    login_methods,
    sessions,
)
from idp.authorization import AuthorizationContext, validate
from idp.errors import InvalidClient, InvalidRequest, OAuthError
from idp.form import oauth_form
from idp.interaction_policy import CODE, CONSENT, ERROR, LOGIN
from idp.runtime import IdpServices
from models import AuthorizationRequest, Client, Identity, LoginSession

router = APIRouter(tags=["openid"], dependencies=[Depends(pages.html_page)])


def query_parameters(request: Request) -> dict[str, str]:
    """The query's parameters; each at most once (RFC 6749 §3.1), empty ones treated as absent."""
    values: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in values:
            raise InvalidRequest(f"parameter {name!r} appears more than once")
        values[name] = value
    return {name: value for name, value in values.items() if value != ""}


@router.get("/authorize")
def authorize(request: Request, services: IdpServices = Depends(get_services)) -> Response:
    """OIDC Core §3.1.2.1, HTTP GET."""
    return _authorize(request, services, query_parameters(request), decide_now=True)


@router.post("/authorize")
def authorize_form(
    request: Request, form: dict[str, str] = Depends(oauth_form), services: IdpServices = Depends(get_services)
) -> Response:
    """OIDC Core §3.1.2.1, HTTP POST with form serialization.

    A portal's form POST is cross-site, so the browser does not send civid's SameSite=Lax session
    cookie with it: the decision waits for the redirect to ``/authorize/resume/{uid}`` (a top-level GET)."""
    return _authorize(request, services, form, decide_now=False)


@router.get("/authorize/resume/{uid}")
def resume(uid: str, request: Request, services: IdpServices = Depends(get_services)) -> Response:
    """Back from the login page (or a POSTed request): decide again and continue."""
    with services.sessions.begin() as db:
        interaction = interactions.load(db, uid)
        client = clients.find(db, interaction.client_id)
        if client is None:
            raise InvalidClient("the service that sent you here is no longer registered")
        return finish(request, db, services, interaction, client)


def _authorize(request: Request, services: IdpServices, raw: Mapping[str, str], decide_now: bool) -> Response:
    issuer = services.settings.resolved_issuer
    with services.sessions.begin() as db:
        ctx = AuthorizationContext(raw, db, services, claims_extensions.of(request.app), login_methods.of(request))
        try:
            validate(ctx)
        except OAuthError as exc:
            if ctx.redirect_uri is None:
                raise  # RFC 6749 §4.1.2.1: shown to the citizen (civid.web.pages.error_page)
            return authorization_response.error(ctx.redirect_uri, exc, ctx.state, issuer)
        assert ctx.client is not None
        if decide_now:
            session = sessions.current(request, db)
            step = interaction_policy.next_step(
                db,
                ctx.client,
                ctx.params,
                session,
                None,
                secrets=services.idp_secrets,
                extensions=ctx.extensions,
                methods=ctx.methods,
            )
            if step.kind == ERROR:
                assert step.error is not None
                return authorization_response.error(ctx.params["redirect_uri"], step.error, ctx.state, issuer)
        interaction = interactions.create(db, ctx.client.client_id, ctx.params, services.settings.interaction_ttl_s)
        if not decide_now:
            return authorization_response.redirect(f"/authorize/resume/{interaction.uid}")
        return _respond(request, db, services, interaction, ctx.client, step)


def finish(
    request: Request,
    db: Session,
    services: IdpServices,
    interaction: AuthorizationRequest,
    client: Client,
    consent_given: bool = False,
) -> Response:
    """Decide what the live ``interaction`` needs next and answer with it (a page redirect or the client's)."""
    session = sessions.current(request, db)
    step = interaction_policy.next_step(
        db,
        client,
        interaction.params,
        session,
        interaction.login_session_id,
        consent_given=consent_given,
        secrets=services.idp_secrets,
        extensions=claims_extensions.of(request.app),
        methods=login_methods.of(request),
    )
    return _respond(request, db, services, interaction, client, step)


def _respond(
    request: Request,
    db: Session,
    services: IdpServices,
    interaction: AuthorizationRequest,
    client: Client,
    step: interaction_policy.NextStep,
) -> Response:
    params = interaction.params
    issuer = services.settings.resolved_issuer
    if step.kind == LOGIN:
        return authorization_response.redirect(f"/login/{interaction.uid}")
    if step.kind == CONSENT:
        return authorization_response.redirect(f"/consent/{interaction.uid}")
    if step.kind == ERROR:
        assert step.error is not None
        interactions.consume(db, interaction)  # answered: the interaction cannot be resumed
        return authorization_response.error(params["redirect_uri"], step.error, params.get("state"), issuer)
    assert step.kind == CODE
    session = sessions.current(request, db)
    assert session is not None
    extensions = claims_extensions.of(request.app)
    if client.first_party:
        _record_first_party_consent(db, services, extensions, client, params, session)
    code = codes.issue(db, services, extensions, interaction, client, session)
    return authorization_response.success(params["redirect_uri"], code, params.get("state"), issuer)


def _record_first_party_consent(
    db: Session,
    services: IdpServices,
    extensions: claims_extensions.ClaimsExtensions,
    client: Client,
    params: dict,
    session: LoginSession,
) -> None:
    """Record (and audit) the consent a first-party client was not made to ask for, so that every release of
    claims still rests on a consent the person can see and withdraw on /account."""
    identity = db.get(Identity, session.identity_id)
    assert identity is not None
    if not interaction_policy.consent_needed(db, client, params, identity, extensions):
        return
    consent.grant_consent(
        db,
        identity,
        client,
        params.get("scope") or [],
        interaction_policy.requested_claim_names(client, params, extensions),
        interaction_policy.purpose_text(client, params, extensions),
        sessions.citizen(identity),
        services.settings.consent_ttl_days,
    )
