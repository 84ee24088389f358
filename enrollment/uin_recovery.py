"""Finding a person who lost their UIN (issue #16 item 4), at a desk and online.

- **At a desk** (``find_at_desk``): an officer presents the person's face and/or fingers (1:N over the gallery,
  the same search as ``/v1/identify``) **and** at least one demographic the person states — family name, date of
  birth. Only candidates the stated demographics agree with are shown (names compared without case or accents),
  so the search finds the person in front of the officer and is not a free 1:N over the population. The officer
  sees the match (name, date of birth, scores, UIN) and reprints the receipt from the console
  (``/console/enrolments/{enrolment_id}/receipt``). Audited ``identity.found_at_desk`` with the UINs shown.
- **Online** (``recover_online``): the person presents a face photo and their date of birth. When exactly one
  active identity's face matches at the identify threshold *and* its date of birth is the one given,
  ``UinRecoveryRequested`` is published and notifications send the UIN to the email/phone on the record. The
  caller (the citizen page) answers the same whatever happened, so the page never reveals a UIN, nor whether a
  face is enrolled.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

from civid import audit
from civid.audit import SYSTEM, Actor
from civid.errors import InvalidInput
from civid.events import UinRecoveryRequested
from enrollment.runtime import EnrolmentServices
from enrollment.verification import identify, identify_fused
from enrollment.workflow import FingerUpload, PhotoUpload
from models import Enrolment


@dataclass(frozen=True)
class DeskMatch:
    uin: str
    identity_status: str
    enrolment_id: str  # the issuing enrolment's public id: its receipt is reprinted from the console
    given_name: str
    family_name: str
    date_of_birth: date
    face_score: float | None
    fused_llr: float | None


def folded(name: str) -> str:
    """A name as compared: no case, no accents, letters only ("Ñúñez" and "nunez" agree)."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if ch.isalpha() and not unicodedata.combining(ch))


def _agrees(enrolment: Enrolment, family_name: str | None, date_of_birth: date | None) -> bool:
    if date_of_birth is not None and enrolment.date_of_birth != date_of_birth:
        return False
    return family_name is None or folded(enrolment.family_name) == folded(family_name)


def find_at_desk(
    services: EnrolmentServices,
    actor: Actor,
    photo: PhotoUpload | None,
    fingers: list[FingerUpload],
    family_name: str | None,
    date_of_birth: date | None,
    max_candidates: int = 10,
) -> list[DeskMatch]:
    """The enrolled people the biometrics match and the stated demographics agree with, best first."""
    family_name = (family_name or "").strip() or None
    if family_name is None and date_of_birth is None:
        raise InvalidInput("state the person's family name or date of birth as well", code="demographics_missing")
    if photo is None and not fingers:
        raise InvalidInput("present a face photo, fingers, or both", code="biometrics_missing")
    found: list[DeskMatch] = []
    if fingers:
        fused = identify_fused(services, actor, photo, fingers, max_candidates)
        for m in fused.candidates:
            if m.enrolment.identity is not None and _agrees(m.enrolment, family_name, date_of_birth):
                found.append(_desk_match(m.enrolment, m.face_score, m.fused.llr))
    else:
        assert photo is not None  # noqa: S101 - checked above
        for match in identify(services, actor, photo, max_candidates).candidates:
            if match.enrolment.identity is not None and _agrees(match.enrolment, family_name, date_of_birth):
                found.append(_desk_match(match.enrolment, match.score, None))
    with services.sessions.begin() as session:
        audit.record(
            session,
            actor,
            "identity.found_at_desk",
            "gallery",
            "lost_uin",
            candidates=len(found),
            uins=[m.uin for m in found],
            stated=sorted(k for k, v in (("family_name", family_name), ("date_of_birth", date_of_birth)) if v),
        )
    return found


def _desk_match(enrolment: Enrolment, face_score: float | None, llr: float | None) -> DeskMatch:
    identity = enrolment.identity
    assert identity is not None  # noqa: S101 - filtered by the caller
    return DeskMatch(
        identity.uin,
        identity.status,
        enrolment.public_id,
        enrolment.given_name,
        enrolment.family_name,
        enrolment.date_of_birth,
        None if face_score is None else round(face_score, 4),
        None if llr is None else round(llr, 3),
    )


def recover_online(services: EnrolmentServices, photo: PhotoUpload, date_of_birth: date) -> int | None:
    """Send the UIN of the one active identity this face and date of birth name to its contacts; return its id,
    or None (the page must not say which). A photo the quality gate refuses raises, as for a login."""
    actor = Actor(None, "anonymous", "citizen")
    matches = identify(services, actor, photo, max_candidates=5).candidates
    named = [
        m.enrolment.identity
        for m in matches
        if m.enrolment.identity is not None
        and m.enrolment.identity.status == "active"
        and m.enrolment.date_of_birth == date_of_birth
    ]
    if len({identity.id for identity in named}) != 1:
        return None  # nobody, or (never expected at the identify threshold) two people: send nothing
    identity = named[0]
    with services.sessions.begin() as session:
        services.events.publish(session, UinRecoveryRequested(identity_id=identity.id, uin=identity.uin, actor=SYSTEM))
        audit.record(session, actor, "identity.uin_recovery_sent", "identity", identity.uin)
    return identity.id
