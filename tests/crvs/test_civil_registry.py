"""The civil registry's partner API on SQLite and PostgreSQL: a registered death from an OpenCRVS FHIR bundle
deactivates the identity (evidence: the registration number) and a resend changes nothing; a birth waits for
the desk, then the registry reads the child's UIN; the registry authenticates with private_key_jwt and the
civil_registry entitlement; bad events are clear 4xx and store nothing; two deliveries at once apply once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from models import AuditEvent, CivilRegistration, IdentityStatusChange
from tests.conftest import assert_problem, make_settings
from tests.crvs.bundles import birth_bundle, death_bundle
from tests.enrollment.test_identity_status import bare_identity
from tests.kyc.banks import Bank, client_auth, register_bank
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture

EVENTS = "/v1/civil-registry/events"
BIRTH_STATUS = "/v1/civil-registry/birth-status"


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path: Path):
    if request.param == "postgresql":
        return make_settings(tmp_path, database_url=request.getfixturevalue("postgres_schema_url"))
    return make_settings(tmp_path)


@pytest.fixture
def registry(services) -> Bank:
    return register_bank(services, name="Vital Statistics Unit", entitlements=("civil_registry",))


def send(client, services, registry: Bank, path: str = EVENTS, **payload: Any):
    return client.post(path, json={**client_auth(registry, services, path), **payload})


def history(services, identity_id: int) -> list[tuple[str, str, str, str]]:
    with services.sessions() as db:
        rows = db.scalars(select(IdentityStatusChange).where(IdentityStatusChange.identity_id == identity_id))
        return [(r.transition, r.reason, r.evidence_reference, r.actor_role) for r in rows]


def registrations(services) -> int:
    with services.sessions() as db:
        return db.scalar(select(func.count()).select_from(CivilRegistration)) or 0


def test_a_registered_death_deactivates_the_identity_once(client, services, registry):
    person = bare_identity(services)
    response = send(client, services, registry, bundle=death_bundle(person.uin))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "registration_number": "2026DYC3RFC",
        "kind": "death",
        "status": "deactivated",
        "uin": person.uin,
        "replayed": False,
    }
    assert history(services, person.id) == [("deactivated", "death", "2026DYC3RFC", "civil_registry")]
    again = send(client, services, registry, bundle=death_bundle(person.uin))
    assert again.status_code == 200, again.text
    assert again.json()["replayed"] is True and again.json()["status"] == "deactivated"
    assert len(history(services, person.id)) == 1  # applied once
    with services.sessions() as db:
        received = db.scalars(select(AuditEvent).where(AuditEvent.action == "civil_registry.death_received")).all()
        deactivated = db.scalars(select(AuditEvent).where(AuditEvent.action == "identity.deactivated")).one()
    assert len(received) == 1 and received[0].detail["client_id"] == registry.client_id
    assert received[0].detail["format"] == "fhir" and deactivated.actor_role == "civil_registry"
    # The same number with another death date is not a resend: refused, the first stands.
    other = send(client, services, registry, bundle=death_bundle(person.uin, died="2026-11-29"))
    assert assert_problem(other, 409)["detail"].endswith("the first stands")


def test_a_death_of_an_unknown_or_already_deactivated_identity_is_refused(client, services, registry):
    unknown = send(client, services, registry, bundle=death_bundle("4058075267"))
    assert "no identity with UIN 4058075267" in assert_problem(unknown, 404)["detail"]
    person = bare_identity(services)
    assert send(client, services, registry, bundle=death_bundle(person.uin, "2026D0000001")).status_code == 200
    twice = send(client, services, registry, bundle=death_bundle(person.uin, "2026D0000002"))
    assert "is deactivated" in assert_problem(twice, 409)["detail"]
    assert registrations(services) == 1  # neither refusal left a row


def test_events_that_are_not_registered_deaths_or_births_are_422(client, services, registry):
    person = bare_identity(services)
    declaration = send(client, services, registry, bundle=death_bundle(person.uin, registration_number=None))
    assert "only a registered event" in assert_problem(declaration, 422)["detail"]
    no_national_id = send(client, services, registry, bundle=death_bundle(None))
    assert "NATIONAL_ID" in assert_problem(no_national_id, 422)["detail"]
    mistyped = send(client, services, registry, bundle=death_bundle(person.uin[:-1] + "0"))
    assert "check digit" in assert_problem(mistyped, 422)["detail"]
    assert_problem(send(client, services, registry, bundle={"resourceType": "Patient"}), 422)
    assert_problem(send(client, services, registry, event={"kind": "marriage", "registration_number": "x"}), 422)
    assert_problem(send(client, services, registry), 422)
    assert registrations(services) == 0 and history(services, person.id) == []


def test_the_plain_json_form_records_a_death(client, services, registry):
    person = bare_identity(services)
    event = {"kind": "death", "registration_number": "VSU-D-2026-0119", "date": "2026-11-27", "uin": person.uin}
    response = send(client, services, registry, event=event)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "deactivated"
    assert history(services, person.id) == [("deactivated", "death", "VSU-D-2026-0119", "civil_registry")]


def test_a_birth_waits_for_the_desk_then_the_registry_reads_the_childs_uin(client, services, registry, keys):
    mother, father = bare_identity(services, "405807526"), bare_identity(services, "405807527")
    response = send(client, services, registry, bundle=birth_bundle(mother.uin, father.uin))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "pending_enrolment" and response.json()["uin"] is None
    with services.sessions() as db:
        row = db.scalars(select(CivilRegistration)).one()
    assert row.person == {
        "given_name": "Maya Rose",
        "family_name": "Pook",
        "sex": "F",
        "place_of_birth": None,
        "mother_uin": mother.uin,
        "father_uin": father.uin,
    }
    assert str(row.event_date) == "2026-11-20"
    pending = send(client, services, registry, BIRTH_STATUS, registration_number="2026BQ7K2L1")
    assert pending.json()["status"] == "pending_enrolment"

    child = bare_identity(services, "405807528")  # enrolled at the desk
    link = "/v1/civil-registry/births/2026BQ7K2L1/identity"
    assert_problem(client.post(link, json={"uin": child.uin}), 401)
    linked = client.post(link, json={"uin": child.uin}, headers=keys.officer)
    assert linked.status_code == 200, linked.text
    assert linked.json()["uin"] == child.uin and linked.json()["status"] == "enrolled"
    assert_problem(client.post(link, json={"uin": mother.uin}, headers=keys.officer), 409)
    enrolled = send(client, services, registry, BIRTH_STATUS, registration_number="2026BQ7K2L1")
    assert enrolled.json()["uin"] == child.uin
    assert_problem(send(client, services, registry, BIRTH_STATUS, registration_number="2026NOPE"), 404)


def test_a_birth_naming_an_unknown_parent_is_refused(client, services, registry):
    stranger = "4058075267"
    response = send(client, services, registry, bundle=birth_bundle(stranger, None))
    assert "not an identity civid holds" in assert_problem(response, 422)["detail"]
    assert registrations(services) == 0


def test_only_the_registry_with_its_own_key_may_send(client, services, registry):
    person = bare_identity(services)
    bank = register_bank(services, name="Belize Bank")  # kyc only
    refused = send(client, services, bank, bundle=death_bundle(person.uin))
    assert refused.status_code == 403 and "civil_registry" in refused.text
    no_credentials = client.post(EVENTS, json={"bundle": death_bundle(person.uin)})
    assert no_credentials.status_code == 401 and "private_key_jwt" in no_credentials.text
    credentials = client_auth(registry, services, EVENTS)
    first = client.post(EVENTS, json={**credentials, "bundle": death_bundle(person.uin)})
    assert first.status_code == 200, first.text
    replayed = client.post(EVENTS, json={**credentials, "bundle": death_bundle(person.uin)})
    assert replayed.status_code == 401  # the assertion's jti is single-use
    # An assertion made for another endpoint (the KYC attestations) is not accepted here.
    elsewhere = client_auth(registry, services, "/v1/kyc/attestations")
    wrong_audience = client.post(EVENTS, json={**elsewhere, "bundle": death_bundle(person.uin)})
    assert wrong_audience.status_code == 401 and "aud" in wrong_audience.text
    assert history(services, person.id) == [("deactivated", "death", "2026DYC3RFC", "civil_registry")]


def test_two_deliveries_at_once_apply_once(client, services, registry):
    person = bare_identity(services)
    bodies = [{**client_auth(registry, services, EVENTS), "bundle": death_bundle(person.uin)} for _ in range(4)]
    results: list[Any] = []
    start = threading.Barrier(len(bodies))

    def deliver(body):
        start.wait()
        results.append(client.post(EVENTS, json=body))

    threads = [threading.Thread(target=deliver, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # One applies; the others find it (a resend) or meet it in flight (409, to be sent again); none fails else.
    assert sorted(r.status_code for r in results).count(200) >= 1
    assert all(r.status_code in (200, 409) for r in results), [r.text for r in results]
    assert [r.json()["replayed"] for r in results if r.status_code == 200].count(False) == 1
    assert len(history(services, person.id)) == 1 and registrations(services) == 1
