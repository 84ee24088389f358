"""The ID card's lifecycle through the API: issue (one active card per identity), status, PDF, report, reprint,
revocation by identity changes, and the VID variant — against a real enrolment, real keys and a real status list."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from civid import vid
from credentials import card_numbers, cards, claim169
from models import CredentialStatus, IdCard, VirtualId
from tests.conftest import assert_problem, enrol, seeded_fixtures, without_request_id
from tests.credentials.card_helpers import decode_qr_image, events, issue, sealed


def enrol_obama(client, keys) -> str:  # type: ignore[no-untyped-def]
    body = enrol(
        client,
        keys.officer,
        ["obama_2012_portrait.jpg"],
        given_name="Barack",
        middle_names="Hussein",
        family_name="Obama",
        sex="M",
        date_of_birth="1961-08-04",
    ).json()
    assert body["status"] == "issued", body
    return str(body["uin"])


seed, settings, keys, obama = seeded_fixtures(enrol_obama, "obama")


def test_an_issued_card_states_the_record_signed_and_a_second_one_is_refused(client, keys, services, obama):
    response = issue(client, keys.officer, obama)
    assert response.status_code == 201, response.text
    card = response.json()
    assert re.fullmatch(r"[1-9]\d{8}[A-Z]", card["number"]) and card_numbers.normalise(card["number"])
    assert card["state"] == "active" and card["uin"] == "******" + obama[-4:] and card["identifier_kind"] == "uin"
    held = sealed(services, card["number"])
    decoded = claim169.decode(held.qr)
    assert decoded.holder.id == obama and decoded.card_number == card["number"]
    assert (decoded.holder.first_name, decoded.holder.middle_name, decoded.holder.last_name) == (
        "Barack",
        "Hussein",
        "Obama",
    )
    assert decoded.holder.date_of_birth.isoformat() == "1961-08-04" and decoded.holder.sex == "M"
    assert decoded.holder.photo_format == "webp" and 100 < len(decoded.holder.photo or b"") < 1200
    assert decoded.status == {"status_list": {"idx": card["status"]["index"], "uri": card["status"]["uri"]}}
    assert claim169.verify(held.qr, services.credential_keys.public_key).valid
    assert len(held.qr) < 1800  # the Claim 169 guidance's "safe" length for a scannable QR

    again = assert_problem(issue(client, keys.officer2, obama), 409)
    assert card_numbers.grouped(card["number"]) in again["detail"]
    (event,) = events(services, "card.issued")
    assert event.subject_id == card["number"] and event.person == obama
    assert set(without_request_id(event.detail)) == {"uin", "identifier_kind", "expires_at"}
    with services.sessions() as db:
        slot = db.get(CredentialStatus, db.scalars(select(IdCard.status_id)).one())
        assert slot.kind == "card" and set(slot.claims) == {
            "given_name",
            "middle_names",
            "family_name",
            "date_of_birth",
            "sex",
            "nationality",
            "face",
        }
    assert decoded.holder.nationality == "BLZ"  # printed, so stated: a corrected nationality revokes the card


def test_the_card_pdf_is_two_id1_pages_and_its_qr_decodes_to_the_signed_text(client, keys, services, obama):
    number = issue(client, keys.officer, obama).json()["number"]
    response = client.get(f"/v1/cards/{number}/pdf", headers=keys.officer)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    pdf = response.content
    assert pdf.startswith(b"%PDF-") and len(re.findall(rb"/Type /Page\b", pdf)) == 2
    # 85.60 x 53.98 mm in points (ISO/IEC 7810 ID-1)
    assert re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf) == [(b"242.65", b"153.01")]
    held = sealed(services, number)
    assert decode_qr_image(held.qr) == held.qr
    assert decode_qr_image(held.qr, scale=4) == held.qr  # a phone's view of a card at arm's length
    (printed,) = events(services, "card.printed")
    assert printed.person == obama and set(without_request_id(printed.detail)) == {"uin"}


def test_a_card_reported_lost_is_revoked_and_another_may_be_issued(client, keys, services, obama):
    number = issue(client, keys.officer, obama).json()["number"]
    grouped = card_numbers.grouped(number)  # read out on the phone: spaces are fine
    reported = client.post(f"/v1/cards/{grouped}/report", headers=keys.officer, json={"reason": "lost"})
    assert reported.status_code == 200, reported.text
    assert reported.json()["state"] == "lost" and reported.json()["revoked_reason"] == "card lost"
    assert client.get(f"/v1/cards/{number}", headers=keys.auditor).json()["state"] == "lost"
    assert_problem(client.post(f"/v1/cards/{number}/report", headers=keys.officer, json={"reason": "stolen"}), 409)
    assert_problem(client.get(f"/v1/cards/{number}/pdf", headers=keys.officer), 409)
    (event,) = events(services, "card.reported")
    assert without_request_id(event.detail) == {"uin": obama, "identifier_kind": "uin", "reason": "lost"}
    assert [e.detail["reason"] for e in events(services, "credential.revoked")] == ["card lost"]
    assert issue(client, keys.officer, obama).status_code == 201
    listed = client.get(f"/v1/identities/{obama}/cards", headers=keys.auditor).json()
    assert [c["state"] for c in listed] == ["active", "lost"] and listed[1]["number"] == number


def test_a_reprint_replaces_the_card_with_a_new_number_and_qr(client, keys, services, obama):
    old = issue(client, keys.officer, obama).json()
    response = client.post(f"/v1/cards/{old['number']}/reprint", headers=keys.officer)
    assert response.status_code == 201, response.text
    body = response.json()
    new = body["card"]
    assert body["replaced"]["state"] == "replaced" and body["replaced"]["replaced_by"] == new["number"]
    assert new["number"] != old["number"] and new["state"] == "active"
    assert sealed(services, new["number"]).qr != sealed(services, old["number"]).qr
    assert claim169.decode(sealed(services, new["number"]).qr).card_number == new["number"]
    assert_problem(client.post(f"/v1/cards/{old['number']}/reprint", headers=keys.officer), 409)
    (event,) = events(services, "card.reprinted")
    assert event.subject_id == new["number"]
    assert without_request_id(event.detail) == {
        "uin": obama,
        "identifier_kind": "uin",
        "replaces": old["number"],
        "previous_state": "active",
    }


def test_a_suspension_revokes_the_card_and_no_new_card_is_issued_meanwhile(client, keys, services, obama):
    number = issue(client, keys.officer, obama).json()["number"]
    suspended = client.post(
        f"/v1/identities/{obama}/suspend",
        headers=keys.adjudicator,
        json={"reason": "court_order", "evidence_reference": "CO-2026-17"},
    )
    assert suspended.status_code == 200, suspended.text
    assert client.get(f"/v1/cards/{number}", headers=keys.officer).json()["state"] == "revoked"
    refused = assert_problem(issue(client, keys.officer, obama), 409)
    assert "suspended" in refused["detail"]
    assert_problem(client.post(f"/v1/cards/{number}/reprint", headers=keys.officer), 409)


@pytest.mark.parametrize("number, status", [("12345678", 422), ("123456789A", 422), ("123456789B", 404)])
def test_a_malformed_or_unknown_card_number_is_a_clear_4xx(client, keys, number, status):
    assert card_numbers.check_letter("123456789") == "B"
    assert_problem(client.get(f"/v1/cards/{number}", headers=keys.officer), status)


def test_only_registration_staff_issue_and_an_auditor_only_reads(client, keys, obama):
    assert_problem(issue(client, keys.auditor, obama), 403)
    assert_problem(issue(client, keys.admin, obama), 403)
    assert_problem(client.post(f"/v1/identities/{obama}/cards"), 401)


def test_a_vid_card_prints_a_perpetual_vid_that_reporting_the_card_revokes(client, keys, services, obama):
    services.settings.card_identifier = "vid"
    card = issue(client, keys.officer, obama).json()
    assert card["identifier_kind"] == "vid"
    held = sealed(services, card["number"])
    assert vid.looks_like_vid(held.identifier) and claim169.decode(held.qr).holder.id == held.identifier
    assert obama not in held.qr  # the QR names the VID, never the UIN
    with services.sessions() as db:
        presented = vid.resolve(db, services.settings, held.identifier)
        assert presented is not None and presented.identity.uin == obama
    client.post(f"/v1/cards/{card['number']}/report", headers=keys.officer, json={"reason": "stolen"})
    with services.sessions() as db:
        row = db.scalars(select(VirtualId)).one()
        assert row.revoked_reason == "card stolen"
        with pytest.raises(vid.VidNotUsable):
            vid.resolve(db, services.settings, held.identifier)


def test_a_key_ring_rotation_re_seals_the_cards_so_the_old_key_can_go(client, keys, services, obama):
    number = issue(client, keys.officer, obama).json()["number"]
    before = sealed(services, number).qr
    old = services.keyring.active
    services.keyring.rotate()
    with services.sessions.begin() as db:
        assert cards.reencrypt(services.keyring, db) == 1
        assert cards.reencrypt(services.keyring, db) == 0
    services.keyring.retire(old)
    assert sealed(services, number).qr == before


def test_the_printed_qr_verifies_with_the_card_verifier_until_the_card_is_reported(
    tmp_path, client, keys, services, obama
):
    from credentials.card_check import check, read_qr
    from credentials.card_pdf import qr_png

    number = issue(client, keys.officer, obama).json()["number"]
    image = tmp_path / "card-back.png"
    image.write_bytes(qr_png(sealed(services, number).qr, scale=4))

    def fetch(uri: str) -> str:
        return client.get(uri).text

    text = read_qr(image)  # the verifier's own reading of the image
    before = check(text, services.credential_keys.public_key, fetch)
    assert before.accepted and before.revocation.state == "valid"
    client.post(f"/v1/cards/{number}/report", headers=keys.officer, json={"reason": "stolen"})
    after = check(text, services.credential_keys.public_key, fetch)
    assert after.verification.valid and after.revocation.state == "revoked" and not after.accepted
