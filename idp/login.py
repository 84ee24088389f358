"""The login page: which methods the citizen may use for this request, and the forms for them.

``GET /login/{uid}`` serves an interaction (a portal's authorization request); ``GET /login`` a citizen
signing in to civid itself (afterwards: the account page). The methods offered follow the level the
portal asked for (``idp.acr.allowed_methods``): a passkey always, a face check only when the lower level
will do. The page says plainly why face login is the lower level.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from civid.deps import get_services
from idp.runtime import IdpServices
from idp import acr, clients, face_challenges, i18n, interactions, pages
from models import AuthorizationRequest

router = APIRouter(tags=["citizen pages"], dependencies=[Depends(pages.html_page)])


def render_login(request: Request, services: IdpServices, interaction: AuthorizationRequest | None, *,
                 uin: str | None = None, error: str | None = None, error_values: dict | None = None,
                 status: int = 200) -> HTMLResponse:
    """The login page for ``interaction`` (None: civid's own login), with a fresh face challenge and,
    after a failed attempt, the message ``error`` (an i18n key) and the UIN typed."""
    params = interaction.params if interaction is not None else {}
    methods = acr.allowed_methods(params.get("acr_values") or [])
    uid = interaction.uid if interaction is not None else None
    with services.sessions.begin() as db:
        client = clients.find(db, interaction.client_id) if interaction is not None else None
        challenge = (face_challenges.issue(db, services.settings.face_challenge_ttl_s, "login", uid)
                     if "face" in methods else None)
        client_name = client.name if client is not None else None
    return pages.render(
        request, "login.html", status=status, ui_locales=params.get("ui_locales"),
        interaction_uid=uid, client_name=client_name, methods=methods, passkey_only=methods == ("passkey",),
        face_challenge=challenge, face_action=f"/login/{uid}/face" if uid else "/login/face",
        uin=uin if uin is not None else params.get("login_hint"), error=error, error_values=error_values or {})


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, services: IdpServices = Depends(get_services)) -> HTMLResponse:
    """Sign in to civid itself (to manage passkeys and consents)."""
    return render_login(request, services, None)


@router.get("/login/{uid}", response_class=HTMLResponse)
def interaction_login_page(uid: str, request: Request, services: IdpServices = Depends(get_services)) -> HTMLResponse:
    """Sign in for a portal's authorization request."""
    with services.sessions() as db:
        interaction = interactions.load(db, uid)
        db.expunge(interaction)
    return render_login(request, services, interaction)


i18n.register({
    "login.title": {"en": "Sign in", "es": "Iniciar sesión"},
    "login.for_client": {"en": "{client} asks you to sign in with your national digital identity.",
                         "es": "{client} le pide que inicie sesión con su identidad digital nacional."},
    "login.for_account": {"en": "Sign in to manage your passkeys and the services you share your data with.",
                          "es": "Inicie sesión para administrar sus llaves de acceso y los servicios con los que "
                                "comparte sus datos."},
    "login.passkey.title": {"en": "With a passkey", "es": "Con una llave de acceso"},
    "login.passkey.explain": {
        "en": "A passkey is kept on your phone or security key and unlocked with your PIN, fingerprint or face "
              "on that device. It is the strongest way to sign in.",
        "es": "Una llave de acceso se guarda en su teléfono o llave de seguridad y se desbloquea con su PIN, huella "
              "o rostro en ese dispositivo. Es la forma más segura de iniciar sesión."},
    "login.passkey.unavailable": {
        "en": "Passkey sign-in is not available on this page yet.",
        "es": "El inicio de sesión con llave de acceso aún no está disponible en esta página."},
    "login.face.title": {"en": "With a photo of your face", "es": "Con una foto de su rostro"},
    "login.face.honesty": {
        "en": "Face sign-in is the lower assurance level. civid compares your photo with the one taken when you "
              "enrolled, but it cannot yet tell a live face from a printed photo or a screen held up to the camera "
              "(a presentation attack). For that reason some services require a passkey.",
        "es": "El inicio de sesión con el rostro es el nivel de seguridad más bajo. civid compara su foto con la que "
              "se tomó cuando se registró, pero todavía no puede distinguir un rostro real de una foto impresa o de "
              "una pantalla puesta frente a la cámara (un ataque de presentación). Por eso algunos servicios exigen "
              "una llave de acceso."},
    "login.passkey_required": {
        "en": "{client} requires a passkey. Face sign-in is not accepted for this service because civid cannot yet "
              "detect printed photos or screens held up to the camera.",
        "es": "{client} exige una llave de acceso. El inicio de sesión con el rostro no se acepta para este servicio "
              "porque civid todavía no puede detectar fotos impresas ni pantallas puestas frente a la cámara."},
    "login.no_passkey": {
        "en": "No passkey yet? Bind one at an enrolment office, or sign in with your face on a service that accepts "
              "it and add a passkey from your account page.",
        "es": "¿Aún no tiene una llave de acceso? Vincule una en una oficina de registro, o inicie sesión con su "
              "rostro en un servicio que lo acepte y agregue una llave desde la página de su cuenta."},
    "login.or": {"en": "or", "es": "o"},
})
