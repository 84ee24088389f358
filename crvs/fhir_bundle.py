"""Reading the vital event out of the FHIR bundle OpenCRVS sends a national ID system (its MOSIP mediator's
shape: a ``document`` bundle whose ``Composition`` names the sections and whose ``Task`` carries the event
type and the registration number).

Only what civid needs is read, by the codes OpenCRVS publishes (http://opencrvs.org/specs/...):

- ``Task.code`` ``BIRTH`` or ``DEATH`` (system .../specs/types) — the kind;
- ``Task.identifier`` .../specs/id/{birth,death}-registration-number — the key every resend is matched on,
  and .../{birth,death}-tracking-id;
- the ``Composition`` sections ``child-details``, ``mother-details``, ``father-details`` (a birth) and
  ``deceased-details`` (a death), each a reference to a ``Patient`` in the bundle;
- a ``Patient``'s ``identifier`` of type ``NATIONAL_ID`` (coded or, in older bundles, a plain string) — the UIN;
  ``name`` (``given`` list, ``family`` string or list), ``gender``, ``birthDate``, ``deceasedDateTime``.

Anything else in the bundle (the informant, locations, questionnaire answers, attachments) is ignored and
never stored. A bundle without the Task, its type or its registration number — a declaration not yet
registered — is refused (422): civid acts on registered events only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from civid.errors import InvalidInput
from crvs.vital_event import VitalEvent, checked_uin

SPECS = "http://opencrvs.org/specs"
SEX = {"male": "M", "female": "F", "other": "X", "unknown": "X"}


def _fail(detail: str) -> InvalidInput:
    return InvalidInput(f"FHIR bundle: {detail}", code="fhir_bundle")


def _resources(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    if bundle.get("resourceType") != "Bundle" or not isinstance(bundle.get("entry"), list):
        raise _fail("a Bundle resource with an entry list is expected")
    found = [e.get("resource") for e in bundle["entry"] if isinstance(e, dict)]
    return [r for r in found if isinstance(r, dict) and isinstance(r.get("resourceType"), str)]


def _codes(concept: Any) -> list[str]:
    if not isinstance(concept, dict):
        return []
    codings = concept.get("coding", [])
    return [str(c["code"]) for c in codings if isinstance(c, dict) and isinstance(c.get("code"), str)]


def _one(resources: list[dict[str, Any]], resource_type: str) -> dict[str, Any]:
    found = [r for r in resources if r["resourceType"] == resource_type]
    if len(found) != 1:
        raise _fail(f"exactly one {resource_type} is expected, found {len(found)}")
    return found[0]


def _identifier(task: Mapping[str, Any], system: str) -> str | None:
    for identifier in task.get("identifier", []) or []:
        if isinstance(identifier, dict) and identifier.get("system") == system:
            value = identifier.get("value")
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _section_patient(
    composition: Mapping[str, Any], by_reference: Mapping[str, dict[str, Any]], code: str
) -> dict[str, Any] | None:
    for section in composition.get("section", []) or []:
        if isinstance(section, dict) and code in _codes(section.get("code")):
            for entry in section.get("entry", []) or []:
                patient = by_reference.get(str(entry.get("reference", "")) if isinstance(entry, dict) else "")
                if patient is not None and patient["resourceType"] == "Patient":
                    return patient
    return None


def _national_id(patient: Mapping[str, Any] | None) -> str | None:
    for identifier in (patient or {}).get("identifier", []) or []:
        if not isinstance(identifier, dict):
            continue
        kind = identifier.get("type")
        if kind == "NATIONAL_ID" or "NATIONAL_ID" in _codes(kind):
            value = identifier.get("value")
            return value if isinstance(value, str) else None
    return None


def _date(value: Any, what: str) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise _fail(f"{what} {value!r} is not a date") from exc


def _names(patient: Mapping[str, Any]) -> tuple[str | None, str | None]:
    for name in patient.get("name", []) or []:
        if not isinstance(name, dict):
            continue
        given = " ".join(g.strip() for g in name.get("given", []) or [] if isinstance(g, str) and g.strip())
        family = name.get("family")
        if isinstance(family, list):
            family = " ".join(f for f in family if isinstance(f, str))
        return (given or None, family.strip() if isinstance(family, str) and family.strip() else None)
    return None, None


def vital_event(bundle: Mapping[str, Any]) -> VitalEvent:
    """The registered birth or death ``bundle`` describes; InvalidInput (422) if it describes none."""
    resources = _resources(bundle)
    task = _one(resources, "Task")
    composition = _one(resources, "Composition")
    kinds = {code for code in _codes(task.get("code")) if code in ("BIRTH", "DEATH")}
    if len(kinds) != 1:
        raise _fail("the Task's code must be BIRTH or DEATH")
    kind = "birth" if kinds == {"BIRTH"} else "death"
    registration_number = _identifier(task, f"{SPECS}/id/{kind}-registration-number")
    if registration_number is None:
        raise _fail(f"the Task has no {kind}-registration-number: only a registered event is accepted")
    if len(registration_number) > 64:
        raise _fail("the registration number is longer than 64 characters")
    by_reference = {f"{r['resourceType']}/{r.get('id')}": r for r in resources if r.get("id")}
    tracking_id = _identifier(task, f"{SPECS}/id/{kind}-tracking-id")
    if kind == "death":
        deceased = _section_patient(composition, by_reference, "deceased-details")
        if deceased is None:
            raise _fail("no Patient in the deceased-details section")
        uin = checked_uin(_national_id(deceased), "the deceased's NATIONAL_ID")
        if uin is None:
            raise _fail("the deceased has no NATIONAL_ID identifier: civid cannot tell whose death it is")
        return VitalEvent(
            kind="death",
            registration_number=registration_number,
            tracking_id=tracking_id,
            event_date=_date(deceased.get("deceasedDateTime"), "deceasedDateTime"),
            uin=uin,
        )
    child = _section_patient(composition, by_reference, "child-details")
    if child is None:
        raise _fail("no Patient in the child-details section")
    given, family = _names(child)
    if family is None:
        raise _fail("the child has no family name")
    mother = _section_patient(composition, by_reference, "mother-details")
    father = _section_patient(composition, by_reference, "father-details")
    return VitalEvent(
        kind="birth",
        registration_number=registration_number,
        tracking_id=tracking_id,
        event_date=_date(child.get("birthDate"), "birthDate"),
        given_name=given,
        family_name=family,
        sex=SEX.get(str(child.get("gender", "")).lower()),
        mother_uin=checked_uin(_national_id(mother), "the mother's NATIONAL_ID"),
        father_uin=checked_uin(_national_id(father), "the father's NATIONAL_ID"),
    )
