"""Children and their guardians: who counts as a minor, what a child's enrolment must carry, and the link from a
guardian to a child made when the child is issued a UIN.

A person under ``age_of_majority`` is enrolled only with a guardian verified 1:1 at the desk
(``enrollment.guardian_proof``); a child under ``child_face_only_below_age`` gives the face only, and their
record says the fingers are owed at a later biometric update (Aadhaar's model: a child's "Baal Aadhaar" until
five, biometrics taken at the update). The link is made in the transaction that issues the child's UIN
(``issue_identity``), whichever path issues it: the enrolment's own decision, an adjudicator's, or a changed
decision. A child decided a duplicate of someone gets no link: the guardian verified at the desk is not thereby
anyone's guardian.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.actor import Actor
from civid.errors import InvalidInput
from civid.settings_groups import AgePolicy
from models import Enrolment, Guardianship, Identity


class GuardianRequired(InvalidInput):
    """A minor is enrolled only with a guardian verified at the desk."""

    code = "guardian_required"
    type_slug = "guardian-required"
    title = "Guardian required"


class GuardianNotNeeded(InvalidInput):
    """An adult is enrolled on their own: a guardian named for them would give nobody anything."""

    code = "guardian_not_needed"
    type_slug = "guardian-not-needed"
    title = "Guardian not needed"


class FaceOnlyChild(InvalidInput):
    """A child under the face-only age gives no fingers (they are taken at the later biometric update)."""

    code = "face_only_child"
    type_slug = "face-only-child"
    title = "Face only for a small child"


@dataclass(frozen=True)
class VerifiedGuardian:
    """A guardian an officer verified 1:1 at the desk for this enrolment (``enrollment.guardian_proof``)."""

    identity_id: int
    uin: str
    relationship: str


def age_on(born: date, today: date) -> int:
    """Completed years between ``born`` and ``today`` (a 29 February birthday counts on 1 March)."""
    years = today.year - born.year
    return years - 1 if (today.month, today.day) < (born.month, born.day) else years


def is_minor(born: date, policy: AgePolicy, today: date | None = None) -> bool:
    """Whether a person born on ``born`` is under the age of majority ``today``."""
    return age_on(born, today or date.today()) < policy.majority


def majority_on(born: date, policy: AgePolicy) -> date:
    """The day a person born on ``born`` comes of age (29 February births: 1 March in a common year)."""
    return _birthday(born, born.year + policy.majority)


def fingers_due_on(born: date, policy: AgePolicy) -> date:
    """The day a face-only child's fingers may be taken (their ``face_only_below`` birthday)."""
    return _birthday(born, born.year + policy.face_only_below)


def _birthday(born: date, year: int) -> date:
    try:
        return born.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 3, 1)


def check_enrolment(
    policy: AgePolicy, born: date, guardian: VerifiedGuardian | None, gives_fingers: bool, today: date | None = None
) -> bool:
    """Refuse an enrolment the rules forbid; return whether its fingers are deferred (a face-only child)."""
    age = age_on(born, today or date.today())
    if age >= policy.majority:
        if guardian is not None:
            raise GuardianNotNeeded(
                f"the person is {age}, of age ({policy.majority}): they enrol without a guardian",
                params={"age_of_majority": policy.majority},
            )
        return False
    if guardian is None:
        raise GuardianRequired(
            f"a person under {policy.majority} is enrolled with a guardian: send guardian_uin and the guardian's "
            "guardian_photo (or guardian_fingers) to verify them at the desk",
            params={"age_of_majority": policy.majority},
        )
    if age < policy.face_only_below:
        if gives_fingers:
            raise FaceOnlyChild(
                f"a child under {policy.face_only_below} is enrolled with the face only: their fingers are taken "
                "at the biometric update",
                params={"face_only_below_age": policy.face_only_below},
            )
        return True
    return False


def link_issued(session: Session, actor: Actor, enrolment: Enrolment, child: Identity) -> Guardianship | None:
    """Link the guardian named by ``enrolment`` to ``child``, the identity its UIN was just issued to; audited."""
    if enrolment.guardian_identity_id is None:
        return None
    guardian = session.get(Identity, enrolment.guardian_identity_id)
    assert guardian is not None  # noqa: S101 - a foreign key
    link = Guardianship(
        guardian_identity_id=guardian.id,
        child_identity_id=child.id,
        relationship=enrolment.guardian_relationship or "parent",
        enrolment_id=enrolment.id,
        created_by=actor.name,
    )
    session.add(link)
    session.flush()
    audit.record(
        session,
        actor,
        "identity.guardian_linked",
        "identity",
        child.uin,
        guardian=guardian.uin,
        relationship=link.relationship,
        enrolment=enrolment.public_id,
    )
    return link


def guardians_of(session: Session, child_identity_id: int) -> list[tuple[Guardianship, Identity]]:
    """The child's guardianships in force (not ended), oldest first, each with the guardian's identity."""
    rows = session.execute(
        select(Guardianship, Identity)
        .join(Identity, Identity.id == Guardianship.guardian_identity_id)
        .where(Guardianship.child_identity_id == child_identity_id, Guardianship.ended_at.is_(None))
        .order_by(Guardianship.id)
    )
    return [(link, identity) for link, identity in rows]


def children_of(session: Session, guardian_identity_id: int) -> list[tuple[Guardianship, Identity]]:
    """The guardian's guardianships in force (not ended), oldest first, each with the child's identity."""
    rows = session.execute(
        select(Guardianship, Identity)
        .join(Identity, Identity.id == Guardianship.child_identity_id)
        .where(Guardianship.guardian_identity_id == guardian_identity_id, Guardianship.ended_at.is_(None))
        .order_by(Guardianship.id)
    )
    return [(link, identity) for link, identity in rows]
