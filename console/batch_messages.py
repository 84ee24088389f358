"""The words of the registration-drive (batch) pages, English and Spanish."""

from __future__ import annotations

from idp import i18n

MESSAGES = {
    "console.batch.title": {"en": "Registration drive (batch)", "es": "Jornada de registro (lote)"},
    "console.batch.intro": {
        "en": "Upload the ZIP archive of a mobile registration drive. Each person is enrolled as if at the desk, by "
              "you, with the same quality checks and duplicate search; the archive is kept encrypted until every "
              "person has been processed, then deleted.",
        "es": "Suba el archivo ZIP de una jornada de registro móvil. Cada persona se inscribe como en la ventanilla, "
              "a su nombre, con los mismos controles de calidad y la misma búsqueda de duplicados; el archivo se "
              "guarda cifrado hasta que se procesa a todas las personas y luego se elimina."},
    "console.batch.layout_title": {"en": "What the archive must contain", "es": "Qué debe contener el archivo"},
    "console.batch.layout": {
        "en": "One folder per person, holding: person.json (demographics, documents checked, fingers that cannot be "
              "given), one or more face photos face*.jpg or face*.png, and the scanned fingers finger-<position>.png "
              "(position 1 = right thumb … 10 = left little).",
        "es": "Una carpeta por persona, con: person.json (datos, documentos comprobados, dedos que no se pueden "
              "tomar), una o más fotos del rostro face*.jpg o face*.png, y los dedos escaneados finger-<posición>.png "
              "(posición 1 = pulgar derecho … 10 = meñique izquierdo)."},
    "console.batch.example": {"en": "Example person.json", "es": "Ejemplo de person.json"},
    "console.batch.limits": {
        "en": "Limits: {archive} MB per archive, {packages} people, {members} files, {expanded} MB uncompressed.",
        "es": "Límites: {archive} MB por archivo, {packages} personas, {members} archivos, {expanded} MB sin "
              "comprimir."},
    "console.batch.file": {"en": "ZIP archive of the drive", "es": "Archivo ZIP de la jornada"},
    "console.batch.upload": {"en": "Upload and start", "es": "Subir y comenzar"},
    "console.batch.one_at_a_time": {"en": "You can run one batch at a time.",
                                    "es": "Puede procesar un lote a la vez."},
    "console.batch.refused": {"en": "The archive was refused; nothing was enrolled: {detail}",
                              "es": "El archivo fue rechazado; no se inscribió a nadie: {detail}"},
    "console.batch.cannot": {"en": "That cannot be done now: {detail}", "es": "No se puede hacer ahora: {detail}"},
    "console.batch.yours": {"en": "Your batches", "es": "Sus lotes"},
    "console.batch.none": {"en": "You have not uploaded a batch yet.", "es": "Aún no ha subido ningún lote."},
    "console.batch.uploaded": {"en": "Uploaded", "es": "Subido"},
    "console.batch.archive": {"en": "Archive", "es": "Archivo"},
    "console.batch.state": {"en": "State", "es": "Estado"},
    "console.batch.progress": {"en": "Progress", "es": "Progreso"},
    "console.batch.of": {"en": "{done} of {total} people processed", "es": "{done} de {total} personas procesadas"},
    "console.batch.status.running": {"en": "Running", "es": "En curso"},
    "console.batch.status.interrupted": {"en": "Interrupted", "es": "Interrumpido"},
    "console.batch.status.paused": {"en": "Paused", "es": "En pausa"},
    "console.batch.status.completed": {"en": "Completed", "es": "Terminado"},
    "console.batch.explain.running": {
        "en": "The people are being enrolled one after the other. You may leave this page: the work goes on.",
        "es": "Las personas se inscriben una tras otra. Puede salir de esta página: el trabajo continúa."},
    "console.batch.explain.interrupted": {
        "en": "Processing stopped (the service restarted or failed). Resume it: nobody already enrolled is enrolled "
              "again.",
        "es": "El proceso se detuvo (el servicio se reinició o falló). Reanúdelo: nadie ya inscrito se inscribe de "
              "nuevo."},
    "console.batch.explain.paused": {"en": "You paused this batch. Resume it to continue.",
                                     "es": "Usted pausó este lote. Reanúdelo para continuar."},
    "console.batch.explain.completed": {"en": "Every person has a result. The archive has been deleted.",
                                        "es": "Cada persona tiene un resultado. El archivo se ha eliminado."},
    "console.batch.pause": {"en": "Pause", "es": "Pausar"},
    "console.batch.resume": {"en": "Resume", "es": "Reanudar"},
    "console.batch.report": {"en": "Download the results (CSV)", "es": "Descargar los resultados (CSV)"},
    "console.batch.results": {"en": "Results per person", "es": "Resultados por persona"},
    "console.batch.package": {"en": "Package", "es": "Paquete"},
    "console.batch.result": {"en": "Result", "es": "Resultado"},
    "console.batch.details": {"en": "UIN, case or reasons", "es": "NUI, caso o motivos"},
    "console.batch.case": {"en": "case {case}", "es": "caso {case}"},
    "console.batch.open": {"en": "open", "es": "abrir"},
    "console.batch.record.pending": {"en": "Waiting", "es": "En espera"},
    "console.batch.record.issued": {"en": "UIN issued", "es": "NUI emitido"},
    "console.batch.record.case_opened": {"en": "Possible duplicate: case opened",
                                         "es": "Posible duplicado: caso abierto"},
    "console.batch.record.rejected": {"en": "Refused by the quality checks",
                                      "es": "Rechazado por los controles de calidad"},
    "console.batch.record.invalid": {"en": "Package unusable", "es": "Paquete inutilizable"},
    "console.batch.record.error": {"en": "Failed (see the log)", "es": "Falló (ver el registro)"},
}


def register() -> None:
    i18n.register(MESSAGES)
