"""An issued identity with its record, and a record update proposed through the API, for the tests of record
updates and of what follows them (Security Event Tokens to portals, notifications)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from civid.uin import verhoeff_check_digit
from models import ApiKey, Enrolment, Identity
from tests.idp.conftest import Citizen


def issued_citizen(services, digits: str = "405807526") -> Citizen:
    """An identity with its issued enrolment's record, as the enrolment workflow leaves them."""
    uin = digits + verhoeff_check_digit(digits)
    with services.sessions.begin() as db:
        officer = db.scalars(select(ApiKey).where(ApiKey.name == "test officer")).one()
        identity = Identity(uin=uin, status="active")
        db.add(identity)
        db.flush()
        db.add(
            Enrolment(
                public_id=f"e-{uin}",
                status="issued",
                officer_id=officer.id,
                given_name="Ana",
                middle_names=None,
                family_name="Pérez",
                date_of_birth=date(1990, 4, 21),
                sex="F",
                place_of_birth="Belize City, Belize",
                nationality="BLZ",
                address={"line1": "12 Albert Street", "locality": "Belize City", "country": "BLZ"},
                phone="+5016101234",
                email="ana@example.org",
                identity_id=identity.id,
            )
        )
        return Citizen(uin, identity.id)


EVIDENCE = {
    "type": "marriage_certificate",
    "number": "MC-2026-0042",
    "issuer": {"name": "Vital Statistics Unit", "country": "BLZ"},
    "date_of_issuance": "2026-11-20",
    "check_methods": ["vpip"],
}


def propose(client, headers, uin: str, changes: dict[str, Any], evidence: Any = EVIDENCE, **extra: Any):
    body = {"changes": changes, "evidence": evidence, **extra}
    return client.post(f"/v1/identities/{uin}/record-updates", json=body, headers=headers)
