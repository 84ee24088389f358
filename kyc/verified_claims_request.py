"""The ``verified_claims`` request element of the ``claims`` parameter (OIDC4IDA -13 §5.2-5.6): its shape,
checked at the authorization endpoint, and what it asks for (claim names for consent, purposes to show).

A request element is one object ``{"verification": {...}, "claims": {...}}`` or a non-empty array of them
(§5.7, each processed independently). Inside, every leaf is ``null`` (requested, no constraint) or an
object with ``value``/``values``/``max_age``/``essential``/``purpose`` (OIDC Core §5.5.1, OIDC4IDA §5.5-5.6);
``evidence`` and ``check_details`` are arrays of templates that filter the available entries (logical OR).
The structure below (``VERIFICATION``) is the part of the schema civid understands; members it does not
know are ignored (the schema allows extensions), but a known member of the wrong shape is an
``invalid_request`` at the authorization endpoint, never a silent surprise at UserInfo.
"""

from __future__ import annotations

from typing import Any

from idp.errors import InvalidRequest

LEAF = "leaf"
LEAF_MEMBERS = ("value", "values", "max_age", "essential", "purpose")
CONSTRAINTS = ("value", "values", "max_age")
EVIDENCE_TYPES = ("document", "electronic_record", "vouch", "electronic_signature")  # OIDC4IDA -13 §5.1.1
MAX_REQUESTS = 10  # verified_claims arrays longer than this are a mistake or an attack, not a use case
PURPOSE_MIN, PURPOSE_MAX = 3, 300  # OIDC4IDA -13 §8 (purpose)
EVIDENCE_CONSENT_NAME = "verified_claims:evidence"
CONSENT_PREFIX = "verified_claims:"
KYC_ENTITLEMENT = "kyc"  # only clients holding it (admin-granted, e.g. banks) ever receive verified_claims
CLAIMS_IN_VERIFIED_CLAIMS = (
    "given_name",
    "family_name",
    "middle_name",
    "birthdate",
    "place_of_birth",
    "nationalities",
    "gender",
    "address",
    "uin",
)

# The schema of the verification element, as far as civid can answer it: dict = nested object,
# [dict] = array of templates, LEAF = a value that can be requested and constrained.
ISSUER: dict[str, Any] = {
    name: LEAF
    for name in (
        "name",
        "formatted",
        "street_address",
        "locality",
        "region",
        "postal_code",
        "country",
        "country_code",
        "jurisdiction",
    )
}
CHECK_DETAILS: dict[str, Any] = {"check_method": LEAF, "organization": LEAF, "txn": LEAF, "time": LEAF}
EVIDENCE: dict[str, dict[str, Any]] = {
    "document": {
        "type": LEAF,
        "method": LEAF,
        "time": LEAF,
        "check_details": [CHECK_DETAILS],
        "document_details": {
            "type": LEAF,
            "document_number": LEAF,
            "personal_number": LEAF,
            "serial_number": LEAF,
            "date_of_issuance": LEAF,
            "date_of_expiry": LEAF,
            "issuer": ISSUER,
        },
    },
    "electronic_record": {
        "type": LEAF,
        "time": LEAF,
        "check_details": [CHECK_DETAILS],
        "record": {"type": LEAF, "personal_number": LEAF, "created_at": LEAF, "date_of_expiry": LEAF, "source": ISSUER},
    },
    # Valid to ask for; civid holds no such evidence, so such a filter matches nothing.
    "vouch": {"type": LEAF, "time": LEAF, "check_details": [CHECK_DETAILS]},
    "electronic_signature": {"type": LEAF, "time": LEAF, "check_details": [CHECK_DETAILS]},
}
VERIFICATION: dict[str, Any] = {
    "trust_framework": LEAF,
    "assurance_level": LEAF,
    "time": LEAF,
    "verification_process": LEAF,
    "assurance_process": {"policy": LEAF, "procedure": LEAF},
    "evidence": EVIDENCE,  # special: templates chosen by their type value
}


def request_list(element: dict[str, Any] | list[Any]) -> list[dict[str, Any]]:
    """The element as a list of single requests (an object is a list of one)."""
    return element if isinstance(element, list) else [element]


def validate_request_element(element: Any, where: str = "verified_claims") -> dict[str, Any] | list[dict[str, Any]]:
    """Check the shape of a ``verified_claims`` request element; raise ``invalid_request`` naming the
    offending member. Returns the element unchanged."""
    if isinstance(element, list):
        if not element or len(element) > MAX_REQUESTS:
            raise InvalidRequest(f"{where} must be an object or an array of 1 to {MAX_REQUESTS} objects")
        for index, item in enumerate(element):
            _validate_one(item, f"{where}[{index}]")
        return element
    _validate_one(element, where)
    return element


def _validate_one(request: Any, where: str) -> None:
    if not isinstance(request, dict):
        raise InvalidRequest(f"{where} must be an object with verification and claims")
    unknown = set(request) - {"verification", "claims"}
    if unknown:  # OIDC4IDA request schema: additionalProperties false
        raise InvalidRequest(f"{where} has unknown members {sorted(unknown)}: only verification and claims")
    verification = request.get("verification")
    if not isinstance(verification, dict):
        raise InvalidRequest(f"{where}.verification is required and must be an object")
    if "trust_framework" not in verification:  # OIDC4IDA request schema: required (null = any)
        raise InvalidRequest(f"{where}.verification.trust_framework is required (null accepts any)")
    for name, spec in verification.items():
        kind = VERIFICATION.get(name)
        if name == "evidence":
            _validate_evidence(spec, f"{where}.verification.evidence")
        elif kind is not None:
            _validate_member(spec, kind, f"{where}.verification.{name}")
    claims = request.get("claims")
    # Data minimisation: the RP names the claims it needs; an empty or null claims element asks for nothing.
    if not isinstance(claims, dict) or not claims:
        raise InvalidRequest(f"{where}.claims must be an object naming at least one claim")
    for name, spec in claims.items():
        _validate_leaf(spec, f"{where}.claims.{name}")


def _validate_evidence(spec: Any, where: str) -> None:
    if not isinstance(spec, list) or not spec:
        raise InvalidRequest(f"{where} must be a non-empty array of evidence templates")
    for index, template in enumerate(spec):
        here = f"{where}[{index}]"
        if not isinstance(template, dict):
            raise InvalidRequest(f"{here} must be an object")
        kind = template.get("type")
        # OIDC4IDA -13 §5.3: each entry names its type with `value`; `values` MUST NOT be used for it.
        if not isinstance(kind, dict) or "values" in kind or kind.get("value") not in EVIDENCE_TYPES:
            raise InvalidRequest(f'{here}.type must be {{"value": one of {list(EVIDENCE_TYPES)}}}')
        schema = EVIDENCE[kind["value"]]
        for name, member in template.items():
            if name != "type" and name in schema:
                _validate_member(member, schema[name], f"{here}.{name}")


def _validate_member(spec: Any, kind: Any, where: str) -> None:
    if kind == LEAF:
        _validate_leaf(spec, where)
    elif isinstance(kind, list):
        if not isinstance(spec, list) or not spec:
            raise InvalidRequest(f"{where} must be a non-empty array of templates")
        for index, item in enumerate(spec):
            _validate_member(item, kind[0], f"{where}[{index}]")
    elif isinstance(kind, dict):
        if spec is None:
            return  # the whole object, no constraint
        if not isinstance(spec, dict):
            raise InvalidRequest(f"{where} must be null or an object")
        for name, member in spec.items():
            if name in kind:
                _validate_member(member, kind[name], f"{where}.{name}")


def _validate_leaf(spec: Any, where: str) -> None:
    """null, or an object with value | values, max_age, essential, purpose of the right types."""
    if spec is None:
        return
    if not isinstance(spec, dict):
        raise InvalidRequest(f"{where} must be null or an object")
    if "value" in spec and "values" in spec:
        raise InvalidRequest(f"{where}: give value or values, not both")
    if "value" in spec and not isinstance(spec["value"], str):
        raise InvalidRequest(f"{where}.value must be a string")
    if "values" in spec:
        values = spec["values"]
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise InvalidRequest(f"{where}.values must be a non-empty array of strings")
    if "max_age" in spec:
        age = spec["max_age"]
        if isinstance(age, bool) or not isinstance(age, int) or age < 0:  # OIDC4IDA -13 §5.6.2
            raise InvalidRequest(f"{where}.max_age must be a whole number of seconds, 0 or more")
    if "essential" in spec and not isinstance(spec["essential"], bool):
        raise InvalidRequest(f"{where}.essential must be true or false")
    if "purpose" in spec:
        purpose = spec["purpose"]
        if not isinstance(purpose, str) or not PURPOSE_MIN <= len(purpose) <= PURPOSE_MAX:
            raise InvalidRequest(f"{where}.purpose must be a string of {PURPOSE_MIN} to {PURPOSE_MAX} characters")


def requested_claims(element: dict[str, Any] | list[Any] | None) -> set[str]:
    """Names of the person claims asked for inside ``verified_claims`` (all requests of an array)."""
    if not element:
        return set()
    return {name for request in request_list(element) for name in (request.get("claims") or {})}


def asks_for_evidence(element: dict[str, Any] | list[Any] | None) -> bool:
    """Whether any request asks for evidence (which carries document numbers: consented apart)."""
    if not element:
        return False
    return any("evidence" in (r.get("verification") or {}) for r in request_list(element))


def consent_names(element: dict[str, Any] | list[Any] | None, available: set[str] | None = None) -> set[str]:
    """The consent names this element needs: ``verified_claims:<claim>`` per requested claim (restricted to
    ``available`` when given) and ``verified_claims:evidence`` when evidence is asked for."""
    names = requested_claims(element)
    if available is not None:
        names &= available
    result = {CONSENT_PREFIX + name for name in names}
    if result and asks_for_evidence(element):
        result.add(EVIDENCE_CONSENT_NAME)
    return result


def purposes(element: dict[str, Any] | list[Any] | None) -> list[str]:
    """Every distinct ``purpose`` the RP gave inside the element (claims and verification members), in order."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            purpose = node.get("purpose")
            if isinstance(purpose, str) and purpose not in found:
                found.append(purpose)
            for key, child in node.items():
                if key != "purpose":
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(element)
    return found
