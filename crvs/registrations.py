"""What a vital event does, once per registration number.

- A **death** deactivates the deceased's identity for ``death`` with the registration number as evidence,
  through ``enrollment.identity_status`` — so its effects are those of a desk deactivation (no login, no
  release, sessions, tokens and attestations revoked, the templates kept for dedup). An unknown UIN is a 404,
  an identity already deactivated (or merged) a 409: the registry is told, nothing is stored.
- A **birth** is kept as a pending record (the child's declared demographics and the parents' UINs, which must
  be identities civid knows) until an officer enrols the child and links the identity (``link_birth``); then
  the registry's status query returns the child's UIN.
- The same registration number again with the same facts is a resend: answered with the first outcome,
  applied once. With other facts it is a contradiction (409), and the first stands.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civid import audit
from civid.actor import Actor
from civid.errors import Conflict, InvalidInput, NotFound
from civid.events import EventBus
from civid.uin import normalise_uin
from crvs.vital_event import VitalEvent
from enrollment.identity_status import change_status
from models import CivilRegistration, Identity, utcnow

CIVIL_REGISTRY_ROLE = "civil_registry"
PENDING = "pending_enrolment"
ENROLLED = "enrolled"
DEACTIVATED = "deactivated"


@dataclass(frozen=True)
class Outcome:
    registration_number: str
    kind: str
    status: str
    uin: str | None  # death: the deactivated UIN; birth: the child's, once enrolled
    replayed: bool = False


def registry_actor(client_id: str) -> Actor:
    return Actor(None, f"client:{client_id}", CIVIL_REGISTRY_ROLE)


def _outcome(session: Session, row: CivilRegistration, replayed: bool = False) -> Outcome:
    uin = session.scalar(select(Identity.uin).where(Identity.id == row.identity_id)) if row.identity_id else None
    return Outcome(row.registration_number, row.kind, row.status, uin, replayed)


def _known_parent(session: Session, uin: str | None, what: str) -> None:
    if uin is not None and session.scalar(select(Identity.id).where(Identity.uin == uin)) is None:
        raise InvalidInput(f"the {what}'s UIN {uin} is not an identity civid holds", code="unknown_parent")


def apply(session: Session, events: EventBus, client_id: str, source: str, event: VitalEvent) -> Outcome:
    """Apply ``event`` in ``session``'s transaction (or find the earlier delivery of it)."""
    earlier = session.scalars(
        select(CivilRegistration).where(CivilRegistration.registration_number == event.registration_number)
    ).first()
    if earlier is not None:
        return _replayed(session, earlier, event)
    actor = registry_actor(client_id)
    row = CivilRegistration(
        registration_number=event.registration_number,
        kind=event.kind,
        client_id=client_id,
        source_format=source,
        digest=event.digest(),
        tracking_id=event.tracking_id,
        event_date=event.event_date,
        person={},
        received_at=utcnow(),
    )
    if event.kind == "death":
        assert event.uin is not None  # both parsers refuse a death without one
        change = change_status(session, events, actor, "deactivate", event.uin, "death", event.registration_number)
        row.identity_id = change.identity_id
        row.status = DEACTIVATED
    else:
        if event.family_name is None or event.event_date is None:
            raise InvalidInput("a birth needs the child's family name and date of birth", code="birth_incomplete")
        _known_parent(session, event.mother_uin, "mother")
        _known_parent(session, event.father_uin, "father")
        row.person = event.child()
        row.status = PENDING
    session.add(row)
    try:
        with session.begin_nested():  # two deliveries at once: the second finds the first's row (a resend)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"registration {event.registration_number} is being applied by another request; send it again",
            code="registration_in_flight",
        ) from exc
    audit.record(
        session,
        actor,
        f"civil_registry.{event.kind}_received",
        "civil_registration",
        event.registration_number,
        client_id=client_id,
        format=source,
        status=row.status,
        **({"uin": event.uin} if event.uin else {}),
    )
    return _outcome(session, row)


def _replayed(session: Session, earlier: CivilRegistration, event: VitalEvent) -> Outcome:
    if earlier.digest != event.digest():
        raise Conflict(
            f"registration {event.registration_number} was received before with other facts; the first stands",
            code="registration_contradicted",
            params={"registration_number": event.registration_number},
        )
    return _outcome(session, earlier, replayed=True)


def birth_status(session: Session, registration_number: str) -> Outcome:
    row = session.scalars(
        select(CivilRegistration).where(
            CivilRegistration.registration_number == registration_number, CivilRegistration.kind == "birth"
        )
    ).first()
    if row is None:
        raise NotFound(f"no birth registration {registration_number}")
    return _outcome(session, row)


def link_birth(session: Session, actor: Actor, registration_number: str, uin: str) -> Outcome:
    """The officer who enrolled the child links the pending birth to the child's identity (once)."""
    number = normalise_uin(uin)
    row = session.scalars(
        select(CivilRegistration)
        .where(CivilRegistration.registration_number == registration_number, CivilRegistration.kind == "birth")
        .with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"no birth registration {registration_number}")
    identity = session.scalars(select(Identity).where(Identity.uin == number)).first()
    if identity is None:
        raise NotFound(f"no identity with UIN {number}")
    if row.status != PENDING:
        raise Conflict(f"birth registration {registration_number} is already linked", code="birth_linked")
    if identity.status != "active":
        raise Conflict(f"identity {number} is {identity.status}", code="identity_not_active")
    other = session.scalar(
        select(CivilRegistration.registration_number).where(
            CivilRegistration.identity_id == identity.id, CivilRegistration.kind == "birth"
        )
    )
    if other is not None:
        raise Conflict(f"identity {number} is already the child of birth registration {other}", code="birth_linked")
    row.identity_id = identity.id
    row.status = ENROLLED
    row.linked_at = utcnow()
    session.flush()
    audit.record(session, actor, "civil_registry.birth_linked", "identity", number, registration=registration_number)
    return _outcome(session, row)
