"""A vital event as civid understands it, whichever form the registry sent: the facts, nothing else.

Both accepted forms — an OpenCRVS FHIR bundle (``crvs.fhir_bundle``) and the plain JSON documented in
docs/civil-registry.md (``PlainEvent`` below) — become one ``VitalEvent``, so what is done with a birth or a
death is written once (``crvs.registrations``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from civid.errors import InvalidInput
from civid.uin import normalise_uin

Kind = Literal["birth", "death"]


@dataclass(frozen=True)
class VitalEvent:
    kind: Kind
    registration_number: str
    event_date: date | None  # of birth, or of death
    tracking_id: str | None = None
    uin: str | None = None  # death: the deceased's UIN
    given_name: str | None = None  # birth: the child's
    family_name: str | None = None
    sex: str | None = None  # M | F | X
    place_of_birth: str | None = None
    mother_uin: str | None = None
    father_uin: str | None = None

    def digest(self) -> str:
        """What tells a resend (same facts) from a contradiction (other facts under the same number)."""
        facts = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}
        facts.pop("tracking_id")  # a draft's tracking id is not a fact of the event
        return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()

    def child(self) -> dict[str, str | None]:
        """A birth's declared child and parents, as kept with the pending record."""
        return {
            "given_name": self.given_name,
            "family_name": self.family_name,
            "sex": self.sex,
            "place_of_birth": self.place_of_birth,
            "mother_uin": self.mother_uin,
            "father_uin": self.father_uin,
        }


def checked_uin(value: str | None, what: str) -> str | None:
    """A UIN given in an event, normalised; a wrong one is the registry's error (422), not a person not found."""
    if value is None or not value.strip():
        return None
    try:
        return normalise_uin(value)
    except InvalidInput as exc:
        raise InvalidInput(f"{what}: {exc.detail}", code="invalid_uin", params={"field": what}) from exc


class PlainEvent(BaseModel):
    """The plain JSON form of a vital event (for a registry that does not speak FHIR)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Kind
    registration_number: str = Field(min_length=1, max_length=64)
    date: date
    uin: str | None = Field(default=None, max_length=16, description="death: the deceased's UIN")
    given_name: str | None = Field(default=None, max_length=100)
    family_name: str | None = Field(default=None, max_length=100)
    sex: Literal["M", "F", "X"] | None = None
    place_of_birth: str | None = Field(default=None, max_length=200)
    mother_uin: str | None = Field(default=None, max_length=16)
    father_uin: str | None = Field(default=None, max_length=16)

    def event(self) -> VitalEvent:
        return VitalEvent(
            kind=self.kind,
            registration_number=self.registration_number,
            event_date=self.date,
            uin=checked_uin(self.uin, "uin"),
            given_name=self.given_name,
            family_name=self.family_name,
            sex=self.sex,
            place_of_birth=self.place_of_birth,
            mother_uin=checked_uin(self.mother_uin, "mother_uin"),
            father_uin=checked_uin(self.father_uin, "father_uin"),
        )
