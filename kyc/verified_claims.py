"""Verified claims (OpenID Connect for Identity Assurance 1.0, draft -13): what civid verified about a
person at enrolment, how, when and under which rules — answered for one RP's request element.

What civid states (``verification_facts``):
- ``trust_framework`` (settings.kyc_trust_framework), ``assurance_level`` (settings: "document" level when an
  officer examined at least one identity document, else the biometric-only level), ``time`` = when the
  enrolment was decided, ``verification_process`` = the enrolment's public id.
- ``evidence``: one ``document`` per identity document checked at enrolment (``method`` "pipp": physical
  in-person proofing at the desk; ``check_details`` from the officer's check methods, ``time`` = checked_at;
  ``document_details`` with type, number, issuer, dates), and one ``electronic_record`` for the biometric
  1:N deduplication against the national register (``record.type`` "population_register"; one
  ``check_details`` entry per modality compared, ``check_method`` "bvp" — automated biometric comparison with
  the person present — and ``txn`` "<enrolment id>/face" or "/finger"; ``time`` = decision time).
- ``claims``: given_name, family_name, middle_name, birthdate, place_of_birth {locality, country?},
  nationalities, gender, address, and uin (only for clients entitled to ``uin``).

How a request is answered (``verified_claims_for``), OIDC4IDA -13 §5.2-5.8:
- only what was asked for: verification members the RP named (``trust_framework`` is always named), inside
  evidence only the requested members, and only the requested claims (data minimisation);
- ``value``/``values``/``max_age`` on anything under ``verification`` that the data does not meet (or a
  constraint on data civid does not hold) → the whole verified_claims object is omitted (§5.8.3); an
  ``evidence`` array is a filter: no available evidence matching any template → omitted;
- the same constraints on a claim → that claim is omitted; no claim left → the object is omitted (§5.8.4);
- never an error for unmet requirements (§5.8.3): errors are for malformed requests, caught at /authorize.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from civid.audit import as_utc
from civid.settings import Settings
from enrollment.documents import documents_of, open_number
from enrollment.record import issuing_enrolment
from idp.claims import claim_values, entitled
from kyc.verified_claims_request import (
    CLAIMS_IN_VERIFIED_CLAIMS,
    CONSENT_PREFIX,
    CONSTRAINTS,
    EVIDENCE,
    EVIDENCE_CONSENT_NAME,
    KYC_ENTITLEMENT,
    LEAF,
    VERIFICATION,
    request_list,
    validate_request_element,
)
from models import Client, Enrolment, Identity, IdentityDocument, utcnow

if TYPE_CHECKING:
    from idp.runtime import IdpServices

EVIDENCE_SUPPORTED = ("document", "electronic_record")
DOCUMENT_METHOD = "pipp"  # physical in-person proofing: the person stands at the officer's desk
DEDUP_CHECK_METHOD = "bvp"  # automated biometric comparison, the person physically present at capture
DEDUP_RECORD_TYPE = "population_register"
_MISSING = object()


@dataclass(frozen=True)
class VerificationFacts:
    """Everything civid can state about one person's verification, in OIDC4IDA JSON form (dates as
    strings); requests select from it."""

    verification: dict[str, Any]  # trust_framework, assurance_level, time, verification_process, evidence
    claims: dict[str, Any]


def verified_claims_for(
    db: Session,
    services: IdpServices,
    identity: Identity,
    client: Client,
    request_element: dict[str, Any] | list[Any] | None,
    *,
    consented: Collection[str] | None = None,
    now: datetime | None = None,
) -> dict[str, Any] | list[dict[str, Any]] | None:
    """The ``verified_claims`` value answering ``request_element`` for ``client``, or None to omit it.

    Contract:
    - ``request_element``: the ``verified_claims`` member of ``claims.userinfo``/``claims.id_token`` (or an
      attestation request body): one request object or an array of them. It is validated here too
      (``validate_request_element``; a malformed one raises ``idp.errors.InvalidRequest``).
    - Returns None when the client lacks the ``kyc`` entitlement, the element is None, the person has no
      issued record, or no request could be fulfilled; for an object, the one verified_claims object; for an
      array, the list of the fulfilled requests' objects (None if none was fulfilled).
    - ``consented``: the consent claim names the citizen agreed to (e.g. ``set(consent.claims)``, holding
      ``verified_claims:<claim>`` and ``verified_claims:evidence``); only those claims are released, and a
      request asking for evidence without ``verified_claims:evidence`` consented is not fulfilled. None means
      the caller has already established consent covering this element (``consent_names(element)``).
    - Claims go to a client only when supported, requested, consented, entitled (``uin``) and on record.
    - ``now`` (UTC) is when ``max_age`` is measured; default: now. Reads only; writes nothing (the caller
      records the release with ``kyc.releases.record_release`` in its transaction).
    """
    if request_element is None or KYC_ENTITLEMENT not in client.entitlements:
        return None
    validate_request_element(request_element)
    facts = verification_facts(db, services, identity)
    if facts is None:
        return None
    moment = now or utcnow()
    consent = set(consented) if consented is not None else None
    answers = [
        answer
        for request in request_list(request_element)
        if (answer := _answer(facts, request, client, consent, moment)) is not None
    ]
    if isinstance(request_element, list):
        return answers or None
    return answers[0] if answers else None


def released_claim_names(value: dict[str, Any] | list[dict[str, Any]] | None) -> list[str]:
    """The claims inside a ``verified_claims`` answer as ``verified_claims:<claim>`` names (the consent
    vocabulary), plus ``verified_claims:evidence`` when evidence left: for ``record_release`` and audit."""
    if not value:
        return []
    objects = value if isinstance(value, list) else [value]
    names = {CONSENT_PREFIX + name for obj in objects for name in obj.get("claims", {})}
    if any("evidence" in obj.get("verification", {}) for obj in objects):
        names.add(EVIDENCE_CONSENT_NAME)
    return sorted(names)


def verification_facts(db: Session, services: IdpServices, identity: Identity) -> VerificationFacts | None:
    """What civid can state about ``identity``'s verification (None without an issued record)."""
    record = issuing_enrolment(db, identity.id)  # the enrolment that issued the UIN, with its own evidence
    if record is None or identity.status != "active":
        return None
    settings = services.settings
    decided = _timestamp(as_utc(record.decided_at or record.created_at))
    evidence = [_document_evidence(services, row, record) for row in documents_of(db, record.id)]
    has_document = bool(evidence)
    evidence.append(_deduplication_evidence(settings, record, identity, decided))
    verification = {
        "trust_framework": settings.kyc_trust_framework,
        "assurance_level": (
            settings.kyc_assurance_level_document if has_document else settings.kyc_assurance_level_biometric_only
        ),
        "time": decided,
        "verification_process": record.public_id,
        "evidence": evidence,
    }
    return VerificationFacts(verification, _claims(db, identity, record))


def _document_evidence(services: IdpServices, row: IdentityDocument, record: Enrolment) -> dict[str, Any]:
    """OIDC4IDA -13 evidence type ``document``: what the officer examined, how, and when."""
    checked = _timestamp(as_utc(row.checked_at))
    details: dict[str, Any] = {
        "type": row.type,
        "document_number": open_number(services.keyring, row, record.public_id),
        "issuer": {"name": row.issuer_name, "country_code": row.issuer_country},
    }
    if row.date_of_issuance:
        details["date_of_issuance"] = row.date_of_issuance.isoformat()
    if row.date_of_expiry:
        details["date_of_expiry"] = row.date_of_expiry.isoformat()
    organization = services.settings.kyc_register_name
    return {
        "type": "document",
        "method": DOCUMENT_METHOD,
        "time": checked,
        "check_details": [
            {"check_method": method, "organization": organization, "txn": record.public_id, "time": checked}
            for method in row.check_methods
        ],
        "document_details": details,
    }


def _deduplication_evidence(settings: Settings, record: Enrolment, identity: Identity, decided: str) -> dict[str, Any]:
    """OIDC4IDA -13 evidence type ``electronic_record``: the 1:N biometric search of the national register
    (deduplication) behind this record's decision, one check per modality compared (face, finger)."""
    modalities = list(record.dedup_modalities or []) or ["face"]  # the face is always searched
    return {
        "type": "electronic_record",
        "time": decided,
        "check_details": [
            {
                "check_method": DEDUP_CHECK_METHOD,
                "organization": settings.kyc_register_name,
                "txn": f"{record.public_id}/{modality}",
                "time": decided,
            }
            for modality in modalities
        ],
        "record": {
            "type": DEDUP_RECORD_TYPE,
            "created_at": as_utc(identity.created_at).date().isoformat(),
            "source": {"name": settings.kyc_register_name, "country_code": settings.kyc_register_country},
        },
    }


def _claims(db: Session, identity: Identity, record: Enrolment) -> dict[str, Any]:
    values = claim_values(db, identity)
    claims = {name: values[name] for name in CLAIMS_IN_VERIFIED_CLAIMS if name in values}
    claims["nationalities"] = [record.nationality]
    claims["place_of_birth"] = _place_of_birth(record.place_of_birth)
    return claims


def _place_of_birth(text: str) -> dict[str, str]:
    """The free-text place of birth as OIDC4IDA's object: "Belize City, BLZ" → locality and country code;
    anything else is the locality as typed."""
    locality, _, last = text.rpartition(",")
    if locality.strip() and re.fullmatch(r"[A-Z]{2,3}", last.strip()):
        return {"locality": locality.strip(), "country": last.strip()}
    return {"locality": text.strip()}


def _timestamp(moment: datetime) -> str:
    """UTC, whole seconds, ``Z`` (OIDC4IDA -13 §9: times in UTC so they reveal no location)."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _answer(
    facts: VerificationFacts, request: dict[str, Any], client: Client, consented: set[str] | None, now: datetime
) -> dict[str, Any] | None:
    """One request object answered, or None when its verification requirements are not met."""
    wanted = request["verification"]
    if "evidence" in wanted and consented is not None and EVIDENCE_CONSENT_NAME not in consented:
        return None  # the citizen did not agree to show how they were verified; evidence is a requirement
    verification: dict[str, Any] = {}
    for name, spec in wanted.items():
        kind = VERIFICATION.get(name)
        if kind is None:
            continue  # not understood: omitted (§5.8.1)
        if name == "evidence":
            selected = _select_evidence(facts.verification["evidence"], spec, now)
        else:
            selected = _select(facts.verification.get(name, _MISSING), spec, kind, now)
        if selected is None:
            return None  # a requirement on verification failed: omit the whole object (§5.8.3)
        if selected is not _MISSING:
            verification[name] = selected
    claims = _select_claims(facts.claims, request["claims"], client, consented, now)
    if not claims or "trust_framework" not in verification:
        return None  # an object without claims (or framework) is invalid: omit it (§5.8.4)
    return {"verification": verification, "claims": claims}


def _select_claims(
    values: dict[str, Any], wanted: dict[str, Any], client: Client, consented: set[str] | None, now: datetime
) -> dict[str, Any]:
    released: dict[str, Any] = {}
    for name, spec in wanted.items():
        if name not in CLAIMS_IN_VERIFIED_CLAIMS or name not in values or not entitled(client, name):
            continue
        if consented is not None and CONSENT_PREFIX + name not in consented:
            continue
        if _leaf_ok(values[name], spec, now):  # a claim that misses its constraint is omitted alone
            released[name] = values[name]
    return released


def _select(available: Any, spec: Any, kind: Any, now: datetime) -> Any:
    """The requested part of ``available`` per ``spec``: a value, ``_MISSING`` (omit quietly), or None
    (a constraint failed)."""
    if kind == LEAF:
        if available is _MISSING:
            return None if _constrained(spec) else _MISSING
        return available if _leaf_ok(available, spec, now) else None
    if isinstance(kind, list):
        return _select_array(available if isinstance(available, list) else [], spec, kind[0], now)
    if available is _MISSING or not isinstance(available, dict):
        return None if _has_constraint(spec) else _MISSING
    if spec is None:
        return available  # the whole sub-object
    out: dict[str, Any] = {}
    for name, member in spec.items():
        if name not in kind:
            continue
        selected = _select(available.get(name, _MISSING), member, kind[name], now)
        if selected is None:
            return None
        if selected is not _MISSING:
            out[name] = selected
    return out or _MISSING


def _select_array(available: list[Any], templates: list[Any], kind: Any, now: datetime) -> Any:
    """Entries matching any template (logical OR, §5.3), each projected by the first template it meets."""
    out = []
    for entry in available:
        for template in templates:
            selected = _select(entry, template, kind, now)
            if selected is not None and selected is not _MISSING:
                out.append(selected)
                break
    if out:
        return out
    return None if _has_constraint(templates) else _MISSING


def _select_evidence(available: list[dict[str, Any]], templates: list[dict[str, Any]], now: datetime) -> Any:
    """Evidence entries matching any template; the templates are a filter, so no match → None."""
    out = []
    for entry in available:
        for template in templates:
            if template["type"]["value"] != entry["type"]:
                continue
            projected = {"type": entry["type"]}
            schema = EVIDENCE[entry["type"]]
            ok = True
            for name, member in template.items():
                if name == "type" or name not in schema:
                    continue
                selected = _select(entry.get(name, _MISSING), member, schema[name], now)
                if selected is None:
                    ok = False
                    break
                if selected is not _MISSING:
                    projected[name] = selected
            if ok:
                out.append(projected)
                break
    return out or None


def _constrained(spec: Any) -> bool:
    return isinstance(spec, dict) and any(key in spec for key in CONSTRAINTS)


def _has_constraint(spec: Any) -> bool:
    """Whether a (nested) request spec carries value/values/max_age anywhere."""
    if isinstance(spec, dict):
        return _constrained(spec) or any(_has_constraint(v) for v in spec.values() if isinstance(v, (dict, list)))
    if isinstance(spec, list):
        return any(_has_constraint(item) for item in spec)
    return False


def _leaf_ok(value: Any, spec: Any, now: datetime) -> bool:
    """Whether ``value`` meets ``spec``'s value/values (exact strings) and max_age (OIDC4IDA -13 §5.6.2)."""
    if not isinstance(spec, dict):
        return True
    if "value" in spec and value != spec["value"]:
        return False
    if "values" in spec and value not in spec["values"]:
        return False
    if "max_age" in spec:
        moment = _as_moment(value)
        # §5.6.2: counted from the last valid second of a date value.
        if moment is None or (now - moment).total_seconds() > spec["max_age"]:
            return False
    return True


def _as_moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time.max, tzinfo=UTC)
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


__all__ = [
    "CLAIMS_IN_VERIFIED_CLAIMS",
    "EVIDENCE_SUPPORTED",
    "KYC_ENTITLEMENT",
    "VerificationFacts",
    "released_claim_names",
    "verification_facts",
    "verified_claims_for",
]
