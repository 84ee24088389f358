"""The words of the adjudicator's pages (``cases.*``) and those shared by the review pages (``review.*``:
paging, finger names), in English and Spanish."""

from __future__ import annotations

FINGERS = {
    0: ("Unknown finger", "Dedo desconocido"), 1: ("Right thumb", "Pulgar derecho"),
    2: ("Right index", "Índice derecho"), 3: ("Right middle", "Medio derecho"), 4: ("Right ring", "Anular derecho"),
    5: ("Right little", "Meñique derecho"), 6: ("Left thumb", "Pulgar izquierdo"),
    7: ("Left index", "Índice izquierdo"), 8: ("Left middle", "Medio izquierdo"), 9: ("Left ring", "Anular izquierdo"),
    10: ("Left little", "Meñique izquierdo"),
}
FIELDS = {
    "given_name": ("Given names", "Nombres"), "middle_names": ("Middle names", "Segundos nombres"),
    "family_name": ("Family name", "Apellidos"), "date_of_birth": ("Date of birth", "Fecha de nacimiento"),
    "sex": ("Sex", "Sexo"), "place_of_birth": ("Place of birth", "Lugar de nacimiento"),
    "nationality": ("Nationality", "Nacionalidad"), "address": ("Address", "Dirección"),
    "phone": ("Phone", "Teléfono"), "email": ("E-mail", "Correo electrónico"),
    "documents": ("Documents checked", "Documentos revisados"), "enrolled": ("Enrolled on", "Inscrito el"),
    "officer": ("Registration officer", "Oficial de registro"),
}

MESSAGES: dict[str, dict[str, str]] = {
    **{f"review.finger.{code}": {"en": en, "es": es} for code, (en, es) in FINGERS.items()},
    **{f"cases.field.{name}": {"en": en, "es": es} for name, (en, es) in FIELDS.items()},
    "review.pages": {"en": "Pages", "es": "Páginas"},
    "review.page.previous": {"en": "Previous page", "es": "Página anterior"},
    "review.page.next": {"en": "Next page", "es": "Página siguiente"},
    "review.page.of": {"en": "Page {page} of {total}", "es": "Página {page} de {total}"},
    "review.finger_reason.amputated": {"en": "amputated", "es": "amputado"},
    "review.finger_reason.bandaged": {"en": "bandaged", "es": "vendado"},
    "review.finger_reason.scarred": {"en": "scarred", "es": "con cicatrices"},
    "review.finger_reason.missing_at_birth": {"en": "missing at birth", "es": "ausente de nacimiento"},
    "review.finger_reason.unable_to_capture": {"en": "could not be captured", "es": "no se pudo capturar"},
    "review.finger_status.captured": {"en": "captured", "es": "capturado"},
    "review.finger_status.imported": {"en": "imported", "es": "importado"},
    "review.finger_status.rejected": {"en": "rejected", "es": "rechazado"},
    "review.finger_status.excepted": {"en": "not given", "es": "no tomado"},

    "cases.title": {"en": "Possible duplicates", "es": "Posibles duplicados"},
    "cases.tabs": {"en": "Which cases", "es": "Qué casos"},
    "cases.tab.open": {"en": "Open (oldest first)", "es": "Abiertos (los más antiguos primero)"},
    "cases.tab.decided": {"en": "Decided", "es": "Resueltos"},
    "cases.intro.open": {"en": "Each case is an applicant whose face or fingerprints matched someone already enrolled. "
                                 "The applicant waits without a UIN until you decide.",
                         "es": "Cada caso es un solicitante cuyo rostro o huellas coincidieron con alguien ya "
                               "inscrito. El solicitante espera sin UIN hasta que usted decida."},
    "cases.intro.decided": {"en": "Decided cases, most recent first. Open one to see its history or to change the "
                                  "decision with a new one.",
                            "es": "Casos resueltos, los más recientes primero. Abra uno para ver su historial o para "
                                  "cambiar la decisión con una nueva."},
    "cases.count.one": {"en": "{count} case", "es": "{count} caso"},
    "cases.count.other": {"en": "{count} cases", "es": "{count} casos"},
    "cases.col.waiting": {"en": "Waiting", "es": "En espera"},
    "cases.col.decided": {"en": "Decided on", "es": "Resuelto el"},
    "cases.col.applicant": {"en": "Applicant", "es": "Solicitante"},
    "cases.col.candidates": {"en": "Candidates", "es": "Candidatos"},
    "cases.col.best_face": {"en": "Best face score", "es": "Mejor puntuación facial"},
    "cases.col.best_fused": {"en": "Strongest combined evidence (LLR)", "es": "Evidencia combinada más fuerte (LLR)"},
    "cases.col.decision": {"en": "Decision", "es": "Decisión"},
    "cases.none.open": {"en": "No open cases. Nothing is waiting for a decision.",
                        "es": "No hay casos abiertos. Nada espera una decisión."},
    "cases.none.decided": {"en": "No case has been decided yet.", "es": "Todavía no se ha resuelto ningún caso."},
    "cases.age.days": {"en": "{days} d {hours} h", "es": "{days} d y {hours} h"},
    "cases.age.hours": {"en": "{hours} h", "es": "{hours} h"},
    "cases.age.minutes.one": {"en": "{count} minute", "es": "{count} minuto"},
    "cases.age.minutes.other": {"en": "{count} minutes", "es": "{count} minutos"},
    "cases.llr.same": {"en": "{ratio}× likelier if the same person",
                       "es": "{ratio} veces más probable si es la misma persona"},
    "cases.llr.different": {"en": "{ratio}× likelier if different people",
                            "es": "{ratio} veces más probable si son personas distintas"},

    "cases.back": {"en": "Back to the cases", "es": "Volver a los casos"},
    "cases.case.title": {"en": "Possible duplicate: {name}", "es": "Posible duplicado: {name}"},
    "cases.case.id": {"en": "Case", "es": "Caso"},
    "cases.status.open": {"en": "Open", "es": "Abierto"},
    "cases.status.decided": {"en": "Decided", "es": "Resuelto"},
    "cases.waiting": {"en": "waiting for {age}", "es": "en espera desde hace {age}"},
    "cases.done.decided": {"en": "Your decision is recorded in the audit trail.",
                           "es": "Su decisión quedó registrada en el registro de auditoría."},
    "cases.done.changed": {"en": "The new decision is recorded; the previous one stays in the history.",
                           "es": "La nueva decisión quedó registrada; la anterior permanece en el historial."},
    "cases.compare": {"en": "Applicant and candidates side by side", "es": "Solicitante y candidatos lado a lado"},
    "cases.compare.hint": {"en": "Fields that differ from the applicant's are marked ≠. Scroll sideways when there "
                                 "are several candidates.",
                           "es": "Los campos que difieren de los del solicitante están marcados con ≠. Desplácese "
                                 "hacia el lado si hay varios candidatos."},
    "cases.applicant": {"en": "Applicant", "es": "Solicitante"},
    "cases.candidate": {"en": "Candidate {rank}", "es": "Candidato {rank}"},
    "cases.no_uin": {"en": "no UIN yet", "es": "todavía sin UIN"},
    "cases.enrolment_status.issued": {"en": "UIN issued", "es": "UIN emitido"},
    "cases.enrolment_status.pending_adjudication": {"en": "awaiting a decision", "es": "en espera de decisión"},
    "cases.enrolment_status.duplicate": {"en": "a duplicate attempt", "es": "un intento duplicado"},
    "cases.enrolment_status.rejected": {"en": "rejected", "es": "rechazado"},
    "cases.photos": {"en": "Photos", "es": "Fotos"},
    "cases.photos.closed": {"en": "Photos are shown only while a case is open.",
                            "es": "Las fotos solo se muestran mientras el caso está abierto."},
    "cases.photos.none": {"en": "No photo kept for this enrolment.", "es": "No se conservó foto de esta inscripción."},
    "cases.photo.applicant": {"en": "Applicant, photo {n}", "es": "Solicitante, foto {n}"},
    "cases.photo.candidate": {"en": "Candidate {rank}, photo {n}", "es": "Candidato {rank}, foto {n}"},
    "cases.differs": {"en": "differs from the applicant", "es": "difiere del solicitante"},
    "cases.face_score": {"en": "Face score", "es": "Puntuación facial"},
    "cases.finger_scores": {"en": "Fingerprint scores", "es": "Puntuaciones de huellas"},
    "cases.finger.match": {"en": "match", "es": "coincide"},
    "cases.finger.no_match": {"en": "no match", "es": "no coincide"},
    "cases.finger.none": {"en": "No finger compared (not given on one side).",
                          "es": "Ninguna huella comparada (falta en uno de los lados)."},
    "cases.finger.none_taken": {"en": "No fingerprints taken.", "es": "No se tomaron huellas."},
    "cases.finger.excepted": {"en": "not given ({reason})", "es": "no tomada ({reason})"},
    "cases.fingerprints_taken": {"en": "Fingerprints taken (quality)", "es": "Huellas tomadas (calidad)"},
    "cases.fused": {"en": "Combined evidence", "es": "Evidencia combinada"},
    "cases.threshold.above": {"en": "at or above threshold", "es": "en o sobre el umbral"},
    "cases.threshold.below": {"en": "below threshold", "es": "bajo el umbral"},
    "cases.thresholds": {
        "en": "How to read the scores: a case is opened when the combined evidence (the sum of the log-likelihood "
              "ratios of the face and every finger compared) reaches {fused}, that is {fused_words}. The face "
              "threshold is {face}; a finger matches at {finger} or more. A score is evidence, not a decision: "
              "check the photos and the demographics.",
        "es": "Cómo leer las puntuaciones: se abre un caso cuando la evidencia combinada (la suma de los logaritmos "
              "de razón de verosimilitud del rostro y de cada huella comparada) alcanza {fused}, es decir "
              "{fused_words}. El umbral facial es {face}; una huella coincide a partir de {finger}. Una puntuación "
              "es evidencia, no una decisión: revise las fotos y los datos."},
    "cases.no_templates": {"en": "Biometric templates and fingerprint images are never shown.",
                           "es": "Las plantillas biométricas y las imágenes de huellas nunca se muestran."},
    "cases.decision": {"en": "Decision", "es": "Decisión"},
    "cases.decision.duplicate": {"en": "Duplicate", "es": "Duplicado"},
    "cases.decision.not_duplicate": {"en": "Not a duplicate", "es": "No es duplicado"},
    "cases.duplicate_of": {"en": "same person as UIN {uin}", "es": "misma persona que el UIN {uin}"},
    "cases.decided.attempt": {
        "en": "This application is kept as an attempt against UIN {uin}. That identity's record did not change: "
              "portals and banks still receive the names, address and document evidence of the enrolment that "
              "issued the UIN.",
        "es": "Esta solicitud se conserva como un intento contra el UIN {uin}. El registro de esa identidad no "
              "cambió: los portales y los bancos siguen recibiendo los nombres, la dirección y la evidencia "
              "documental de la inscripción que emitió el UIN."},
    "cases.decided_by": {"en": "Decided by {name} on {when}.", "es": "Resuelto por {name} el {when}."},
    "cases.comment": {"en": "Comment", "es": "Comentario"},
    "cases.history": {"en": "History of decisions", "es": "Historial de decisiones"},
    "cases.history.when": {"en": "When", "es": "Cuándo"},
    "cases.history.who": {"en": "Adjudicator", "es": "Adjudicador"},
    "cases.history.caption": {"en": "Every decision on this case, oldest first. A decision is never edited: a change "
                                    "is a new decision that replaces the one before; the last is in force.",
                              "es": "Todas las decisiones sobre este caso, la más antigua primero. Una decisión nunca "
                                    "se edita: un cambio es una nueva decisión que reemplaza a la anterior; la última "
                                    "es la vigente."},
    "cases.history.number": {"en": "No.", "es": "N.º"},
    "cases.history.replaces": {"en": "Replaces", "es": "Reemplaza a"},
    "cases.history.replaces_decision": {"en": "decision {n}", "es": "la decisión {n}"},
    "cases.history.first": {"en": "— (first decision)", "es": "— (primera decisión)"},
    "cases.history.in_force": {"en": "in force", "es": "vigente"},
    "cases.change": {"en": "Change this decision", "es": "Cambiar esta decisión"},
    "cases.change.hint": {"en": "A decision is never edited: a new decision replaces it and both stay in the audit "
                                "trail. What a change does:",
                          "es": "Una decisión nunca se edita: una nueva decisión la reemplaza y ambas quedan en el "
                                "registro de auditoría. Lo que hace un cambio:"},
    "cases.change.to_not_duplicate": {
        "en": "To “not a duplicate”: the applicant receives a new UIN of their own and is searched again in future "
              "deduplications; the identity it was an attempt against is not changed.",
        "es": "A «no es duplicado»: el solicitante recibe un UIN propio nuevo y vuelve a buscarse en futuras "
              "deduplicaciones; la identidad contra la que fue un intento no cambia."},
    "cases.change.to_duplicate": {
        "en": "To “duplicate”: the UIN issued to the applicant is withdrawn for good (no sign-in, tokens revoked, "
              "never reused) and the application is kept as an attempt against the candidate's identity, whose record "
              "does not change.",
        "es": "A «duplicado»: el UIN emitido al solicitante se retira definitivamente (sin inicio de sesión, tokens "
              "revocados, nunca reutilizado) y la solicitud se conserva como un intento contra la identidad del "
              "candidato, cuyo registro no cambia."},
    "cases.form.decision": {"en": "Your decision", "es": "Su decisión"},
    "cases.form.duplicate_hint": {"en": "the applicant is already enrolled; no new UIN is issued.",
                                  "es": "el solicitante ya está inscrito; no se emite un nuevo UIN."},
    "cases.form.duplicate_effect": {
        "en": "What “duplicate” does with the applicant's data: their names, address and documents do not replace "
              "the candidate's record. Portals, banks and the citizen keep seeing the record of the enrolment that "
              "issued the UIN, with its document evidence. This application is kept as an attempt against that "
              "identity, for adjudicators and auditors, and recorded in the audit trail; its photos and fingerprints "
              "leave the search galleries and never sign in or verify as that person. Correcting the record itself "
              "is a separate, audited update with evidence.",
        "es": "Lo que hace «duplicado» con los datos del solicitante: sus nombres, dirección y documentos no "
              "reemplazan el registro del candidato. Los portales, los bancos y el ciudadano siguen viendo el "
              "registro de la inscripción que emitió el UIN, con su evidencia documental. Esta solicitud se "
              "conserva como un intento contra esa identidad, para adjudicadores y auditores, y queda en el "
              "registro de auditoría; sus fotos y huellas salen de las galerías de búsqueda y nunca sirven para "
              "iniciar sesión ni verificar como esa persona. Corregir el registro mismo es una actualización "
              "aparte, auditada y con evidencia."},
    "cases.form.not_duplicate_hint": {"en": "different people; the applicant receives their own UIN.",
                                      "es": "personas distintas; el solicitante recibe su propio UIN."},
    "cases.form.duplicate_of": {"en": "Duplicate of", "es": "Duplicado de"},
    "cases.form.duplicate_of_hint": {"en": "Only for “duplicate”: the candidate the applicant already is.",
                                     "es": "Solo para «duplicado»: el candidato que el solicitante ya es."},
    "cases.form.no_issued_candidate": {
        "en": "No candidate holds a UIN yet: decide the candidates' own cases first, or decide “not a duplicate”.",
        "es": "Ningún candidato tiene UIN todavía: resuelva primero los casos de los candidatos, o decida «no es "
              "duplicado»."},
    "cases.form.comment": {"en": "Comment (required)", "es": "Comentario (obligatorio)"},
    "cases.form.comment_hint": {"en": "Why you decided so: what you compared and what convinced you. It is kept with "
                                      "the decision and cannot be edited later.",
                                "es": "Por qué lo decidió: qué comparó y qué le convenció. Se guarda con la decisión "
                                      "y no puede editarse después."},
    "cases.form.confirm": {"en": "I understand what this change does to the UINs involved.",
                           "es": "Entiendo lo que este cambio hace a los UIN afectados."},
    "cases.form.submit": {"en": "Record decision", "es": "Registrar decisión"},
    "cases.form.submit_change": {"en": "Record the new decision", "es": "Registrar la nueva decisión"},
    "cases.conflict.enrolled": {"en": "You enrolled this applicant, so another adjudicator must decide this case.",
                                "es": "Usted inscribió a este solicitante, así que otro adjudicador debe resolver "
                                      "este caso."},
    "cases.conflict.candidate": {"en": "You are one of the candidates of this case, so another adjudicator must "
                                       "decide it.",
                                 "es": "Usted es uno de los candidatos de este caso, así que otro adjudicador debe "
                                       "resolverlo."},
    "cases.error.summary": {"en": "The decision was not recorded:", "es": "La decisión no se registró:"},
    "cases.error.decision": {"en": "Choose “duplicate” or “not a duplicate”.",
                             "es": "Elija «duplicado» o «no es duplicado»."},
    "cases.error.comment": {"en": "Write a comment of at least 3 characters saying why.",
                            "es": "Escriba un comentario de al menos 3 caracteres que explique por qué."},
    "cases.error.duplicate_of": {"en": "Choose which candidate the applicant duplicates.",
                                 "es": "Elija de qué candidato es duplicado el solicitante."},
    "cases.error.confirm": {"en": "Tick the box to confirm the change.",
                            "es": "Marque la casilla para confirmar el cambio."},
    # A decision or change the workflow refused (enrollment.adjudication, enrollment.decision_change), by code.
    "cases.problem.own_applicant": {
        "en": "You enrolled this applicant, so another adjudicator must decide the case (four eyes).",
        "es": "Usted inscribió a este solicitante, así que otro adjudicador debe resolver el caso (cuatro ojos)."},
    "cases.problem.already_decided": {
        "en": "This case has already been decided. To change the decision, use “Change this decision”.",
        "es": "Este caso ya fue resuelto. Para cambiar la decisión, use «Cambiar esta decisión»."},
    "cases.problem.still_open": {"en": "This case is still open: decide it first; there is nothing to change yet.",
                                 "es": "Este caso sigue abierto: resuélvalo primero; aún no hay nada que cambiar."},
    "cases.problem.not_a_candidate": {"en": "UIN {uin} is not an issued candidate of this case.",
                                      "es": "El NUI {uin} no es un candidato con NUI emitido en este caso."},
    "cases.problem.no_issued_candidate": {
        "en": "No candidate of this case holds a UIN yet: decide the candidates’ own cases first.",
        "es": "Ningún candidato de este caso tiene NUI todavía: resuelva primero los casos de los candidatos."},
    "cases.problem.name_the_candidate": {
        "en": "Several candidates hold a UIN: choose the one the applicant duplicates.",
        "es": "Varios candidatos tienen NUI: elija aquel del que el solicitante es duplicado."},
    "cases.problem.same_decision": {"en": "The case is already decided so: a change must change the decision.",
                                    "es": "El caso ya está resuelto así: un cambio debe cambiar la decisión."},
    "cases.problem.uin_in_use.other": {
        "en": "UIN {uin} also holds {count} other enrolments (later cases decided against it): change those "
              "decisions first.",
        "es": "El NUI {uin} tiene además otras {count} inscripciones (casos posteriores resueltos contra él): "
              "cambie primero esas decisiones."},
    "cases.problem.uin_in_use.one": {
        "en": "UIN {uin} also holds {count} other enrolment (a later case decided against it): change that decision "
              "first.",
        "es": "El NUI {uin} tiene además otra inscripción (un caso posterior resuelto contra él): cambie primero esa "
              "decisión."},
    "cases.problem.inconsistent": {
        "en": "The applicant holds no UIN to withdraw: the case record is inconsistent. Ask an administrator.",
        "es": "El solicitante no tiene un NUI que retirar: el registro del caso es incoherente. Consulte a un "
              "administrador."},
    "cases.problem.uin_format": {"en": "A UIN is {length} digits, not starting with 0.",
                                 "es": "Un NUI tiene {length} dígitos y no empieza por 0."},
    "cases.problem.uin_check_digit": {"en": "The UIN’s check digit is wrong (mistyped?).",
                                      "es": "El dígito de control del NUI es incorrecto (¿error de tecleo?)."},
}
