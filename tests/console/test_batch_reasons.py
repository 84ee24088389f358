"""A registration drive in the officer's language: why a package was unusable, why a person.json failed, why a
file could not be read and why the quality checks refused a capture are said in Spanish on a Spanish page and in
English on an English one, as are the refusals of an archive; the CSV report gives the stored codes and the page's
own words for each reason (one source of reason text)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from console.batch import reasons as batch_reasons
from tests.conftest import fixture_bytes, seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS, enrol_staff
from tests.console.test_batch import finish, person_json, zip_of
from tests.idp.frontchannel import form_value, location

seed, settings, keys, people = seeded_fixtures(enrol_staff, "people", **CONSOLE_SETTINGS)
SPANISH = {"Accept-Language": "es"}
COLLINS = "collins_nasa_portrait.png"


def upload(client, archive: bytes | None, **headers: str):  # type: ignore[no-untyped-def]
    """Send the upload form (without a file when ``archive`` is None) in the language the headers ask for."""
    token = form_value(client.get("/console/batch").text, "csrf_token")
    files = {"archive": ("drive.zip", archive, "application/zip")} if archive is not None else None
    return client.post(
        "/console/batch", data={"csrf_token": token}, files=files, headers=headers, follow_redirects=False
    )


def drive() -> dict[str, bytes]:
    """Four people, none enrolled: no person.json, a birth date in the future, a turned head, a damaged photo."""
    future = (date.today() + timedelta(days=9)).isoformat()
    return {
        "drive/01-no-person/face.png": fixture_bytes(COLLINS),
        "drive/02-future/person.json": person_json(date_of_birth=future),
        "drive/02-future/face.png": fixture_bytes(COLLINS),
        "drive/03-turned/person.json": person_json(given_name="Pedro", family_name="Pérez"),
        "drive/03-turned/face_1.jpg": fixture_bytes("obama_2009_congress.jpg"),
        "drive/04-damaged/person.json": person_json(given_name="Ana", family_name="Díaz"),
        "drive/04-damaged/face.jpg": b"\xff\xd8\xff\xe0 this is not really a JPEG",
    }


def test_a_spanish_results_page_says_every_reason_in_spanish(officer):
    response = upload(officer, zip_of(drive()))
    assert response.status_code == 303, response.text[:2000]
    batch_id = location(response).rsplit("/", 1)[1]
    assert finish(officer, batch_id)["counts"] == {
        "pending": 0,
        "issued": 0,
        "case_opened": 0,
        "already_enrolled": 0,
        "rejected": 1,
        "invalid": 3,
        "error": 0,
    }

    spanish = officer.get(f"/console/batch/{batch_id}", headers=SPANISH).text
    assert "La carpeta no tiene person.json." in spanish
    assert "Errores en person.json: demographics.date_of_birth: La fecha de nacimiento está en el futuro." in spanish
    assert "Foto 1: La cabeza está girada" in spanish
    assert "face.jpg: El archivo no se pudo leer como imagen (dañado o de otro formato)." in spanish
    for english in (
        "the folder has no person.json",
        "date of birth is in the future",
        "corrupt or truncated",
        "The head is turned",
    ):
        assert english not in spanish, english

    english = officer.get(f"/console/batch/{batch_id}").text
    assert "The folder has no person.json." in english
    assert "Errors in person.json: demographics.date_of_birth: The date of birth is in the future." in english
    assert "Photo 1: The head is turned" in english
    assert "face.jpg: The file could not be read as an image (damaged, or another format)." in english

    # The CSV gives the stored codes, and each reason in the very words of the page, in the officer's language.
    report = officer.get(f"/console/batch/{batch_id}/report.csv").text
    rows = {row["package"]: row for row in csv.DictReader(io.StringIO(report))}
    assert rows["drive/01-no-person"]["reason_codes"] == "no_person_json"
    assert rows["drive/01-no-person"]["reasons"] == "The folder has no person.json."
    future = "Errors in person.json: demographics.date_of_birth: The date of birth is in the future."
    assert rows["drive/02-future"]["reasons"] == future and future in english
    assert (
        rows["drive/03-turned"]["reason_codes"] == "pose_yaw"
        and "Photo 1: The head is turned" in rows["drive/03-turned"]["reasons"]
    )
    assert rows["drive/04-damaged"]["reason_codes"] == "invalid-image"
    assert (
        rows["drive/04-damaged"]["reasons"] == "face.jpg: The file could not be read as an image (damaged, or "
        "another format)."
    )
    spanish_rows = {
        row["package"]: row
        for row in csv.DictReader(
            io.StringIO(officer.get(f"/console/batch/{batch_id}/report.csv", headers=SPANISH).text)
        )
    }
    assert "La fecha de nacimiento está en el futuro." in spanish_rows["drive/02-future"]["reasons"]

    token = form_value(officer.get(f"/console/batch/{batch_id}").text, "csrf_token")
    paused = officer.post(f"/console/batch/{batch_id}/pause", data={"csrf_token": token}, headers=SPANISH)
    assert paused.status_code == 409 and "No se puede hacer ahora: Este lote no está en curso." in paused.text


def test_a_refused_archive_is_explained_in_the_officers_language(officer):
    spanish = upload(officer, b"PK\x03\x04 not a zip at all", **SPANISH)
    assert spanish.status_code == 422
    assert "El archivo fue rechazado; no se inscribió a nadie: El fichero no es un archivo ZIP legible." in spanish.text
    assert "not a readable ZIP" not in spanish.text
    english = upload(officer, b"PK\x03\x04 not a zip at all")
    assert english.status_code == 422 and "The file is not a readable ZIP archive." in english.text
    unsafe = upload(officer, zip_of({"../escape/person.json": person_json()}), **SPANISH)
    assert unsafe.status_code == 422 and "una ruta insegura (../escape/person.json)" in unsafe.text
    no_file = upload(officer, None, **SPANISH)
    assert no_file.status_code == 422 and "Elija el archivo ZIP que desea subir." in no_file.text


def test_a_reason_the_catalogue_does_not_know_is_shown_as_stored():
    stored = {"code": "a_code_from_a_later_version", "message": "something new went wrong"}
    assert batch_reasons.reason_text(stored, "es") == "something new went wrong"
    without_values = {"code": "name_too_long", "message": "the folder name is over 80 characters"}  # an older record
    assert batch_reasons.reason_text(without_values, "es") == "the folder name is over 80 characters"
    assert (
        batch_reasons.reason_text({**without_values, "params": {"limit": 80}}, "es")
        == "El nombre de la carpeta supera los 80 caracteres."
    )
