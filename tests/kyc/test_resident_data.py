"""kyc's part of the resident's history and data download: a bank's attestation in the history by the bank's
name, the examined passport's metadata in the download (its number's last characters only), and an officer's
1:1 verification listed by role and modality."""

from __future__ import annotations

import csv
import io

from tests.conftest import fixture_bytes, seeded_fixtures
from tests.kyc.banks import attest, citizen_tokens, enrol_documented_citizen, login_session, register_bank

seed, settings, keys, documented = seeded_fixtures(enrol_documented_citizen, "documented")


def test_attestation_documents_and_officer_verification_reach_the_resident(client, services, keys, documented):
    bank = register_bank(services, name="Belize Bank")
    tokens = citizen_tokens(client, services, bank, documented)
    assert attest(client, services, bank, tokens["access_token"]).status_code == 201
    photo = {"photo": ("probe.jpg", fixture_bytes("obama_2010_blue_room.jpg"), "image/jpeg")}
    verified = client.post("/v1/verify", headers=keys.officer, data={"uin": documented.uin}, files=photo)
    assert verified.status_code == 200 and verified.json()["match"] is True
    login_session(services, client, documented)

    rows = list(csv.DictReader(io.StringIO(client.get("/account/history.csv").text)))
    assert rows[0] == {**rows[0], "what": "verification", "who": "officer", "method": "face", "outcome": "matched"}
    (attestation,) = [r for r in rows if r["what"] == "attestation"]
    assert attestation["who"] == "Belize Bank" and attestation["method"] == "attestation"

    download = client.get("/account/my-data.json")
    data = download.json()
    (passport,) = data["documents"]
    assert passport["type"] == "passport" and passport["number_ending"] == "4567"
    assert passport["checks"] == ["vpip", "pvp"] and passport["issuer"] == "Immigration Department"
    assert "P0123" not in download.text  # the full number stays sealed
    (issued,) = data["attestations"]
    assert issued["bank"] == "Belize Bank" and issued["status"] == "valid"
    assert any(r["to"] == "Belize Bank" and r["channel"] == "attestation" for r in data["releases"])
