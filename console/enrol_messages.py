"""The words of the officer's enrolment pages (form, quality feedback, outcome, receipt), English and Spanish."""

from __future__ import annotations

from idp import i18n

FORM = {
    "console.enrol.title": {"en": "New enrolment", "es": "Nueva inscripción"},
    "console.enrol.intro": {
        "en": "Type the person's details as they appear on the document you check, take the face photo, then scan "
              "the fingers. Each photo and finger is checked as soon as it is taken.",
        "es": "Escriba los datos de la persona tal como figuran en el documento que comprueba, tome la foto del "
              "rostro y escanee los dedos. Cada foto y cada dedo se comprueba en cuanto se toma."},
    "console.form.required": {"en": "required", "es": "obligatorio"},
    "console.form.optional": {"en": "optional", "es": "opcional"},
    "console.enrol.errors_title.one": {"en": "Please correct the problem below.",
                                       "es": "Corrija el problema indicado abajo."},
    "console.enrol.errors_title.other": {"en": "Please correct the {count} problems below.",
                                         "es": "Corrija los {count} problemas indicados abajo."},
    "console.enrol.files_again": {
        "en": "Choose the photo and the fingerprint files again: a browser does not keep files when a form comes back.",
        "es": "Vuelva a elegir la foto y las huellas: el navegador no conserva los archivos cuando el formulario "
              "vuelve."},
    "console.enrol.not_enrolled": {"en": "Nothing was enrolled: {detail}", "es": "No se inscribió nada: {detail}"},
    "console.enrol.person": {"en": "Person", "es": "Persona"},
    "console.enrol.address": {"en": "Address", "es": "Dirección"},
    "console.enrol.document": {"en": "Identity document checked", "es": "Documento de identidad comprobado"},
    "console.enrol.document_hint": {
        "en": "Leave the type, number and issuer empty if the person has no document. An expired document is refused.",
        "es": "Deje vacíos el tipo, el número y el emisor si la persona no tiene documento. Un documento vencido se "
              "rechaza."},
    "console.enrol.face": {"en": "Face photo", "es": "Foto del rostro"},
    "console.enrol.photo_hint": {
        "en": "Plain background, face to the camera, eyes open, no hat or dark glasses.",
        "es": "Fondo liso, rostro de frente a la cámara, ojos abiertos, sin sombrero ni gafas oscuras."},
    "console.enrol.fingers": {"en": "Fingerprints", "es": "Huellas dactilares"},
    "console.enrol.fingers_hint": {
        "en": "No fingerprint scanner is connected to this console: save each finger from the scanner's software "
              "(500 ppi, PNG, TIFF or BMP) and choose the file here, or say why the finger cannot be given.",
        "es": "Esta consola no tiene un escáner de huellas conectado: guarde cada dedo desde el programa del escáner "
              "(500 ppp, PNG, TIFF o BMP) y elija el archivo aquí, o indique por qué no se puede tomar el dedo."},
    "console.enrol.submit": {"en": "Enrol", "es": "Inscribir"},
    "console.field.given_name": {"en": "Given name(s)", "es": "Nombre(s)"},
    "console.field.middle_names": {"en": "Middle name(s)", "es": "Segundo(s) nombre(s)"},
    "console.field.family_name": {"en": "Family name(s)", "es": "Apellido(s)"},
    "console.field.date_of_birth": {"en": "Date of birth", "es": "Fecha de nacimiento"},
    "console.field.sex": {"en": "Sex (as on the document)", "es": "Sexo (como en el documento)"},
    "console.field.place_of_birth": {"en": "Place of birth", "es": "Lugar de nacimiento"},
    "console.field.nationality": {"en": "Nationality (ISO code, e.g. BLZ)", "es": "Nacionalidad (código ISO, p. ej. BLZ)"},
    "console.field.phone": {"en": "Phone (international form, e.g. +501 610 1234)",
                            "es": "Teléfono (formato internacional, p. ej. +501 610 1234)"},
    "console.field.email": {"en": "Email", "es": "Correo electrónico"},
    "console.field.address_line1": {"en": "Street and number", "es": "Calle y número"},
    "console.field.address_line2": {"en": "Address, second line", "es": "Dirección, segunda línea"},
    "console.field.address_locality": {"en": "City, town or village", "es": "Ciudad, pueblo o aldea"},
    "console.field.address_district": {"en": "District", "es": "Distrito"},
    "console.field.address_postal_code": {"en": "Postal code", "es": "Código postal"},
    "console.field.address_country": {"en": "Country (ISO code)", "es": "País (código ISO)"},
    "console.field.document_type": {"en": "Document type", "es": "Tipo de documento"},
    "console.field.document_number": {"en": "Document number", "es": "Número del documento"},
    "console.field.document_issuer_name": {"en": "Issued by", "es": "Expedido por"},
    "console.field.document_issuer_country": {"en": "Issuing country (ISO code)", "es": "País emisor (código ISO)"},
    "console.field.document_date_of_issuance": {"en": "Date of issue", "es": "Fecha de expedición"},
    "console.field.document_date_of_expiry": {"en": "Expiry date", "es": "Fecha de vencimiento"},
    "console.field.document_check_methods": {"en": "How you checked it", "es": "Cómo lo comprobó"},
    "console.field.photo": {"en": "Face photo (JPEG or PNG)", "es": "Foto del rostro (JPEG o PNG)"},
    "console.sex.F": {"en": "Female", "es": "Femenino"},
    "console.sex.M": {"en": "Male", "es": "Masculino"},
    "console.sex.X": {"en": "Unspecified (X)", "es": "No especificado (X)"},
    "console.choose": {"en": "— choose —", "es": "— elija —"},
    "console.doctype.none": {"en": "— no document —", "es": "— sin documento —"},
    "console.doctype.idcard": {"en": "National identity card", "es": "Cédula de identidad"},
    "console.doctype.passport": {"en": "Passport", "es": "Pasaporte"},
    "console.doctype.driving_permit": {"en": "Driving licence", "es": "Licencia de conducir"},
    "console.doctype.residence_permit": {"en": "Residence permit", "es": "Permiso de residencia"},
    "console.doctype.birth_certificate": {"en": "Birth certificate", "es": "Acta de nacimiento"},
    "console.check.vpip": {"en": "Inspected the physical document", "es": "Inspeccioné el documento físico"},
    "console.check.vpiruv": {"en": "Inspected it under UV light", "es": "Lo inspeccioné con luz ultravioleta"},
    "console.check.pvp": {"en": "Compared its photo with the person present",
                          "es": "Comparé su foto con la persona presente"},
    "console.check.pvr": {"en": "Compared its photo with the person on video",
                          "es": "Comparé su foto con la persona por vídeo"},
    "console.check.vri": {"en": "Inspected a remote image of it", "es": "Inspeccioné una imagen remota del documento"},
    "console.check.vdig": {"en": "Checked the issuer's digital record", "es": "Comprobé el registro digital del emisor"},
    "console.check.vcrypt": {"en": "Checked its chip (cryptographic check)",
                             "es": "Comprobé su chip (verificación criptográfica)"},
    "console.check.data": {"en": "Validated its data with the issuer", "es": "Validé sus datos con el emisor"},
    "console.camera.start": {"en": "Start the desk camera", "es": "Encender la cámara"},
    "console.camera.take": {"en": "Take photo", "es": "Tomar foto"},
    "console.camera.retake": {"en": "Take another photo", "es": "Tomar otra foto"},
    "console.camera.taken": {"en": "Photo taken.", "es": "Foto tomada."},
    "console.camera.unavailable": {"en": "The camera is not available; choose a photo file instead.",
                                   "es": "La cámara no está disponible; elija un archivo de foto."},
    "console.camera.label": {"en": "Camera preview", "es": "Vista previa de la cámara"},
    "console.fingers.finger": {"en": "Finger", "es": "Dedo"},
    "console.fingers.image": {"en": "Scanned image", "es": "Imagen escaneada"},
    "console.fingers.missing": {"en": "Cannot be given because", "es": "No se puede tomar porque"},
    "console.fingers.note": {"en": "Note", "es": "Nota"},
    "console.fingers.quality": {"en": "Quality", "es": "Calidad"},
    "console.fingers.given": {"en": "— given: choose its image —", "es": "— se toma: elija su imagen —"},
    "console.field.fingers_rest_missing": {"en": "Every finger without an image or a reason cannot be given because",
                                           "es": "Todo dedo sin imagen ni motivo no se puede tomar porque"},
    "console.fingers.rest_hint": {
        "en": "Each finger needs its image or the reason it cannot be given. One reason here applies to every finger "
              "left without either (for example, no scanner at this desk today).",
        "es": "Cada dedo necesita su imagen o el motivo por el que no se puede tomar. Un motivo aquí se aplica a "
              "todo dedo que quede sin ninguno de los dos (por ejemplo, hoy no hay escáner en este puesto)."},
    "console.fingers.rest_none": {"en": "— none: each finger has its image or reason —",
                                  "es": "— ninguno: cada dedo tiene su imagen o motivo —"},
    "console.enrol.photo_blocked": {"en": "This photo would be refused: take it again before enrolling.",
                                    "es": "Esta foto sería rechazada: tómela de nuevo antes de inscribir."},
}

FINGERS = {
    "console.finger.1": {"en": "Right thumb", "es": "Pulgar derecho"},
    "console.finger.2": {"en": "Right index", "es": "Índice derecho"},
    "console.finger.3": {"en": "Right middle", "es": "Medio derecho"},
    "console.finger.4": {"en": "Right ring", "es": "Anular derecho"},
    "console.finger.5": {"en": "Right little", "es": "Meñique derecho"},
    "console.finger.6": {"en": "Left thumb", "es": "Pulgar izquierdo"},
    "console.finger.7": {"en": "Left index", "es": "Índice izquierdo"},
    "console.finger.8": {"en": "Left middle", "es": "Medio izquierdo"},
    "console.finger.9": {"en": "Left ring", "es": "Anular izquierdo"},
    "console.finger.10": {"en": "Left little", "es": "Meñique izquierdo"},
    "console.exception.amputated": {"en": "Amputated", "es": "Amputado"},
    "console.exception.bandaged": {"en": "Bandaged", "es": "Vendado"},
    "console.exception.scarred": {"en": "Scarred", "es": "Con cicatrices"},
    "console.exception.missing_at_birth": {"en": "Missing at birth", "es": "Ausente de nacimiento"},
    "console.exception.unable_to_capture": {"en": "Could not be captured", "es": "No se pudo capturar"},
    "console.finger_status.captured": {"en": "Captured", "es": "Capturado"},
    "console.finger_status.imported": {"en": "Imported", "es": "Importado"},
    "console.finger_status.rejected": {"en": "Refused", "es": "Rechazado"},
    "console.finger_status.excepted": {"en": "Not given", "es": "No tomado"},
}

ERRORS = {
    "console.error.required": {"en": "Required.", "es": "Obligatorio."},
    "console.error.too_long": {"en": "Too long (at most {max_length} characters).",
                               "es": "Demasiado largo (máximo {max_length} caracteres)."},
    "console.error.date": {"en": "Enter a date (year-month-day).", "es": "Indique una fecha (año-mes-día)."},
    "console.error.choice": {"en": "Choose one of the options.", "es": "Elija una de las opciones."},
    "console.error.check_method_required": {"en": "Tick at least one way you checked the document.",
                                            "es": "Marque al menos una forma en que comprobó el documento."},
    "console.error.country_code": {"en": "Three capital letters (ISO 3166 code, e.g. BLZ).",
                                   "es": "Tres letras mayúsculas (código ISO 3166, p. ej. BLZ)."},
    "console.error.format": {"en": "Not in the expected form.", "es": "No tiene el formato esperado."},
    "console.error.name_chars": {"en": "Letters, spaces, apostrophes, hyphens and dots only.",
                                 "es": "Solo letras, espacios, apóstrofos, guiones y puntos."},
    "console.error.birth_future": {"en": "The date of birth is in the future.",
                                   "es": "La fecha de nacimiento está en el futuro."},
    "console.error.birth_1900": {"en": "The date of birth is before 1900.",
                                 "es": "La fecha de nacimiento es anterior a 1900."},
    "console.error.phone": {"en": "Write the number in international form, e.g. +501 610 1234.",
                            "es": "Escriba el número en formato internacional, p. ej. +501 610 1234."},
    "console.error.email": {"en": "This is not a valid email address.", "es": "No es una dirección de correo válida."},
    "console.error.document_number": {"en": "4 to 30 letters and digits, with at least one digit.",
                                      "es": "De 4 a 30 letras y cifras, con al menos una cifra."},
    "console.error.document_expired": {"en": "The document has expired: an expired document cannot establish identity.",
                                       "es": "El documento está vencido: un documento vencido no acredita la identidad."},
    "console.error.issuance_future": {"en": "The date of issue is in the future.",
                                      "es": "La fecha de expedición está en el futuro."},
    "console.error.issuance_before_expiry": {"en": "The date of issue must be before the expiry date.",
                                             "es": "La fecha de expedición debe ser anterior a la de vencimiento."},
    "console.error.check_methods_once": {"en": "Tick each check once.", "es": "Marque cada comprobación una vez."},
    "console.error.photo_required": {"en": "Take or choose a face photo.", "es": "Tome o elija una foto del rostro."},
    "console.error.finger_choose": {"en": "Choose the image or say why this finger is not given.",
                                    "es": "Elija la imagen o indique por qué no se toma este dedo."},
    "console.error.finger_both": {"en": "Either choose the finger's image or say why it is missing, not both.",
                                  "es": "Elija la imagen del dedo o indique por qué falta, no ambas cosas."},
    "console.error.form_expired": {"en": "This form has expired; reload the page.",
                                   "es": "Este formulario ha caducado; recargue la página."},
    "console.enrol.key_reused": {
        "en": "This form was already sent with other details, and those were enrolled. Nothing new was enrolled: "
              "check the details below and send the form again to enrol them as a new application.",
        "es": "Este formulario ya se envió con otros datos, y esos se inscribieron. No se inscribió nada nuevo: "
              "compruebe los datos de abajo y vuelva a enviar el formulario para inscribirlos como una solicitud "
              "nueva."},
}

QUALITY = {
    "console.quality.checking": {"en": "Checking quality…", "es": "Comprobando la calidad…"},
    "console.quality.failed": {"en": "The quality check could not be done now; it runs again when you enrol.",
                               "es": "No se pudo comprobar la calidad ahora; se comprobará al inscribir."},
    "console.quality.signed_out": {"en": "Your session has ended: sign in again (your form is kept in this tab).",
                                   "es": "Su sesión ha terminado: vuelva a iniciarla (el formulario se conserva en "
                                         "esta pestaña)."},
    "console.quality.score": {"en": "Quality score", "es": "Puntuación de calidad"},
    "console.quality.inter_eye": {"en": "Distance between the eyes (px)", "es": "Distancia entre los ojos (px)"},
    "console.quality.sharpness": {"en": "Sharpness", "es": "Nitidez"},
    "console.quality.pose": {"en": "Head turn / tilt / roll (°)", "es": "Giro / inclinación / ladeo de la cabeza (°)"},
    "console.quality.faces": {"en": "Faces found", "es": "Rostros encontrados"},
    "console.quality.nfiq2": {"en": "NFIQ 2 score", "es": "Puntuación NFIQ 2"},
    "console.quality.minutiae": {"en": "Minutiae", "es": "Minucias"},
    "console.quality.face_ok": {"en": "The photo passes the quality checks.",
                                "es": "La foto supera los controles de calidad."},
    "console.quality.face_refused": {"en": "This photo would be refused; take it again:",
                                     "es": "Esta foto sería rechazada; tómela de nuevo:"},
    "console.quality.finger_ok": {"en": "{finger}: the image passes.", "es": "{finger}: la imagen es válida."},
    "console.quality.finger_refused": {"en": "{finger}: this image would be refused; scan again:",
                                       "es": "{finger}: esta imagen sería rechazada; escanee de nuevo:"},
    "console.quality.photo_n": {"en": "Photo {n}", "es": "Foto {n}"},
    "console.quality.no_face": {"en": "No face was found in the photo.", "es": "No se encontró ningún rostro en la foto."},
    "console.quality.multiple_faces": {"en": "{count} faces were found; the photo must show one person only.",
                                       "es": "Se encontraron {count} rostros; la foto debe mostrar a una sola persona."},
    "console.quality.face_too_small": {
        "en": "The eyes are {value} px apart; at least {limit} px are needed (move closer or use a higher resolution).",
        "es": "Los ojos están a {value} px; se necesitan al menos {limit} px (acérquese o use más resolución)."},
    "console.quality.blurred": {"en": "The face is blurred (sharpness {value}; at least {limit} is needed).",
                                "es": "El rostro está borroso (nitidez {value}; se necesita al menos {limit})."},
    "console.quality.pose_yaw": {
        "en": "The head is turned {value}° sideways (at most {limit}°): ask the person to look at the camera.",
        "es": "La cabeza está girada {value}° hacia un lado (máximo {limit}°): pida a la persona que mire a la cámara."},
    "console.quality.pose_pitch": {"en": "The head is tilted {value}° up or down (at most {limit}°).",
                                   "es": "La cabeza está inclinada {value}° hacia arriba o abajo (máximo {limit}°)."},
    "console.quality.pose_roll": {"en": "The head is tilted {value}° to one side (at most {limit}°).",
                                  "es": "La cabeza está ladeada {value}° (máximo {limit}°)."},
    "console.quality.photos_not_same_person": {"en": "The photos do not show the same person.",
                                               "es": "Las fotos no muestran a la misma persona."},
    "console.quality.finger_low_quality": {
        "en": "NFIQ 2 score {value} is below the minimum {limit}: clean the finger and the scanner and scan again.",
        "es": "La puntuación NFIQ 2 {value} es inferior al mínimo {limit}: limpie el dedo y el escáner y vuelva a "
              "escanear."},
    "console.quality.finger_too_few_minutiae": {
        "en": "{value} minutiae found; at least {limit} are needed: press the whole fingertip flat.",
        "es": "Se encontraron {value} minucias; se necesitan al menos {limit}: apoye toda la yema del dedo."},
    "console.quality.nfiq2_unavailable": {"en": "NFIQ 2 could not score this image; scan the finger again.",
                                          "es": "NFIQ 2 no pudo puntuar esta imagen; vuelva a escanear el dedo."},
    "console.quality.finger_position_unknown": {"en": "The record has no valid finger position (1–10).",
                                                "es": "El registro no tiene una posición de dedo válida (1–10)."},
    "console.quality.too_large": {"en": "The file is too large.", "es": "El archivo es demasiado grande."},
    "console.quality.unsupported": {
        "en": "This kind of file is not accepted (a photo is JPEG or PNG; a finger PNG, TIFF or BMP).",
        "es": "Este tipo de archivo no se acepta (una foto es JPEG o PNG; un dedo PNG, TIFF o BMP)."},
    "console.quality.unreadable": {"en": "The file could not be read as an image (damaged, or another format).",
                                   "es": "El archivo no se pudo leer como imagen (dañado o de otro formato)."},
    # Finer file errors, by the code their raise site gives (enrollment.capture, enrollment.fingerprint).
    "console.quality.file.image_too_small": {
        "en": "The image is {width}×{height} pixels; it needs at least {min_side} pixels on each side.",
        "es": "La imagen mide {width}×{height} píxeles; necesita al menos {min_side} píxeles por lado."},
    "console.quality.file.finger_ppi": {
        "en": "The image is scanned at {ppi} ppi; finger images must be {required} ppi.",
        "es": "La imagen está escaneada a {ppi} ppp; las imágenes de dedos deben ser de {required} ppp."},
    "console.quality.file.finger_colour": {
        "en": "This is a colour image ({share}% of its pixels are not grey); a finger image must be an 8-bit grey scan.",
        "es": "Es una imagen en color ({share}% de sus píxeles no son grises); la imagen de un dedo debe ser un "
              "escaneo en gris de 8 bits."},
    "console.quality.file.finger_transparent": {
        "en": "The image has transparent pixels; a finger image must be an 8-bit grey scan.",
        "es": "La imagen tiene píxeles transparentes; la imagen de un dedo debe ser un escaneo en gris de 8 bits."},
    "console.quality.file.finger_pixel_mode": {
        "en": "The image's pixels are {mode}; a finger image must be an 8-bit grey scan.",
        "es": "Los píxeles de la imagen son {mode}; la imagen de un dedo debe ser un escaneo en gris de 8 bits."},
    "console.quality.file.finger_too_little_foreground": {
        "en": "This is not a fingerprint: the ridge area is {value} mm², at least {limit} mm² is needed (a blank "
              "scan, or too little of the finger).",
        "es": "No es una huella: el área con crestas es de {value} mm², se necesitan al menos {limit} mm² (un "
              "escaneo en blanco, o muy poca parte del dedo)."},
    "console.quality.file.finger_no_ridge_flow": {
        "en": "This is not a fingerprint: no parallel ridges flow across the image (coherence {value}, at least "
              "{limit}).",
        "es": "No es una huella: la imagen no muestra crestas paralelas que fluyan (coherencia {value}, mínimo "
              "{limit})."},
    "console.quality.file.finger_no_ridge_frequency": {
        "en": "This is not a fingerprint: only {value}% of the image has the spacing of finger ridges (at least "
              "{limit}% is needed). Was a photo chosen instead of the finger scan?",
        "es": "No es una huella: solo el {value}% de la imagen tiene la separación de las crestas de un dedo (se "
              "necesita al menos el {limit}%). ¿Se eligió una foto en lugar del escaneo del dedo?"},
    "console.quality.not_a_fingerprint": {"en": "This image is not a fingerprint.",
                                          "es": "Esta imagen no es una huella dactilar."},
}

OUTCOME = {
    "console.outcome.title": {"en": "Enrolment result", "es": "Resultado de la inscripción"},
    "console.outcome.issued": {"en": "Enrolled. Unique identity number (UIN) issued:",
                               "es": "Inscrito. Número único de identidad (NUI) emitido:"},
    "console.outcome.pending": {
        "en": "Possible duplicate: case {case} was opened. An adjudicator will compare this person with the existing "
              "records; no UIN is issued until then.",
        "es": "Posible duplicado: se abrió el caso {case}. Un adjudicador comparará a esta persona con los registros "
              "existentes; no se emite el NUI hasta entonces."},
    "console.outcome.rejected": {"en": "Not enrolled: the quality checks refused the capture.",
                                 "es": "No inscrito: los controles de calidad rechazaron la captura."},
    "console.outcome.duplicate": {"en": "Decided: this person was already enrolled (UIN {uin}).",
                                  "es": "Decidido: esta persona ya estaba inscrita (NUI {uin})."},
    "console.outcome.try_again": {"en": "Try again with the same details", "es": "Intentar de nuevo con los mismos datos"},
    "console.outcome.receipt": {"en": "Print the receipt", "es": "Imprimir el comprobante"},
    "console.outcome.details": {"en": "Details", "es": "Detalles"},
    "console.outcome.name": {"en": "Name", "es": "Nombre"},
    "console.outcome.uin": {"en": "UIN", "es": "NUI"},
    "console.outcome.enrolment_id": {"en": "Enrolment number", "es": "Número de inscripción"},
    "console.outcome.officer": {"en": "Officer", "es": "Oficial"},
    "console.outcome.date": {"en": "Date", "es": "Fecha"},
    "console.outcome.status": {"en": "Status", "es": "Estado"},
    "console.outcome.documents": {"en": "Documents checked", "es": "Documentos comprobados"},
    "console.outcome.photos": {"en": "Face photo quality", "es": "Calidad de la foto del rostro"},
    "console.outcome.compared": {"en": "Compared for duplicates", "es": "Comparado para detectar duplicados"},
    "console.modality.face": {"en": "face", "es": "rostro"},
    "console.modality.finger": {"en": "fingerprints", "es": "huellas"},
    "console.receipt.title": {"en": "Enrolment receipt", "es": "Comprobante de inscripción"},
    "console.receipt.uin_pending": {"en": "To be issued after review", "es": "Se emitirá tras la revisión"},
    "console.receipt.keep": {
        "en": "Keep this receipt: it shows that you were enrolled. It holds no photo and no fingerprint.",
        "es": "Conserve este comprobante: acredita su inscripción. No contiene foto ni huellas."},
    "console.receipt.print": {"en": "Print", "es": "Imprimir"},
    "console.receipt.back": {"en": "Back to the enrolment", "es": "Volver a la inscripción"},
    "console.receipt.none": {"en": "A rejected enrolment has no receipt.",
                             "es": "Una inscripción rechazada no tiene comprobante."},
}


def register() -> None:
    for group in (FORM, FINGERS, ERRORS, QUALITY, OUTCOME):
        i18n.register(group)
