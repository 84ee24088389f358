"""The officer's enrolment pages: the form validates like the API and shows errors next to fields, quality
feedback comes at once, the real workflow enrols (once, however often the form is sent), and the outcome and
the receipt say what happened."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from civid.web import i18n
from console.enrol import pages as enrol_module
from models import ApiKey, AuditEvent, DedupCase, Enrolment, IdentityDocument, StaffAccount
from tests.conftest import fixture_bytes, seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS, console_sign_in, enrol_staff
from tests.enrollment.test_fingerprints import finger
from tests.idp.frontchannel import BIDEN_PHOTO, OBAMA_PHOTO, form_value, location
from tests.synthetic_fingerprints import impressions, png_bytes

seed, settings, keys, people = seeded_fixtures(enrol_staff, "people", **CONSOLE_SETTINGS)
TEMPLATES = Path(enrol_module.__file__).parents[1] / "templates"
MY_TEMPLATES = (
    "console_enrol.html",
    "console_enrolment.html",
    "console_receipt.html",
    "console_batch.html",
    "console_batch_job.html",
)


def person_fields(**overrides: str) -> dict[str, str]:
    fields = {
        "given_name": "José María",
        "family_name": "Ñúñez-O'Neil",
        "date_of_birth": "1990-04-21",
        "sex": "M",
        "place_of_birth": "Orange Walk Town",
        "nationality": "blz",
        "address_line1": "12 Albert Street",
        "address_locality": "Belize City",
        "address_country": "BLZ",
        "phone": "+501 610 1234",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def document_fields(**overrides: object) -> dict[str, object]:
    today = date.today()
    fields: dict[str, object] = {
        "document_type": "passport",
        "document_number": "p0123 4567",
        "document_issuer_name": "Immigration Department",
        "document_issuer_country": "BLZ",
        "document_date_of_issuance": (today - timedelta(days=400)).isoformat(),
        "document_date_of_expiry": (today + timedelta(days=3000)).isoformat(),
        "document_check_methods": ["vpip", "pvp"],
    }
    fields.update(overrides)
    return fields


def open_form(client, path: str = "/console/enrol") -> tuple[str, str]:  # type: ignore[no-untyped-def]
    page = client.get(path)
    assert page.status_code == 200, page.text[:500]
    return form_value(page.text, "csrf_token"), form_value(page.text, "idempotency_key")


def submit(
    client,
    fields: dict,
    photo: str | None = "collins_nasa_portrait.png",  # type: ignore[no-untyped-def]
    fingers: dict[int, bytes] | None = None,
    key: str | None = None,
    **headers: str,
):
    csrf, fresh_key = open_form(client)
    # Every finger row is an explicit choice: unless a test says otherwise, the fingers without a file are
    # recorded as not captured (one choice for the rest of the rows, as a desk without a scanner does).
    data = {
        "csrf_token": csrf,
        "idempotency_key": key or fresh_key,
        "fingers_rest_missing": "unable_to_capture",
        **fields,
    }
    data = {name: value for name, value in data.items() if value is not None}
    files = []
    if photo:
        files.append(("photo", (photo, fixture_bytes(photo), "image/png" if photo.endswith(".png") else "image/jpeg")))
    for position, image in (fingers or {}).items():
        files.append((f"finger_{position}", (f"finger-{position}.png", image, "image/png")))
    return client.post("/console/enrol", data=data, files=files or None, follow_redirects=False, headers=headers)


def count(services, model, *where) -> int:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def officer_key_id(services) -> int:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return db.scalars(select(StaffAccount.api_key_id).where(StaffAccount.name == "Officer Obama")).one()


# --- the form ---------------------------------------------------------------------------------------


def test_form_offers_every_part_and_only_officers_may_enrol(client, people):
    console_sign_in(client, people.adjudicator, BIDEN_PHOTO)
    assert client.get("/console/enrol").status_code == 403
    assert client.post("/console/enrol/quality/face", files={"photo": ("a.jpg", b"x", "image/jpeg")}).status_code == 403
    client.cookies.clear()
    console_sign_in(client, people.officer, OBAMA_PHOTO)
    page = client.get("/console/enrol")
    assert page.status_code == 200
    for name in (
        "given_name",
        "date_of_birth",
        "document_number",
        "document_check_methods",
        "photo",
        "finger_1",
        "finger_10_missing",
        "idempotency_key",
    ):
        assert f'name="{name}"' in page.text, name
    assert 'capture="user"' in page.text and "/static/idp/face-capture.js" in page.text
    assert "No fingerprint scanner is connected" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"] and "<script>" not in page.text
    assert client.get("/static/idp/face-capture.js").status_code == 200


def test_invalid_details_come_back_with_errors_next_to_their_fields(officer, services):
    before = count(services, Enrolment)
    future = (date.today() + timedelta(days=3)).isoformat()
    response = submit(
        officer,
        {
            **person_fields(date_of_birth=future, phone="12", family_name=""),
            **document_fields(document_date_of_expiry="2001-01-01", document_check_methods=[]),
        },
    )
    assert response.status_code == 422
    page = response.text
    assert 'role="alert"' in page and 'id="error-summary"' in page
    for name in ("date_of_birth", "phone", "family_name", "document_date_of_expiry", "document_check_methods"):
        assert f'aria-describedby="err-{name}' in page, name
    assert re.search(r'id="date_of_birth"[^>]*aria-invalid="true"', page, re.S)
    assert "The date of birth is in the future." in page and "international form" in page
    assert "an expired document cannot establish identity" in page
    assert 'value="José María"' in page  # what was typed comes back, accents included
    assert "Choose the photo and the fingerprint files again" in page
    assert count(services, Enrolment) == before


def test_errors_are_in_spanish_when_the_officer_works_in_spanish(officer):
    response = submit(
        officer, person_fields(date_of_birth="1850-01-01", sex="Q"), photo=None, **{"Accept-Language": "es"}
    )
    assert response.status_code == 422
    assert "La fecha de nacimiento es anterior a 1900." in response.text
    assert "Elija una de las opciones." in response.text and "Tome o elija una foto del rostro." in response.text


def test_without_the_csrf_token_nothing_is_enrolled(officer, services):
    response = officer.post(
        "/console/enrol",
        data={**person_fields(), "idempotency_key": "k" * 20},
        files={"photo": ("a.png", fixture_bytes("collins_nasa_portrait.png"), "image/png")},
    )
    assert response.status_code == 403 and count(services, Enrolment) == 2


# --- immediate quality feedback -------------------------------------------------------------------


def quality(client, kind: str, files: dict, data: dict | None = None, **headers: str):  # type: ignore[no-untyped-def]
    csrf, _ = open_form(client)
    return client.post(
        f"/console/enrol/quality/{kind}", files=files, data=data or {}, headers={"X-CSRF-Token": csrf, **headers}
    )


def test_face_quality_reports_measurements_at_once(officer, services):
    good = quality(officer, "face", {"photo": ("c.png", fixture_bytes("collins_nasa_portrait.png"), "image/png")})
    assert good.status_code == 200, good.text
    body = good.json()
    assert body["passed"] is True and body["faces_found"] == 1 and body["issues"] == []
    assert body["inter_eye_px"] >= 40 and body["sharpness"] > 0 and set(body["pose"]) == {"yaw", "pitch", "roll"}
    turned = quality(
        officer,
        "face",
        {"photo": ("t.jpg", fixture_bytes("obama_2009_congress.jpg"), "image/jpeg")},
        **{"Accept-Language": "es"},
    ).json()
    assert turned["passed"] is False and [i["code"] for i in turned["issues"]] == ["pose_yaw"]
    assert turned["issues"][0]["message"].startswith("La cabeza está girada")
    assert count(services, Enrolment) == 2  # a check stores nothing


def test_face_quality_needs_the_csrf_header_and_says_why_a_file_is_unusable(officer):
    refused = officer.post("/console/enrol/quality/face", files={"photo": ("a.png", b"x", "image/png")})
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    broken = quality(officer, "face", {"photo": ("a.jpg", b"\xff\xd8\xff not really", "image/jpeg")})
    assert broken.status_code in (415, 422) and broken.headers["content-type"].startswith("application/problem+json")
    assert broken.json()["message"]


def test_a_file_the_workflow_refuses_is_named_and_explained_in_the_officers_language(officer, services):
    import io

    from PIL import Image

    def png(size: tuple[int, int], dpi: int | None = None, image: bytes | None = None) -> bytes:
        picture = Image.open(io.BytesIO(image)) if image else Image.new("RGB", size, "white")
        buffer = io.BytesIO()
        picture.save(buffer, "PNG", **({"dpi": (dpi, dpi)} if dpi else {}))
        return buffer.getvalue()

    def send(photo: bytes, fingers: dict[int, bytes], **headers: str):  # type: ignore[no-untyped-def]
        csrf, key = open_form(officer)
        files = [("photo", ("pequeña.png", photo, "image/png"))]
        files += [(f"finger_{p}", (f"finger-{p}.png", data, "image/png")) for p, data in fingers.items()]
        return officer.post(
            "/console/enrol",
            data={
                "csrf_token": csrf,
                "idempotency_key": key,
                **person_fields(),
                "fingers_rest_missing": "unable_to_capture",
            },
            files=files,
            follow_redirects=False,
            headers=headers,
        )

    before = count(services, Enrolment)
    tiny = send(png((40, 30)), {}, **{"Accept-Language": "es"})
    assert tiny.status_code == 422
    assert (
        "No se inscribió nada: pequeña.png: La imagen mide 40×30 píxeles; necesita al menos 160 píxeles por lado."
    ) in tiny.text
    assert "smaller than" not in tiny.text
    assert "pequeña.png: The image is 40×30 pixels" in send(png((40, 30)), {}).text
    scanned = send(
        fixture_bytes("collins_nasa_portrait.png"),
        {2: png((0, 0), dpi=300, image=finger(301, 0))},
        **{"Accept-Language": "es"},
    )
    assert scanned.status_code == 422
    assert "Índice derecho (finger-2.png): La imagen está escaneada a 300 ppp" in scanned.text
    assert count(services, Enrolment) == before


def test_finger_quality_gives_the_nfiq2_score_or_the_reason(officer):
    good = quality(officer, "finger", {"finger": ("f.png", finger(301, 0), "image/png")}, {"position": "2"})
    assert good.status_code == 200, good.text
    body = good.json()
    assert body["position"] == 2 and body["finger"] == "Right index" and 0 <= body["nfiq2"] <= 100
    assert body["passed"] is True and body["minutiae"] >= 12
    import io

    import numpy as np
    from PIL import Image

    blank = io.BytesIO()
    Image.fromarray(np.full((400, 400), 255, np.uint8)).save(blank, format="PNG")
    refused = quality(officer, "finger", {"finger": ("b.png", blank.getvalue(), "image/png")}, {"position": "7"}).json()
    assert refused["passed"] is False and refused["issues"] and refused["finger"] == "Left index"
    assert (
        quality(officer, "finger", {"finger": ("f.png", finger(301, 0), "image/png")}, {"position": "11"}).status_code
        == 422
    )


def test_a_face_photo_chosen_as_a_finger_is_called_not_a_fingerprint_in_the_officers_language(officer, services):
    import io

    from PIL import Image

    grey = io.BytesIO()
    Image.open(io.BytesIO(fixture_bytes("obama_2012_portrait.jpg"))).convert("L").save(grey, format="PNG")
    checked = quality(
        officer,
        "finger",
        {"finger": ("f.png", grey.getvalue(), "image/png")},
        {"position": "2"},
        **{"Accept-Language": "es"},
    )
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert body["passed"] is False and [i["code"] for i in body["issues"]] == ["finger_no_ridge_frequency"]
    assert body["issues"][0]["message"].startswith("No es una huella: solo el ")
    before = count(services, Enrolment)
    page = submit(
        officer, {**person_fields(), **document_fields()}, fingers={2: grey.getvalue()}, **{"Accept-Language": "es"}
    )
    assert page.status_code == 422
    assert "Índice derecho (finger-2.png): No es una huella" in page.text
    assert count(services, Enrolment) == before


# --- enrolling ------------------------------------------------------------------------------------


def test_a_new_person_is_enrolled_once_with_the_officer_and_the_document(officer, services):
    fields = {**person_fields(), **document_fields(), "finger_7_missing": "amputated", "finger_7_note": "since 2019"}
    csrf, key = open_form(officer)
    response = submit(officer, fields, fingers={2: finger(301, 0)}, key=key)
    assert response.status_code == 303, response.text[:2000]
    outcome = officer.get(location(response))
    assert outcome.status_code == 200 and 'data-status="issued"' in outcome.text
    uin = re.search(r'id="uin">(\d+)<', outcome.text).group(1)
    assert "Ñúñez-O&#39;Neil" in outcome.text and "••••4567" in outcome.text and "Amputated" in outcome.text
    with services.sessions() as db:
        enrolment = db.scalars(select(Enrolment).where(Enrolment.idempotency_key == f"console:{key}")).one()
        assert enrolment.officer_id == officer_key_id(services) and enrolment.nationality == "BLZ"
        assert db.get(ApiKey, enrolment.officer_id).name == "Officer Obama"
        # Finger 2 scanned, 7 amputated (its own reason), the other eight by the one choice for the rest.
        assert {f["position"]: f["status"] for f in enrolment.fingerprints} == {
            p: "captured" if p == 2 else "excepted" for p in range(1, 11)
        }
        assert {f["position"]: f["reason"] for f in enrolment.fingerprints if f["position"] in (1, 7)} == {
            1: "unable_to_capture",
            7: "amputated",
        }
        assert (
            db.scalar(
                select(func.count()).select_from(IdentityDocument).where(IdentityDocument.enrolment_id == enrolment.id)
            )
            == 1
        )
        issued = db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "enrolment.issued", AuditEvent.subject_id == enrolment.public_id
            )
        ).one()
        assert issued.actor_name == "Officer Obama" and issued.actor_role == "officer" and issued.person == uin
    again = submit(officer, fields, fingers={2: finger(301, 0)}, key=key)  # the same form sent again
    assert again.status_code == 303 and location(again) == location(response)
    assert count(services, Enrolment, Enrolment.idempotency_key == f"console:{key}") == 1


def test_a_double_click_enrols_once(officer, services):
    _, key = open_form(officer)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: submit(officer, person_fields(), key=key), range(2)))
    assert [a.status_code for a in answers] == [303, 303], [a.text[:300] for a in answers]
    assert location(answers[0]) == location(answers[1])
    assert count(services, Enrolment, Enrolment.idempotency_key == f"console:{key}") == 1
    assert count(services, DedupCase) == 0


def test_the_same_form_sent_again_with_other_details_is_refused_and_shown_again_in_the_officers_language(
    officer, services
):
    _, key = open_form(officer)
    assert submit(officer, person_fields(), key=key).status_code == 303
    changed = submit(officer, person_fields(given_name="Joseph"), key=key, **{"Accept-Language": "es"})
    assert changed.status_code == 422, changed.text[:500]
    assert "Este formulario ya se envió con otros datos" in changed.text
    assert form_value(changed.text, "given_name") == "Joseph" and form_value(changed.text, "idempotency_key") != key
    assert (
        "This form was already sent with other details"
        in submit(officer, person_fields(given_name="Joseph"), key=key).text
    )
    assert count(services, Enrolment, Enrolment.idempotency_key == f"console:{key}") == 1


def test_the_same_person_again_opens_a_case_without_a_uin(officer, services):
    response = submit(
        officer, person_fields(given_name="Barack", family_name="Obama"), photo="obama_2010_blue_room.jpg"
    )
    assert response.status_code == 303, response.text[:1000]
    page = officer.get(location(response))
    assert 'data-status="pending_adjudication"' in page.text and 'id="uin"' not in page.text
    with services.sessions() as db:
        case = db.scalars(select(DedupCase)).one()
        assert case.public_id in page.text
    receipt = officer.get(location(response) + "/receipt")
    assert receipt.status_code == 200 and "To be issued after review" in receipt.text


def test_a_photo_the_gate_refuses_cannot_be_submitted_and_nothing_is_stored(officer, services):
    # Before: a refused photo was stored as a rejected enrolment. The verdict the page shows is now enforced.
    before = stored(services)
    response = submit(
        officer,
        {**person_fields(), "finger_7_missing": "amputated"},
        photo="obama_2009_congress.jpg",
        **{"Accept-Language": "es"},
    )
    assert response.status_code == 422, response.text[:500]
    assert "La cabeza está girada" in response.text and 'id="err-photo"' in response.text
    assert 'value="José María"' in response.text and 'value="amputated" selected' in response.text  # all kept
    assert stored(services) == before


def test_a_finger_row_without_a_file_must_say_why(officer, services):
    before = stored(services)
    silent = submit(officer, {**person_fields(), "fingers_rest_missing": None}, fingers={2: finger(301, 0)})
    assert silent.status_code == 422 and stored(services) == before
    assert silent.text.count('class="error-text" id="err-finger_') == 9  # rows 1 and 3-10, each next to its row
    assert "Choose the image or say why this finger is not given" in silent.text
    assert 'id="err-finger_2"' not in silent.text
    assert "Please correct the 9 problems below." in silent.text
    one = submit(
        officer,
        {**person_fields(), "fingers_rest_missing": None, **{f"finger_{p}_missing": "bandaged" for p in range(3, 11)}},
        fingers={2: finger(301, 0)},
    )
    assert one.status_code == 422 and "Please correct the problem below." in one.text
    spanish = submit(officer, {**person_fields(), "fingers_rest_missing": None}, **{"Accept-Language": "es"})
    assert "Corrija los 10 problemas indicados abajo." in spanish.text and "problema(s)" not in spanish.text


def test_trying_again_after_a_rejection_keeps_the_details_and_the_finger_exceptions(officer, services):
    # A real print but only a 130-pixel square of it: the finger gate lets it through (it is a fingerprint), NFIQ 2
    # cannot score so small an area, so the enrolment is stored as rejected. (A blank image is refused outright.)
    tip = np.full((300, 300), 255, np.uint8)
    tip[85:215, 85:215] = impressions(3, 1)[0][85:215, 85:215]
    fields = {
        **person_fields(),
        "finger_7_missing": "amputated",
        "finger_7_note": "since 2019",
        "fingers_rest_missing": "bandaged",
    }
    response = submit(officer, fields, fingers={2: png_bytes(tip)}, **{"Accept-Language": "es"})
    assert response.status_code == 303, response.text[:500]
    page = officer.get(location(response), headers={"Accept-Language": "es"})
    assert 'data-status="rejected"' in page.text and "No inscrito" in page.text
    again = officer.get(re.search(r'href="(/console/enrol\?from=[^"]+)"', page.text).group(1))
    assert again.status_code == 200 and 'value="José María"' in again.text and 'value="+5016101234"' in again.text
    row_7 = again.text[again.text.index('id="row-finger_7"') : again.text.index('id="row-finger_8"')]
    assert 'value="amputated" selected' in row_7 and 'value="since 2019"' in row_7
    row_3 = again.text[again.text.index('id="row-finger_3"') : again.text.index('id="row-finger_4"')]
    assert 'value="bandaged" selected' in row_3
    assert officer.get(location(response) + "/receipt").status_code == 409


def stored(services) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    return count(services, Enrolment), count(services, AuditEvent, AuditEvent.action.like("enrolment.%"))


def test_receipt_is_printable_and_holds_no_biometrics(officer, services):
    response = submit(officer, person_fields())
    enrolment_id = location(response).rsplit("/", 1)[1]
    receipt = officer.get(f"/console/enrolments/{enrolment_id}/receipt")
    assert receipt.status_code == 200
    page = receipt.text
    assert "José María Ñúñez-O&#39;Neil" in page and "Officer Obama" in page and enrolment_id in page
    assert re.search(r'id="receipt-uin" class="uin">\d{10}<', page)
    assert "<img" not in page and "data:image" not in page and "/static/console/print.js" in page
    css = officer.get("/static/console/console.css").text
    assert "@media print" in css and "nav.console-nav" in css
    with services.sessions() as db:
        assert db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "enrolment.receipt_printed", AuditEvent.subject_id == enrolment_id
            )
        ).one()


def test_another_officer_cannot_open_an_enrolment_or_its_receipt(officer, services, people):
    response = submit(officer, person_fields())
    outcome = location(response)
    assert officer.get(outcome).status_code == 200
    with services.sessions.begin() as db:  # Biden becomes an officer too: at another desk
        account = db.scalars(select(StaffAccount).where(StaffAccount.name == "Adjudicator Biden")).one()
        account.roles = ["officer", "adjudicator", "auditor"]
    officer.cookies.clear()
    console_sign_in(officer, people.adjudicator, BIDEN_PHOTO)
    before = count(services, AuditEvent, AuditEvent.action.in_(("enrolment.viewed", "enrolment.receipt_printed")))
    assert officer.get(outcome).status_code == 404
    receipt = officer.get(outcome + "/receipt")
    assert receipt.status_code == 404 and "Ñúñez" not in receipt.text
    assert (
        count(services, AuditEvent, AuditEvent.action.in_(("enrolment.viewed", "enrolment.receipt_printed"))) == before
    )


def test_every_word_on_these_pages_is_in_the_catalogue():
    used = set()
    for name in MY_TEMPLATES:
        used |= set(re.findall(r"""(?<![\w.])_\(\s*["']([a-z0-9_.-]+)["']""", (TEMPLATES / name).read_text()))
    # A counted message is compared by its "other" form (its last).
    catalogue = {
        key: {lang: text if isinstance(text, str) else text[-1] for lang, text in texts.items()}
        for key, texts in i18n.catalogue().items()
    }
    missing = [k for k in used if not (any(d.startswith(k) for d in catalogue) if k.endswith(".") else k in catalogue)]
    assert missing == []
    ours = {
        k: v
        for k, v in catalogue.items()
        if k.startswith(("console.enrol", "console.field", "console.quality", "console.batch"))
    }
    assert all(v["es"] and v["es"] != v["en"] for k, v in ours.items() if len(v["en"]) > 12)
