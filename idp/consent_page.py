"""The consent page: which of the citizen's data a portal asks for, in plain words, to approve or deny.

``GET /consent/{uid}`` shows it (only when the request needs consent: ``idp.interaction_policy``);
``POST /consent/{uid}`` (CSRF-protected) records the answer. Approval is remembered per client
(``idp.consent.grant_consent``) and the code is issued; denial returns ``access_denied`` to the portal
(RFC 6749 §4.1.2.1). The national number (UIN) is marked apart: few portals are entitled to it.
Verified identity data (OIDC4IDA ``verified_claims``, only for ``kyc``-entitled clients such as banks) is
listed in its own box. The purposes the service gave (OIDC4IDA ``purpose`` parameter and per-claim purposes)
are shown as given (escaped) and stored on the consent.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from civid import audit
from civid.deps import get_services
from idp.runtime import IdpServices
from idp import (authorization_response, authorize, clients, consent, i18n, interaction_policy, interactions, pages,
                 sessions)
from idp.errors import AccessDenied, InvalidClient, InvalidRequest
from idp.interaction_policy import CONSENT
from kyc.verified_claims_request import CLAIMS_IN_VERIFIED_CLAIMS, CONSENT_PREFIX, EVIDENCE_CONSENT_NAME
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


# Verified claims in the order shown; then how they were verified (documents, with their numbers).
VERIFIED_ITEMS = tuple(f"consent.verified.{name}" for name in CLAIMS_IN_VERIFIED_CLAIMS) + ("consent.verified.evidence",)


def verified_items(names: frozenset[str]) -> list[str]:
    """The i18n keys of the verified-claims consent names asked for, in display order."""
    wanted = {name.removeprefix(CONSENT_PREFIX) for name in names if name.startswith(CONSENT_PREFIX)}
    if EVIDENCE_CONSENT_NAME in names:
        wanted.add("evidence")
    return [key for key in VERIFIED_ITEMS if key.rsplit(".", 1)[1] in wanted]


def _load(db: Session, uid: str) -> tuple[AuthorizationRequest, Client]:
    interaction = interactions.load(db, uid)
    client = clients.find(db, interaction.client_id)
    if client is None:
        raise InvalidClient("the service that sent you here is no longer registered")
    return interaction, client


@router.get("/consent/{uid}")
def consent_page(uid: str, request: Request, services: IdpServices = Depends(get_services)) -> Response:
    """Ask the citizen (or continue, when nothing needs asking any more)."""
    with services.sessions.begin() as db:
        interaction, client = _load(db, uid)
        session = sessions.current(request, db)
        step = interaction_policy.next_step(db, client, interaction.params, session, interaction.login_session_id,
                                            secrets=services.idp_secrets)
        if step.kind != CONSENT:
            return authorize.finish(request, db, services, interaction, client)
        params = interaction.params
        names = interaction_policy.requested_claim_names(client, params)
        items = [key for key, claims in CLAIM_ITEMS if claims & names]
        return pages.render(request, "consent.html", ui_locales=params.get("ui_locales"), uid=uid,
                            client_name=client.name, items=items, uin="uin" in names,
                            verified=verified_items(names),
                            purposes=interaction_policy.requested_purposes(client, params),
                            pairwise=client.subject_type == "pairwise",
                            offline="offline_access" in (params.get("scope") or []))


@router.post("/consent/{uid}")
def consent_answer(uid: str, request: Request, decision: str = Form(""), csrf_token: str = Form(""),
                   services: IdpServices = Depends(get_services)) -> Response:
    """Record approval (then the code) or denial (then ``access_denied`` to the portal)."""
    sessions.check_csrf(request, csrf_token)
    if decision not in ("approve", "deny"):
        raise InvalidRequest("choose approve or deny")
    with services.sessions.begin() as db:
        interaction, client = _load(db, uid)
        session = sessions.current(request, db)
        params = interaction.params
        if session is None or interaction_policy.login_needed(
                params, session, interaction.login_session_id, db.get(Identity, session.identity_id)):
            return authorize.finish(request, db, services, interaction, client)  # log in first
        identity = db.get(Identity, session.identity_id)
        assert identity is not None
        actor = sessions.citizen(identity)
        if decision == "deny":
            interactions.consume(db, interaction)
            audit.record(db, actor, "consent.denied", "identity", identity.uin, client_id=client.client_id,
                         scopes=params.get("scope"))
            return authorization_response.error(params["redirect_uri"], AccessDenied("the user denied the request"),
                                                params.get("state"), services.settings.resolved_issuer)
        names = interaction_policy.requested_claim_names(client, params)
        consent.grant_consent(db, identity, client, params.get("scope") or [], names,
                              interaction_policy.purpose_text(client, params), actor,
                              services.settings.consent_ttl_days)
        return authorize.finish(request, db, services, interaction, client, consent_given=True)


i18n.register({
    "consent.title": {"en": "Share your information?", "es": "¿Compartir su información?"},
    "consent.intro": {"en": "{client} asks for the following information from your national identity record:",
                      "es": "{client} solicita la siguiente información de su registro de identidad nacional:"},
    "consent.claim.sub_pairwise": {
        "en": "An identifier for you that only {client} uses (services cannot link you to each other through it)",
        "es": "Un identificador suyo que solo usa {client} (los servicios no pueden relacionarle entre sí con él)"},
    "consent.claim.sub_public": {"en": "An identifier for you that other services may also receive",
                                 "es": "Un identificador suyo que otros servicios también pueden recibir"},
    "consent.claim.name": {"en": "Your name", "es": "Su nombre"},
    "consent.claim.birthdate": {"en": "Your date of birth", "es": "Su fecha de nacimiento"},
    "consent.claim.gender": {"en": "Your sex, as recorded", "es": "Su sexo, según el registro"},
    "consent.claim.email": {"en": "Your email address (as given at enrolment, not verified)",
                            "es": "Su correo electrónico (el que dio al registrarse, sin verificar)"},
    "consent.claim.phone": {"en": "Your phone number (as given at enrolment, not verified)",
                            "es": "Su número de teléfono (el que dio al registrarse, sin verificar)"},
    "consent.claim.address": {"en": "Your home address", "es": "Su dirección"},
    "consent.claim.updated_at": {"en": "When your record was last updated",
                                 "es": "Cuándo se actualizó su registro por última vez"},
    "consent.claim.uin": {"en": "Your national identity number (UIN)", "es": "Su número de identidad nacional (NUI)"},
    "consent.uin_note": {
        "en": "{client} is entitled to receive your national identity number. Most services are not: they only get "
              "an identifier of their own.",
        "es": "{client} está autorizado a recibir su número de identidad nacional. La mayoría de los servicios no lo "
              "están: solo reciben un identificador propio."},
    "consent.offline": {
        "en": "{client} may keep access to this information while you are not signed in, until you withdraw "
              "your consent.",
        "es": "{client} podrá seguir accediendo a esta información aunque usted no haya iniciado sesión, hasta que "
              "retire su consentimiento."},
    "consent.remembered": {
        "en": "Your answer is remembered for this service. You can withdraw it at any time from your account page.",
        "es": "Su respuesta se recuerda para este servicio. Puede retirarla en cualquier momento desde la página de "
              "su cuenta."},
    "consent.verified.title": {"en": "Verified identity data", "es": "Datos de identidad verificados"},
    "consent.verified.intro": {
        "en": "{client} asks for the following data as verified when you enrolled, with a statement of how it was "
              "verified. It can use it to establish your identity, for example to open an account:",
        "es": "{client} solicita los siguientes datos tal como se verificaron cuando se registró, con una "
              "declaración de cómo se verificaron. Puede usarlos para establecer su identidad, por ejemplo para "
              "abrir una cuenta:"},
    "consent.verified.given_name": {"en": "Your given name", "es": "Su nombre de pila"},
    "consent.verified.family_name": {"en": "Your family name", "es": "Su apellido"},
    "consent.verified.middle_name": {"en": "Your middle names", "es": "Sus segundos nombres"},
    "consent.verified.birthdate": {"en": "Your date of birth", "es": "Su fecha de nacimiento"},
    "consent.verified.place_of_birth": {"en": "Your place of birth", "es": "Su lugar de nacimiento"},
    "consent.verified.nationalities": {"en": "Your nationality", "es": "Su nacionalidad"},
    "consent.verified.gender": {"en": "Your sex, as recorded", "es": "Su sexo, según el registro"},
    "consent.verified.address": {"en": "Your home address", "es": "Su dirección"},
    "consent.verified.uin": {"en": "Your national identity number (UIN)", "es": "Su número de identidad nacional (NUI)"},
    "consent.verified.evidence": {
        "en": "How your identity was verified: the documents the officer checked (type, number, issuer, dates) "
              "and the biometric check against the national register",
        "es": "Cómo se verificó su identidad: los documentos que revisó el funcionario (tipo, número, emisor, "
              "fechas) y la comprobación biométrica en el registro nacional"},
    "consent.purpose": {"en": "Purpose given by {client}:", "es": "Finalidad indicada por {client}:"},
    "consent.approve": {"en": "Allow", "es": "Permitir"},
    "consent.deny": {"en": "Do not allow", "es": "No permitir"},
})
