"""A vital event the civil registry (Vital Statistics) told civid about: a birth or a death, once per
registration number.

The registry may send an event again (a retry after a timeout, a mediator restarted): the registration number
is unique, so the second delivery finds the first and is answered with what it did, never applied twice. The
digest of what was received tells a resend (same facts) from a contradiction (another event under the same
number, refused).

A birth is a pending record: the child's demographics and the parents' UINs as the registry declared them,
waiting for an officer to enrol the child at a desk and link the new identity (``identity_id``), after which
the registry can ask for the child's UIN. A death names the identity it deactivated.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class CivilRegistration(Base):
    __tablename__ = "civil_registrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registration_number: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # birth | death
    client_id: Mapped[str] = mapped_column(String(64))  # the registry's client that sent it
    source_format: Mapped[str] = mapped_column(String(8))  # fhir | json
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the normalised facts (resend vs contradiction)
    tracking_id: Mapped[str | None] = mapped_column(String(64))  # OpenCRVS's tracking id, when it sends one
    event_date: Mapped[date | None] = mapped_column(Date)  # date of birth or of death
    # A birth's child, as declared: given_name, family_name, sex, place_of_birth, mother_uin, father_uin.
    person: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # birth: pending_enrolment -> enrolled (identity linked); death: deactivated (the identity it ended)
    status: Mapped[str] = mapped_column(String(24))
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    linked_at: Mapped[datetime | None] = mapped_column()
