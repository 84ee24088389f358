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
        "en": "Limits: {archive} per archive, {people}, {files}, {expanded} uncompressed; each photo or fingerprint "
              "file at most {per_file}, person.json at most {person}.",
        "es": "Límites: {archive} por archivo, {people}, {files}, {expanded} sin comprimir; cada foto o imagen de "
              "huella como máximo {per_file}, person.json como máximo {person}."},
    "console.batch.people.one": {"en": "{n} person", "es": "{n} persona"},
    "console.batch.people.other": {"en": "{n} people", "es": "{n} personas"},
    "console.batch.files.one": {"en": "{n} file", "es": "{n} fichero"},
    "console.batch.files.other": {"en": "{n} files", "es": "{n} ficheros"},
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
    "console.batch.of.one": {"en": "{done} of {total} person processed", "es": "{done} de {total} persona procesada"},
    "console.batch.of.other": {"en": "{done} of {total} people processed",
                               "es": "{done} de {total} personas procesadas"},
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
    "console.batch.uin": {"en": "UIN {uin}", "es": "NUI {uin}"},
    "console.batch.candidate": {"en": "Possible duplicate of {name}, UIN {uin}; an adjudicator decides (case {case}).",
                                "es": "Posible duplicado de {name}, NUI {uin}; decide un adjudicador (caso {case})."},
    "console.batch.candidate_pending": {
        "en": "Possible duplicate of {name}, whose own enrolment awaits a decision (case {case}).",
        "es": "Posible duplicado de {name}, cuya propia inscripción espera una decisión (caso {case})."},
    "console.batch.case": {"en": "Case {case}; an adjudicator decides.", "es": "Caso {case}; decide un adjudicador."},
    "console.batch.open": {"en": "Open the enrolment", "es": "Abrir la inscripción"},
    "console.batch.show": {"en": "Show", "es": "Mostrar"},
    "console.batch.show.all": {"en": "All ({n})", "es": "Todos ({n})"},
    "console.batch.show.problems": {"en": "Problems only ({n})", "es": "Solo los problemas ({n})"},
    "console.batch.none_shown": {"en": "No package has this result.", "es": "Ningún paquete tiene este resultado."},
    "console.batch.record.pending": {"en": "Waiting", "es": "En espera"},
    "console.batch.record.issued": {"en": "UIN issued", "es": "NUI emitido"},
    "console.batch.record.case_opened": {"en": "Possible duplicate: case opened",
                                         "es": "Posible duplicado: caso abierto"},
    "console.batch.record.already_enrolled": {"en": "Already enrolled", "es": "Ya inscrito"},
    "console.batch.record.rejected": {"en": "Refused by the quality checks",
                                      "es": "Rechazado por los controles de calidad"},
    "console.batch.record.invalid": {"en": "Package unusable", "es": "Paquete inutilizable"},
    "console.batch.record.error": {"en": "Failed (see the log)", "es": "Falló (ver el registro)"},
}

# Why an archive was refused or an action cannot be done now (``console.batch_reasons.problem_text``), by the code
# of the error (``console.batch_archive``, ``console.batch_jobs``).
PROBLEMS = {
    "console.batch.problem.no_file": {"en": "Choose the ZIP archive to upload.",
                                      "es": "Elija el archivo ZIP que desea subir."},
    "console.batch.problem.not_a_zip": {"en": "The file is not a readable ZIP archive.",
                                        "es": "El fichero no es un archivo ZIP legible."},
    "console.batch.problem.unsafe_path": {
        "en": "The archive holds a file with an unsafe path ({member}): absolute paths, '..' and backslashes are "
              "refused.",
        "es": "El archivo contiene un fichero con una ruta insegura ({member}): se rechazan las rutas absolutas, "
              "'..' y las barras invertidas."},
    "console.batch.problem.encrypted_member": {"en": "{member}: encrypted ZIP members are not accepted.",
                                               "es": "{member}: no se aceptan ficheros cifrados dentro del ZIP."},
    "console.batch.problem.symlink": {"en": "{member}: symbolic links are not accepted.",
                                      "es": "{member}: no se aceptan enlaces simbólicos."},
    "console.batch.problem.member_too_large": {
        "en": "{member}: {size} uncompressed, over the limit of {limit} per file.",
        "es": "{member}: {size} sin comprimir, por encima del límite de {limit} por fichero."},
    "console.batch.problem.compression_ratio": {
        "en": "{member}: expands {ratio} times; refused as a decompression bomb.",
        "es": "{member}: se expande {ratio} veces; se rechaza como bomba de descompresión."},
    "console.batch.problem.too_many_members": {
        "en": "The archive has {count} entries; at most {limit} are accepted.",
        "es": "El archivo tiene {count} elementos; se aceptan como máximo {limit}."},
    "console.batch.problem.too_large_uncompressed": {
        "en": "The archive expands to {size}; at most {limit} is accepted.",
        "es": "El archivo se expande a {size}; se acepta como máximo {limit}."},
    "console.batch.problem.duplicate_member": {"en": "{member} appears twice in the archive.",
                                               "es": "{member} aparece dos veces en el archivo."},
    "console.batch.problem.damaged_member": {"en": "{member} is damaged in the archive.",
                                             "es": "{member} está dañado dentro del archivo."},
    "console.batch.problem.empty": {
        "en": "The archive holds no packages: put each person's files in a folder of their own.",
        "es": "El archivo no contiene paquetes: ponga los archivos de cada persona en una carpeta propia."},
    "console.batch.problem.too_many_packages": {
        "en": "The archive holds {count} packages; at most {limit} per batch.",
        "es": "El archivo contiene {count} paquetes; como máximo {limit} por lote."},
    "console.batch.problem.package_names_clash": {
        "en": "Several packages in the archive have the same name (folder names must differ in their first 200 "
              "characters, and files at the top level form one package): {names}",
        "es": "Varios paquetes del archivo tienen el mismo nombre (los nombres de carpeta deben diferir en sus "
              "primeros 200 caracteres, y los ficheros de la raíz forman un solo paquete): {names}"},
    "console.batch.problem.already_uploaded": {"en": "This archive was already uploaded as batch {batch}.",
                                               "es": "Este archivo ya se subió como el lote {batch}."},
    "console.batch.problem.batch_running": {
        "en": "Batch {batch} is still running: one batch at a time per officer; wait for it or pause it.",
        "es": "El lote {batch} sigue en curso: un lote a la vez por oficial; espere a que termine o páuselo."},
    "console.batch.problem.not_running": {"en": "This batch is not running.", "es": "Este lote no está en curso."},
    "console.batch.problem.completed": {"en": "This batch is already complete.", "es": "Este lote ya está terminado."},
    "console.batch.problem.running": {"en": "This batch is running.", "es": "Este lote está en curso."},
    "console.batch.problem.resumed_elsewhere": {"en": "This batch was resumed at another desk.",
                                                "es": "Este lote se reanudó en otro puesto."},
}

# Why a record has no UIN (``console.batch_reasons.reason_text``), by the code stored with it.
ISSUES = {
    "console.batch.issue.no_folder": {
        "en": "Files at the top of the archive: put each person's files in a folder of their own.",
        "es": "Ficheros en la raíz del archivo: ponga los archivos de cada persona en una carpeta propia."},
    "console.batch.issue.name_too_long": {"en": "The folder name is over {limit} characters.",
                                          "es": "El nombre de la carpeta supera los {limit} caracteres."},
    "console.batch.issue.unexpected_file": {"en": "{file}: not person.json, face*.jpg|png or finger-<position>.png.",
                                            "es": "{file}: no es person.json, face*.jpg|png ni "
                                                  "finger-<posición>.png."},
    "console.batch.issue.empty_folder": {"en": "The folder is empty.", "es": "La carpeta está vacía."},
    "console.batch.issue.no_person_json": {"en": "The folder has no person.json.",
                                           "es": "La carpeta no tiene person.json."},
    "console.batch.issue.no_face": {"en": "The folder has no face photo (face*.jpg or face*.png).",
                                    "es": "La carpeta no tiene foto del rostro (face*.jpg o face*.png)."},
    "console.batch.issue.finger_position": {"en": "finger-{position}: a finger position is 1 to 10.",
                                            "es": "finger-{position}: la posición de un dedo va de 1 a 10."},
    "console.batch.issue.finger_position_twice": {"en": "The same finger position is given twice.",
                                                  "es": "La misma posición de dedo aparece dos veces."},
    "console.batch.issue.invalid_person_json": {"en": "Errors in person.json: {errors}.",
                                                "es": "Errores en person.json: {errors}."},
    "console.batch.issue.whole_file": {"en": "whole file", "es": "todo el fichero"},
    "console.batch.issue.json_invalid": {"en": "Not valid JSON.", "es": "No es JSON válido."},
    "console.batch.issue.unknown_field": {"en": "A field this file may not have.",
                                          "es": "Un campo que este fichero no puede tener."},
    "console.batch.issue.too_many_documents": {"en": "At most {limit} documents per person.",
                                               "es": "Como máximo {limit} documentos por persona."},
    "console.batch.issue.same_document": {"en": "The same document is listed twice.",
                                          "es": "El mismo documento aparece dos veces."},
    "console.batch.issue.too_many_photos": {"en": "At most {limit} face photos per person.",
                                            "es": "Como máximo {limit} fotos del rostro por persona."},
    "console.batch.issue.enrolled_earlier": {"en": "Enrolled earlier from {package} ({archive}); nothing new was "
                                                   "stored.",
                                             "es": "Inscrito antes desde {package} ({archive}); no se guardó nada "
                                                   "nuevo."},
    "console.batch.issue.rejected_earlier": {"en": "The same package as {package} ({archive}), rejected there; "
                                                   "nothing new was stored.",
                                             "es": "El mismo paquete que {package} ({archive}), rechazado allí; "
                                                   "no se guardó nada nuevo."},
    "console.batch.issue.package_missing": {"en": "The stored package is missing from the data folder.",
                                            "es": "El paquete guardado falta en la carpeta de datos."},
    "console.batch.issue.unexpected": {"en": "An unexpected error occurred; it has been logged.",
                                       "es": "Se produjo un error inesperado; quedó anotado en el registro."},
}


def plural(key: str, n: int, lang: str, **values: object) -> str:
    """``<key>.one`` for exactly 1, else ``<key>.other`` (the rule English and Spanish share for counts)."""
    return i18n.translate(f"{key}.{'one' if n == 1 else 'other'}", lang, n=n, **values)


def size_text(n_bytes: int, lang: str) -> str:
    """A size in binary units as people read them: ``8 MiB``, ``9.5 MiB`` (``9,5 MiB`` in Spanish), ``64 KiB``."""
    value, unit = float(n_bytes), "bytes"
    for step in ("KiB", "MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, step
    if unit == "bytes":
        return f"{n_bytes} bytes"
    text = f"{value:.0f}" if value >= 100 or value == int(value) else f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',') if lang == 'es' else text} {unit}"


def register() -> None:
    for group in (MESSAGES, PROBLEMS, ISSUES):
        i18n.register(group)
