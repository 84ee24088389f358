"""The root page ``/``: where a person who opens civid's address can go — the officer console, the citizen's
own account, and the API's documentation (for portal and bank engineers)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from idp import pages

router = APIRouter(include_in_schema=False, dependencies=[Depends(pages.html_page)])


@router.get("/")
def front_page(request: Request) -> Response:
    """Three ways in, each said in words."""
    return pages.render(request, "front_page.html")


MESSAGES = {
    "front.title": {"en": "National digital identity", "es": "Identidad digital nacional"},
    "front.intro": {"en": "This is the national identity service. Where would you like to go?",
                    "es": "Este es el servicio de identidad nacional. ¿Adónde desea ir?"},
    "front.account": {"en": "Your account", "es": "Su cuenta"},
    "front.account.body": {"en": "See what you have shared with services, withdraw a consent, manage your passkeys.",
                           "es": "Vea lo que ha compartido con los servicios, retire un consentimiento, administre "
                                 "sus llaves de acceso."},
    "front.console.body": {"en": "For registration staff: enrolments, possible duplicates, audit, administration.",
                           "es": "Para el personal de registro: inscripciones, posibles duplicados, auditoría, "
                                 "administración."},
    "front.docs": {"en": "API documentation", "es": "Documentación de la API"},
    "front.docs.body": {"en": "For engineers connecting a portal or a bank (OpenID Connect, KYC).",
                        "es": "Para ingenieros que conectan un portal o un banco (OpenID Connect, KYC)."},
}
