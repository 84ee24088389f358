"""Idempotency-Key on enrolment: the enrolment an officer already stored under a key is the answer to the
same request sent again (a retry after a timeout, a double click). Keys are per officer (the unique
constraint on officer and key)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civid.audit import Actor
from civid.errors import Conflict
from civid.services import Services
from models import Enrolment


@dataclass(frozen=True)
class Replay:
    """An officer's Idempotency-Key."""

    key: str

    def previous(self, session: Session, actor: Actor) -> Enrolment | None:
        """The enrolment this officer stored under the key, if any."""
        return session.scalars(select(Enrolment).where(Enrolment.officer_id == actor.id,
                                                       Enrolment.idempotency_key == self.key)).first()

    def stored_meanwhile(self, services: Services, actor: Actor, exc: IntegrityError) -> Enrolment:
        """After a unique violation on the key: the enrolment stored under it by a request that did not take
        the dedup lock (none in civid does; another tool might), else the violation was not the key's."""
        with services.sessions() as session:
            found = self.previous(session, actor)
        if found is None:
            raise Conflict("the enrolment could not be stored (a conflicting row was written at the same moment); "
                           "retry") from exc
        return found
