"""FHIR bundles in the shape OpenCRVS's MOSIP mediator sends (opencrvs/mosip docs/example-events: a document
bundle of Composition, Task, Patient, RelatedPerson, Encounter, ...), built here with test values."""

from __future__ import annotations

import uuid
from typing import Any

SPECS = "http://opencrvs.org/specs"


def _ref(resource: dict[str, Any]) -> str:
    return f"{resource['resourceType']}/{resource['id']}"


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"/fhir/{_ref(resource)}/_history/{uuid.uuid4()}", "resource": resource}


def patient(national_id: str | None, given: list[str], family: str, birth_date: str, **more: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(uuid.uuid4()),
        "active": True,
        "name": [{"use": "en", "given": [*given, ""], "family": family}],
        "birthDate": birth_date,
        "address": [{"type": "PRIMARY_ADDRESS", "line": ["", ""], "country": "BLZ"}],
        **more,
    }
    if national_id is not None:
        resource["identifier"] = [
            {"value": national_id, "type": {"coding": [{"system": f"{SPECS}/identifier-type", "code": "NATIONAL_ID"}]}}
        ]
    return resource


def _section(code: str, title: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": title,
        "code": {"coding": [{"system": "http://opencrvs.org/doc-sections", "code": code}], "text": title},
        "entry": [{"reference": _ref(resource)}],
    }


def bundle(
    kind: str, sections: list[tuple[str, dict[str, Any]]], registration_number: str | None, tracking_id: str
) -> dict[str, Any]:
    """A registered ``kind`` (BIRTH or DEATH) event: the sections' Patients, the Task with its identifiers."""
    event = kind.lower()
    composition = {
        "resourceType": "Composition",
        "id": str(uuid.uuid4()),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": tracking_id},
        "status": "final",
        "type": {"coding": [{"system": "http://opencrvs.org/doc-types", "code": f"{event}-declaration"}]},
        "title": f"{kind.title()} Declaration",
        "section": [_section(code, code.replace("-", " "), resource) for code, resource in sections],
        "subject": {},
        "date": "2026-11-30T10:15:00.000Z",
    }
    identifiers = [{"system": f"{SPECS}/id/{event}-tracking-id", "value": tracking_id}]
    if registration_number is not None:
        identifiers.append({"system": f"{SPECS}/id/{event}-registration-number", "value": registration_number})
    task = {
        "resourceType": "Task",
        "id": str(uuid.uuid4()),
        "status": "ready",
        "intent": "proposal",
        "code": {"coding": [{"system": f"{SPECS}/types", "code": kind}]},
        "focus": {"reference": _ref(composition)},
        "identifier": identifiers,
        "businessStatus": {"coding": [{"system": f"{SPECS}/reg-status", "code": "REGISTERED"}]},
    }
    informant = {
        "resourceType": "RelatedPerson",
        "id": str(uuid.uuid4()),
        "relationship": {"coding": [{"code": "SPOUSE"}]},
    }
    encounter = {"resourceType": "Encounter", "id": str(uuid.uuid4()), "status": "finished"}
    resources = [composition, task, informant, *[r for _, r in sections], encounter]
    return {"resourceType": "Bundle", "type": "document", "entry": [_entry(r) for r in resources]}


def death_bundle(uin: str | None, registration_number: str | None = "2026DYC3RFC", died: str = "2026-11-28"):
    deceased = patient(uin, ["Some"], "One", "1950-01-01", gender="male", deceasedBoolean=True, deceasedDateTime=died)
    return bundle("DEATH", [("deceased-details", deceased)], registration_number, "DYC3RFC")


def birth_bundle(
    mother_uin: str | None, father_uin: str | None, registration_number: str = "2026BQ7K2L1", born: str = "2026-11-20"
):
    child = patient(None, ["Maya", "Rose"], "Pook", born, gender="female")
    sections = [("child-details", child)]
    if mother_uin is not None:
        sections.append(("mother-details", patient(mother_uin, ["Ana"], "Pook", "1995-04-02", gender="female")))
    if father_uin is not None:
        sections.append(("father-details", patient(father_uin, ["Luis"], "Pook", "1993-08-17", gender="male")))
    return bundle("BIRTH", sections, registration_number, "BQ7K2L1")
