"""The console's shared words (layout, navigation, sign-in), English and Spanish. Page modules register
their own next to their code with ``idp.i18n.register``."""

from __future__ import annotations

from idp import i18n

MESSAGES = {
    "console.title": {"en": "Registration console", "es": "Consola de registro"},
    "console.nav.home": {"en": "Home", "es": "Inicio"},
    "console.nav.enrol": {"en": "New enrolment", "es": "Nueva inscripción"},
    "console.nav.batch": {"en": "Registration drive (batch)", "es": "Jornada de registro (lote)"},
    "console.nav.cases": {"en": "Possible duplicates", "es": "Posibles duplicados"},
    "console.nav.audit": {"en": "Audit trail", "es": "Registro de auditoría"},
    "console.nav.admin": {"en": "Administration", "es": "Administración"},
    "console.nav.main": {"en": "Console sections", "es": "Secciones de la consola"},
    "console.signed_in_as": {"en": "Signed in as {name}", "es": "Sesión iniciada como {name}"},
    "console.sign_out": {"en": "Sign out", "es": "Cerrar sesión"},
    "console.signed_out.title": {"en": "You have signed out", "es": "Ha cerrado la sesión"},
    "console.signed_out.body": {"en": "Close this window if you are at a shared desk.",
                                "es": "Cierre esta ventana si está en un puesto compartido."},
    "console.sign_in": {"en": "Sign in to the console", "es": "Iniciar sesión en la consola"},
    "console.home.title": {"en": "What would you like to do?", "es": "¿Qué desea hacer?"},
    "console.home.enrol": {"en": "Enrol a person: demographics, identity document, face photo and fingerprints.",
                           "es": "Inscribir a una persona: datos, documento de identidad, foto del rostro y huellas."},
    "console.home.batch": {"en": "Upload the packages of a mobile registration drive.",
                           "es": "Subir los paquetes de una jornada de registro móvil."},
    "console.home.cases": {"en": "Decide open possible-duplicate cases, oldest first.",
                           "es": "Resolver los casos abiertos de posibles duplicados, los más antiguos primero."},
    "console.home.audit": {"en": "Search the audit trail, check its integrity, export it.",
                           "es": "Buscar en el registro de auditoría, comprobar su integridad, exportarlo."},
    "console.home.admin": {"en": "Staff accounts and roles, portals and banks, signing keys.",
                           "es": "Cuentas y funciones del personal, portales y bancos, claves de firma."},
    "console.roles": {"en": "Your roles", "es": "Sus funciones"},
    "role.officer": {"en": "Registration officer", "es": "Oficial de registro"},
    "role.adjudicator": {"en": "Adjudicator", "es": "Adjudicador"},
    "role.auditor": {"en": "Auditor", "es": "Auditor"},
    "role.admin": {"en": "Administrator", "es": "Administrador"},
    "roles.officer": {"en": "registration officers", "es": "oficiales de registro"},
    "roles.adjudicator": {"en": "adjudicators", "es": "adjudicadores"},
    "roles.auditor": {"en": "auditors", "es": "auditores"},
    "roles.admin": {"en": "administrators", "es": "administradores"},
    "console.idle.one": {"en": "For security you are signed out after {count} minute without activity.",
                         "es": "Por seguridad, su sesión se cierra tras {count} minuto sin actividad."},
    "console.idle.other": {"en": "For security you are signed out after {count} minutes without activity.",
                           "es": "Por seguridad, su sesión se cierra tras {count} minutos sin actividad."},
}


def register_all() -> None:
    i18n.register(MESSAGES)
