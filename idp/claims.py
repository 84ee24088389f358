"""Which claims a client gets, and their values from the person's enrolled record (OIDC Core §5).

Scopes map to standard claims (§5.4); the ``claims`` request parameter (§5.5) asks for individual
claims in the ID token or at UserInfo. A claim is released only when all hold: the client may ask for its
scope or holds the entitlement (``uin``), the citizen consented to it, and the record has a value. In the
code flow, scope claims go to UserInfo; the ID token carries only what ``claims.id_token`` asks for.

A member answered by a registered extension (``idp.claims_extensions``; kyc's ``verified_claims``) is
shape-checked by it here (a malformed one is ``invalid_request`` at /authorize) and kept in
``ClaimsRequest.extensions`` only for clients the extension accepts — anyone else's is silently dropped; its
consent names join ``ClaimsRequest.all``. The extension builds the answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from enrollment.record import record_in_force
from idp.claims_extensions import ClaimsExtensions, MemberRequest
from idp.errors import InvalidRequest
from models import Client, Identity

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("name", "given_name", "family_name", "middle_name", "birthdate", "gender", "updated_at"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "address": ("address",),
    "uin": ("uin",),
    # OpenID4VCI's credential scope (idp.clients.CREDENTIAL_SCOPES): what the PID states, so the consent page names
    # it; a wallet never receives these from idp (no openid scope: no ID token, no UserInfo), only in its credential.
    "civid_pid": ("given_name", "family_name", "middle_name", "birthdate", "gender"),
}
# Claims only a client with the matching entitlement may receive, whatever it asks.
ENTITLED_CLAIMS = {"uin": "uin"}
# Claims about the authentication itself, not the person: always allowed, never need consent.
PROTOCOL_CLAIMS = {"sub", "auth_time", "acr", "amr", "sid", "nonce"}
CLAIMS_SUPPORTED = sorted({"sub", "auth_time", "acr", "amr", "sid", *[c for cs in SCOPE_CLAIMS.values() for c in cs]})
GENDER = {"F": "female", "M": "male", "X": "other"}
# The claims each field of the record states (``claim_values``): what an update of the field makes untrue in
# whatever was released before (kyc revokes the attestations stating them: ``kyc.subscriptions``).
RECORD_FIELD_CLAIMS: dict[str, tuple[str, ...]] = {
    "given_name": ("given_name", "name"),
    "middle_names": ("middle_name", "name"),
    "family_name": ("family_name", "name"),
    "date_of_birth": ("birthdate",),
    "sex": ("gender",),
    "address": ("address",),
    "phone": ("phone_number",),
    "email": ("email",),
}


@dataclass(frozen=True)
class ClaimsRequest:
    """The claims asked for, by where they go: scope claims to UserInfo, the claims parameter's members."""

    userinfo: frozenset[str]
    id_token: frozenset[str]
    essential: frozenset[str]
    acr_values: tuple[str, ...]  # from claims.id_token.acr (values or value), if any
    # The extensions' members (by member name), kept only for clients each extension accepts.
    extensions: dict[str, MemberRequest] = field(default_factory=dict, compare=False)

    @property
    def all(self) -> frozenset[str]:
        """Every name the citizen must consent to: person claims and the extensions' consent names."""
        extended = frozenset[str]().union(*(member.consent_names for member in self.extensions.values()))
        return self.userinfo | self.id_token | extended


def parse_claims_parameter(raw: str | dict[str, Any] | None, extensions: ClaimsExtensions) -> dict[str, Any] | None:
    """Parse and shape-check the ``claims`` parameter (a JSON object with userinfo/id_token members); an
    extension's member is checked by the extension."""
    if raw in (None, ""):
        return None
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise InvalidRequest("the claims parameter is not valid JSON") from exc
    if not isinstance(value, dict) or not all(isinstance(value.get(m, {}), dict) for m in ("userinfo", "id_token")):
        raise InvalidRequest("the claims parameter must be a JSON object whose userinfo and id_token are objects")
    for member in ("userinfo", "id_token"):
        for name, spec in value.get(member, {}).items():
            extension = extensions.find(name)
            if extension is not None:
                extension.validate_member(spec, f"claims.{member}.{name}")
            else:
                _check_member(spec, f"claims.{member}.{name}", strings=name == "acr")
    return value


def _check_member(spec: Any, where: str, *, strings: bool) -> None:
    """An individual claim request (OIDC Core §5.5.1): null, or an object whose ``essential`` is a boolean
    and ``values`` an array; ``acr``'s ``value``/``values`` are strings (they are compared with known ones)."""
    if spec is None:
        return
    if not isinstance(spec, dict):
        raise InvalidRequest(f"{where} must be null or an object")
    if "essential" in spec and not isinstance(spec["essential"], bool):
        raise InvalidRequest(f"{where}.essential must be true or false")
    if "values" in spec and not isinstance(spec["values"], list):
        raise InvalidRequest(f"{where}.values must be an array")
    if strings and not all(
        isinstance(v, str) for v in [*([spec["value"]] if "value" in spec else []), *spec.get("values", [])]
    ):
        raise InvalidRequest(f"{where}: value and values must be strings")


def entitled(client: Client, claim: str) -> bool:
    """Whether the client may ever receive ``claim``."""
    needed = ENTITLED_CLAIMS.get(claim)
    return needed is None or needed in client.entitlements


def requested(
    client: Client, scopes: list[str], claims_parameter: dict[str, Any] | None, extensions: ClaimsExtensions
) -> ClaimsRequest:
    """What this request asks for, after the client's allowed scopes and entitlements (and the extensions')."""
    userinfo: set[str] = set()
    for scope in scopes:
        if scope in client.allowed_scopes or (scope == "uin" and "uin" in client.entitlements):
            userinfo.update(SCOPE_CLAIMS.get(scope, ()))
    id_token: set[str] = set()
    essential: set[str] = set()
    acr_values: tuple[str, ...] = ()
    for member, target in (("userinfo", userinfo), ("id_token", id_token)):
        for name, spec in (claims_parameter or {}).get(member, {}).items():
            if name == "acr" and member == "id_token" and spec:
                acr_values = tuple(spec.get("values") or ([spec["value"]] if "value" in spec else []))
            if name in PROTOCOL_CLAIMS or name not in CLAIMS_SUPPORTED:
                continue
            target.add(name)
            if spec and spec.get("essential"):
                essential.add(name)
    allowed = {c for c in userinfo | id_token if entitled(client, c)}
    return ClaimsRequest(
        frozenset(userinfo & allowed),
        frozenset(id_token & allowed),
        frozenset(essential & allowed),
        acr_values,
        extensions.requested(client, claims_parameter),
    )


def _e164(phone: str) -> str:
    digits = re.sub(r"[^\d+]", "", phone)
    return digits if digits.startswith("+") else "+" + digits


def claim_values(session: Session, identity: Identity) -> dict[str, Any]:
    """Every person claim civid can state about ``identity`` (callers pick the released ones)."""
    found = record_in_force(session, identity.id)
    if found is None:
        return {"uin": identity.uin}
    record, changed = found
    names = [record.given_name, record.middle_names, record.family_name]
    address = record.address or {}
    values: dict[str, Any] = {
        "name": " ".join(n for n in names if n),
        "given_name": record.given_name,
        "family_name": record.family_name,
        "middle_name": record.middle_names,
        "birthdate": record.date_of_birth.isoformat(),
        "gender": GENDER.get(record.sex, "other"),
        "updated_at": int(changed.timestamp()),
        "uin": identity.uin,
        # Typed by an officer, not proven by a confirmation message: not verified (OIDC Core §5.1).
        "email": record.email,
        "email_verified": False if record.email else None,
        "phone_number": _e164(record.phone) if record.phone else None,
        "phone_number_verified": False if record.phone else None,
        "address": {
            "formatted": ", ".join(
                v
                for v in (
                    address.get("line1"),
                    address.get("line2"),
                    address.get("locality"),
                    address.get("district"),
                    address.get("country"),
                )
                if v
            ),
            "street_address": "\n".join(v for v in (address.get("line1"), address.get("line2")) if v),
            "locality": address.get("locality"),
            "region": address.get("district"),
            "postal_code": address.get("postal_code"),
            "country": address.get("country"),
        }
        if address
        else None,
    }
    if values["address"]:
        values["address"] = {k: v for k, v in values["address"].items() if v}
    return {k: v for k, v in values.items() if v is not None}


def release(
    session: Session, identity: Identity, names: frozenset[str] | set[str], consented: set[str] | None
) -> dict[str, Any]:
    """The values of ``names`` the citizen consented to (``consented`` None: no consent needed)."""
    values = claim_values(session, identity)
    return {name: values[name] for name in sorted(names) if name in values and (consented is None or name in consented)}
