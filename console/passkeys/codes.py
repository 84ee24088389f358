"""The officer's passkey binding code: find the person at the desk by UIN, check it is them (name, date of
birth), issue a one-time code and show it once, for them to type at ``/passkeys/bind`` on their own device.

The same code the desk API issues (``idp.passkey_bindings.issue_code``: HMAC-stored, single use, audited as
``passkey.binding_issued`` with the officer's name). The code appears only in the answer to the POST that
issued it (never in a URL or a later page), and pages are served with ``Cache-Control: no-store``.
Who may issue a code for whom is ``passkey_bindings.authorise``'s rule: the page is open to admins too, since
a staff member's code is theirs to issue; a refusal is said on the page (already at the lookup) and audited.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from civid import audit
from civid.errors import CividError
from console.common.error_text import error_text
from console.signin.session import require_staff
from console.staff.accounts import Staff
from idp import claims, pages, passkey_bindings, passkey_registry
from idp.sessions import check_csrf
from models import Identity

router = APIRouter(prefix="/console", include_in_schema=False)
CATALOGUE = "console.passkey_code"


def _summary(db, identity: Identity) -> dict:  # type: ignore[no-untyped-def]
    values = claims.claim_values(db, identity)
    live = [row for row in passkey_registry.of(db, identity.id) if row.revoked_at is None]
    return {"uin": identity.uin, "name": values.get("name") or "", "birthdate": values.get("birthdate") or "",
            "passkeys": len(live)}


def _issuer(staff: Staff) -> passkey_bindings.Issuer:
    acting = "officer" if staff.has("officer") else "admin"
    return passkey_bindings.Issuer(staff.actor(acting), staff.roles, uin=staff.uin)


@router.get("/passkey-code")
def form(request: Request, staff: Staff = Depends(require_staff("officer", "admin"))) -> Response:
    """Step 1: the UIN of the person at the desk."""
    return pages.render(request, "console_passkey_code.html", staff=staff, section="passkey_code", step="find",
                        uin="", error=None)


@router.post("/passkey-code")
def answer(request: Request, staff: Staff = Depends(require_staff("officer", "admin")), csrf_token: str = Form(""),
           uin: str = Form("", max_length=40), action: str = Form("find")) -> Response:
    """``find``: show who the UIN belongs to, to compare with the person and their document; ``issue``: the code."""
    check_csrf(request, csrf_token)
    services = request.app.state.services
    issuer = _issuer(staff)
    try:
        with services.sessions.begin() as db:
            identity = passkey_bindings.find_identity(db, uin, issuer)
            person = _summary(db, identity)
            if action != "issue":
                audit.record(db, issuer.actor, "passkey.binding_lookup", "identity", identity.uin)
                return pages.render(request, "console_passkey_code.html", staff=staff, section="passkey_code",
                                    step="confirm", uin=identity.uin, person=person, error=None)
            code, row = passkey_bindings.issue_code(db, services.idp_secrets, services.settings.passkey_binding_ttl_s,
                                                    identity, issuer)
            minutes = max(1, services.settings.passkey_binding_ttl_s // 60)
            return pages.render(request, "console_passkey_code.html", staff=staff, section="passkey_code",
                                step="issued", uin=identity.uin, person=person, code=code, minutes=minutes,
                                expires=pages.when(row.expires_at), error=None,
                                bind_url=services.settings.resolved_issuer + "/passkeys/bind")
    except CividError as exc:
        return pages.render(request, "console_passkey_code.html", status=exc.status, staff=staff,
                            section="passkey_code", step="find", uin=uin,
                            error=error_text(exc, CATALOGUE, pages.language(request)))


MESSAGES = {
    "console.nav.passkey_code": {"en": "Passkey code", "es": "Código de llave de acceso"},
    "console.home.passkey_code": {
        "en": "Give a person at the desk a one-time code to add a passkey (a staff member's code: administrators "
              "only).",
        "es": "Dar a una persona en el mostrador un código de un solo uso para agregar una llave de acceso (el "
              "código de un miembro del personal: solo administradores)."},
    "console.passkey_code.title": {"en": "Passkey binding code", "es": "Código para vincular una llave de acceso"},
    "console.passkey_code.intro": {
        "en": "Check the person's identity document first. Then find them by their UIN, compare the name and date "
              "of birth, and issue the code. They type it at the address below on their own phone or computer.",
        "es": "Revise primero el documento de identidad de la persona. Luego búsquela por su NUI, compare el nombre "
              "y la fecha de nacimiento, y emita el código. La persona lo escribe en la dirección de abajo en su "
              "propio teléfono o computadora."},
    "console.passkey_code.uin": {"en": "UIN of the person at the desk", "es": "NUI de la persona en el mostrador"},
    "console.passkey_code.find": {"en": "Find", "es": "Buscar"},
    "console.passkey_code.check": {"en": "Is this the person in front of you?",
                                   "es": "¿Es esta la persona que tiene delante?"},
    "console.passkey_code.name": {"en": "Name", "es": "Nombre"},
    "console.passkey_code.birthdate": {"en": "Date of birth", "es": "Fecha de nacimiento"},
    "console.passkey_code.passkeys": {"en": "Passkeys already in use", "es": "Llaves de acceso ya en uso"},
    "console.passkey_code.issue": {"en": "Yes, issue a code", "es": "Sí, emitir un código"},
    "console.passkey_code.other": {"en": "No, look up another UIN", "es": "No, buscar otro NUI"},
    "console.passkey_code.issued": {
        "en": "Give this code to {name}. It is shown only now, works once, and expires in {minutes} minutes "
              "(at {expires}).",
        "es": "Entregue este código a {name}. Se muestra solo ahora, sirve una vez y caduca en {minutes} minutos "
              "(a las {expires})."},
    "console.passkey_code.where": {"en": "Where to type it", "es": "Dónde escribirlo"},
    "console.passkey_code.another": {"en": "Issue a code for another person", "es": "Emitir un código para otra persona"},
    "console.passkey_code.unknown_uin": {"en": "No one is enrolled with UIN {uin}. Check the number.",
                                         "es": "No hay nadie inscrito con el NUI {uin}. Revise el número."},
    "console.passkey_code.inactive": {"en": "The identity {uin} is not active: no passkey can be bound to it.",
                                      "es": "La identidad {uin} no está activa: no se le puede vincular una llave "
                                            "de acceso."},
    "console.passkey_code.staff_needs_admin": {
        "en": "UIN {uin} has a staff account: only an administrator may issue its passkey code, since the passkey "
              "signs in to the console with that person's roles.",
        "es": "El NUI {uin} tiene una cuenta de personal: solo un administrador puede emitir su código de llave de "
              "acceso, porque la llave inicia sesión en la consola con las funciones de esa persona."},
    "console.passkey_code.own_uin": {
        "en": "This is your own UIN: nobody issues a passkey code for themselves. Ask a colleague.",
        "es": "Este es su propio NUI: nadie emite un código de llave de acceso para sí mismo. Pídaselo a un colega."},
    "console.passkey_code.officer_needed": {
        "en": "A citizen's passkey code is issued by a registration officer, who checks the person and their "
              "document at the desk.",
        "es": "El código de llave de acceso de un ciudadano lo emite un oficial de registro, que comprueba a la "
              "persona y su documento en el mostrador."},
    "console.passkey_code.uin_format": {"en": "A UIN is {length} digits and does not start with 0.",
                                        "es": "Un NUI tiene {length} dígitos y no empieza por 0."},
    "console.passkey_code.uin_check_digit": {"en": "This UIN's last digit does not match: it was probably mistyped.",
                                             "es": "El último dígito de este NUI no coincide: probablemente se "
                                                   "escribió mal."},
}
