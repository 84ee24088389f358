"""Evidence at enrolment: the identity documents the officer examined are validated, stored with the
enrolment (number sealed, shown masked), audited without the full number, and refused when expired."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from civid.errors import ConfigurationError
from civid.settings import get_settings
from enrollment.documents import open_number
from enrollment.templates import reencrypt_all
from models import AuditEvent, Enrolment, IdentityDocument
from server.cli import app as cli_app
from tests.conftest import FIXTURES, assert_problem, document, enrol, stored_counts

PORTRAIT = "obama_2012_portrait.jpg"
FULL_NUMBER = "P01234567"


def _documents(services, public_id: str) -> list[IdentityDocument]:
    with services.sessions() as db:
        enrolment = db.scalars(select(Enrolment).where(Enrolment.public_id == public_id)).one()
        return list(
            db.scalars(
                select(IdentityDocument)
                .where(IdentityDocument.enrolment_id == enrolment.id)
                .order_by(IdentityDocument.position)
            )
        )


def test_enrolment_stores_checked_documents_sealed_and_shows_them_masked(client, services, keys):
    idcard = document(
        type="idcard",
        number="000-123-987",
        issuer={"name": "Civil Registry", "country": "BLZ"},
        date_of_issuance=None,
        check_methods=["vpip", "vpiruv", "pvp"],
    )
    response = enrol(client, keys.officer, [PORTRAIT], documents=[document(number="p0123 4567"), idcard])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "issued"
    shown = body["documents"]
    assert [d["type"] for d in shown] == ["passport", "idcard"]
    assert shown[0]["number"] == "••••4567" and shown[1]["number"] == "••••-987"
    assert shown[0]["check_methods"] == ["vpip", "pvp"] and shown[1]["issuer_name"] == "Civil Registry"
    assert FULL_NUMBER not in response.text

    rows = _documents(services, body["id"])
    assert [r.position for r in rows] == [0, 1]
    assert FULL_NUMBER.encode() not in rows[0].number_ciphertext  # sealed, and normalised before sealing
    assert open_number(services.keyring, rows[0], body["id"]) == FULL_NUMBER
    assert open_number(services.keyring, rows[1], body["id"]) == "000-123-987"

    again = client.get(f"/v1/enrolments/{body['id']}", headers=keys.officer)
    assert again.status_code == 200 and again.json()["documents"] == shown


def test_audit_names_the_documents_with_masked_numbers_only(client, services, keys):
    response = enrol(client, keys.officer, [PORTRAIT], documents=[document(number="P01234567")])
    assert response.status_code == 201, response.text
    with services.sessions() as db:
        events = db.scalars(select(AuditEvent)).all()
    issued = next(e for e in events if e.action == "enrolment.issued")
    assert issued.detail["documents"] == [
        {"type": "passport", "number": "••••4567", "issuer_country": "BLZ", "check_methods": ["vpip", "pvp"]}
    ]
    everything = json.dumps([e.detail for e in events], ensure_ascii=False)
    assert FULL_NUMBER not in everything and "01234567" not in everything


def test_a_sealed_number_opens_only_for_its_own_row(client, services, keys):
    body = enrol(
        client, keys.officer, [PORTRAIT], documents=[document(), document(type="idcard", number="ID99887766")]
    ).json()
    first, second = _documents(services, body["id"])
    first.position = second.position  # the ciphertext moved to another row's place
    with pytest.raises(ConfigurationError):
        open_number(services.keyring, first, body["id"])
    first.position = 0
    with pytest.raises(ConfigurationError):
        open_number(services.keyring, first, "another-enrolment")


def test_document_numbers_move_to_the_new_key_with_the_templates(client, services, keys):
    body = enrol(client, keys.officer, [PORTRAIT], documents=[document()]).json()
    old = _documents(services, body["id"])[0].number_key_id
    services.keyring.rotate()
    with services.sessions.begin() as db:
        assert reencrypt_all(services.keyring, db) >= 2  # the face template (and kept photo), the document number
    row = _documents(services, body["id"])[0]
    assert row.number_key_id == services.keyring.active != old
    assert open_number(services.keyring, row, body["id"]) == FULL_NUMBER


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"date_of_expiry": (date.today() - timedelta(days=1)).isoformat()}, "expired"),
        ({"type": "library_card"}, "passport"),
        ({"check_methods": ["vpip", "looked_at_it"]}, "vcrypt"),
        ({"check_methods": []}, "at least 1"),
        ({"number": "12"}, "at least 4"),
        ({"number": "ABC<>DEF"}, "letters and digits"),
        ({"number": "NODIGITS"}, "at least one digit"),
        ({"date_of_issuance": (date.today() + timedelta(days=3)).isoformat()}, "in the future"),
        ({"date_of_issuance": "2020-01-02", "date_of_expiry": "2019-01-01"}, "expired"),
        ({"issuer": {"name": "Ministry", "country": "Belize"}}, "pattern"),
        ({"colour": "blue"}, "Extra inputs"),
    ],
)
def test_a_bad_document_is_refused_with_a_422_naming_it_and_nothing_is_stored(
    client, services, keys, overrides, message
):
    before = stored_counts(services)
    response = enrol(client, keys.officer, [PORTRAIT], documents=[document(**overrides)])
    body = assert_problem(response, 422)
    assert message in json.dumps(body), body
    assert any(e["location"][:2] == ["body", "documents"] for e in body["errors"]), body
    assert stored_counts(services) == before


def test_a_document_must_be_issued_before_it_expires_and_is_valid_through_its_expiry_day(client, services, keys):
    today = date.today().isoformat()
    response = enrol(
        client, keys.officer, [PORTRAIT], documents=[document(date_of_issuance=today, date_of_expiry=today)]
    )
    assert "before date of expiry" in json.dumps(assert_problem(response, 422))
    response = enrol(
        client,
        keys.officer,
        [PORTRAIT],
        documents=[
            document(
                date_of_issuance=(date.today() - timedelta(days=10)).isoformat(),
                date_of_expiry=date.today().isoformat(),
            )
        ],
    )
    assert response.status_code == 201, response.text  # valid through its expiry day


def test_the_same_document_twice_or_too_many_are_refused(client, services, keys):
    assert "twice" in json.dumps(
        assert_problem(
            enrol(client, keys.officer, [PORTRAIT], documents=[document(), document(number="p01234567")]), 422
        )
    )
    many = [document(number=f"P0000000{i}") for i in range(6)]
    assert "at most 5" in json.dumps(assert_problem(enrol(client, keys.officer, [PORTRAIT], documents=many), 422))
    garbage = client.post(
        "/v1/enrolments",
        headers=keys.officer,
        data={"demographics": json.dumps({}), "documents": "not json"},
        files=[("photos", ("p.jpg", (FIXTURES / PORTRAIT).read_bytes(), "image/jpeg"))],
    )
    assert garbage.status_code == 422


def test_a_rejected_enrolment_keeps_no_documents(client, services, keys):
    from tests.conftest import jpeg_bytes
    from tests.enrollment.test_quality import small_face_on_canvas

    photo = ("small.jpg", jpeg_bytes(small_face_on_canvas()), "image/jpeg")
    body = enrol(client, keys.officer, [photo], documents=[document()]).json()
    assert body["status"] == "rejected" and body["documents"] == []
    assert _documents(services, body["id"]) == []


def test_documents_of_an_applicant_sent_to_adjudication_are_kept_and_audited_masked(client, services, keys):
    assert enrol(client, keys.officer, [PORTRAIT]).json()["status"] == "issued"
    body = enrol(client, keys.officer, ["obama_2010_blue_room.jpg"], documents=[document()]).json()
    assert body["status"] == "pending_adjudication" and body["documents"][0]["number"] == "••••4567"
    assert len(_documents(services, body["id"])) == 1
    with services.sessions() as db:
        event = db.scalars(select(AuditEvent).where(AuditEvent.action == "enrolment.case_opened")).one()
    assert event.detail["documents"][0]["number"] == "••••4567" and FULL_NUMBER not in json.dumps(event.detail)


def test_an_enrolment_without_documents_records_none(client, services, keys):
    body = enrol(client, keys.officer, [PORTRAIT]).json()
    assert body["status"] == "issued" and body["documents"] == []
    assert _documents(services, body["id"]) == []


# --- the command line ---------------------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path):
    runner = CliRunner()
    env = {"CIVID_DATA_DIR": str(tmp_path / "var")}

    def run(*args: str):
        get_settings.cache_clear()
        return runner.invoke(cli_app, list(args), env=env)

    yield run
    get_settings.cache_clear()


def _officer_key(cli) -> str:
    result = cli("apikey", "create", "--name", "cli officer", "--role", "officer")
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


CLI_PERSON = [
    "--given-name",
    "Barack",
    "--family-name",
    "Obama",
    "--date-of-birth",
    "1961-08-04",
    "--sex",
    "M",
    "--place-of-birth",
    "Honolulu",
    "--nationality",
    "USA",
    "--address-line1",
    "1 Main St",
    "--locality",
    "Belmopan",
    "--photo",
    str(FIXTURES / PORTRAIT),
]


def test_cli_enrol_records_documents_with_their_check_methods(cli):
    key = _officer_key(cli)
    expiry = (date.today() + timedelta(days=2000)).isoformat()
    result = cli(
        "enrol",
        *CLI_PERSON,
        "--api-key",
        key,
        "--document",
        f"passport:P01234567:Immigration Department:BLZ:{expiry}",
        "--document",
        "driving_permit:DL-55443322:Transport Department:BLZ",
        "--check-method",
        "vpip",
        "--check-method",
        "pvp",
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout[result.stdout.index("{") :])
    assert [(d["type"], d["number"], d["date_of_expiry"], d["check_methods"]) for d in body["documents"]] == [
        ("passport", "••••4567", expiry, ["vpip", "pvp"]),
        ("driving_permit", "••••3322", None, ["vpip", "pvp"]),
    ]
    assert FULL_NUMBER not in result.stdout


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("passport:P01234567", "TYPE:NUMBER:ISSUER:COUNTRY"),
        ("passport:P01234567:Immigration:BLZ:2001-01-01", "expired"),
        ("passport:P01234567:Immigration:BLZ:someday", "date"),
        ("scroll:P01234567:Immigration:BLZ", "passport"),
    ],
)
def test_cli_enrol_refuses_malformed_or_expired_documents_before_enrolling(cli, option, message):
    key = _officer_key(cli)
    result = cli("enrol", *CLI_PERSON, "--api-key", key, "--document", option)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
