"""The words of the auditor's pages (``audit.*``), in English and Spanish."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "audit.title": {"en": "Audit trail", "es": "Registro de auditoría"},
    "audit.intro": {"en": "Every enrolment, decision, sign-in, data release and administrative change, in order. "
                          "Each event is chained to the one before by its hash, so an altered or deleted event shows.",
                    "es": "Cada inscripción, decisión, inicio de sesión, entrega de datos y cambio administrativo, en "
                          "orden. Cada evento está encadenado al anterior por su hash, así que un evento alterado o "
                          "borrado se nota."},
    "audit.search": {"en": "Search", "es": "Buscar"},
    "audit.clear": {"en": "Clear the filters", "es": "Quitar los filtros"},
    "audit.field.person": {"en": "Person (UIN)", "es": "Persona (UIN)"},
    "audit.field.person_hint": {"en": "Every event about this person.", "es": "Todos los eventos sobre esta persona."},
    "audit.field.actor": {"en": "Officer or other actor", "es": "Oficial u otro actor"},
    "audit.field.actor_hint": {"en": "Part of the name is enough.", "es": "Basta con parte del nombre."},
    "audit.field.client": {"en": "Portal or bank (client id)", "es": "Portal o banco (client id)"},
    "audit.field.action": {"en": "Action", "es": "Acción"},
    "audit.field.action_hint": {"en": "e.g. case.decided, or case for every case event.",
                                "es": "p. ej. case.decided, o case para todos los eventos de casos."},
    "audit.field.since": {"en": "From", "es": "Desde"},
    "audit.field.until": {"en": "Until", "es": "Hasta"},
    "audit.field.time_hint": {"en": "Time in UTC.", "es": "Hora en UTC."},
    "audit.error.summary": {"en": "The search could not run:", "es": "No se pudo realizar la búsqueda:"},
    "audit.error.person": {"en": "This is not a valid UIN (10 digits with a correct check digit).",
                           "es": "Este no es un UIN válido (10 dígitos con dígito de control correcto)."},
    "audit.error.time": {"en": "Enter a date (YYYY-MM-DD) or a date and time.",
                         "es": "Introduzca una fecha (AAAA-MM-DD) o una fecha y hora."},
    "audit.verify": {"en": "Verify the chain", "es": "Verificar la cadena"},
    "audit.chain.intact.one": {"en": "The chain is intact: {count} event checked.",
                               "es": "La cadena está intacta: {count} evento comprobado."},
    "audit.chain.intact.other": {"en": "The chain is intact: {count} events checked.",
                                 "es": "La cadena está intacta: {count} eventos comprobados."},
    "audit.chain.broken.one": {"en": "The chain is broken at event #{id} (the one event before it is intact).",
                               "es": "La cadena está rota en el evento n.º {id} (el único evento anterior está "
                                     "intacto)."},
    "audit.chain.broken.other": {"en": "The chain is broken at event #{id} ({count} events before it are intact).",
                                 "es": "La cadena está rota en el evento n.º {id} ({count} eventos anteriores están "
                                       "intactos)."},
    "audit.chain.broken_hint": {"en": "That event, or the link to the one before it, was altered or deleted. Report "
                                      "it to the security officer; do not change the database.",
                                "es": "Ese evento, o su enlace con el anterior, fue alterado o borrado. Comuníquelo al "
                                      "responsable de seguridad; no modifique la base de datos."},
    "audit.export.one": {"en": "Export this event (CSV)", "es": "Exportar este evento (CSV)"},
    "audit.export.other": {"en": "Export these {count} events (CSV)", "es": "Exportar estos {count} eventos (CSV)"},
    "audit.results.one": {"en": "{count} event found", "es": "{count} evento encontrado"},
    "audit.results.other": {"en": "{count} events found", "es": "{count} eventos encontrados"},
    "audit.none": {"en": "No event matches this search.", "es": "Ningún evento coincide con esta búsqueda."},
    "audit.col.when": {"en": "When (UTC)", "es": "Cuándo (UTC)"},
    "audit.col.actor": {"en": "Who", "es": "Quién"},
    "audit.col.action": {"en": "Action", "es": "Acción"},
    "audit.col.subject": {"en": "About", "es": "Sobre"},
    "audit.col.person": {"en": "Person", "es": "Persona"},
    "audit.col.client": {"en": "Client", "es": "Cliente"},
    "audit.col.detail": {"en": "Detail", "es": "Detalle"},
    "audit.no_biometrics": {"en": "The audit trail holds no biometric data, secrets or full document numbers.",
                            "es": "El registro de auditoría no contiene datos biométricos, secretos ni números de "
                                  "documento completos."},
}
