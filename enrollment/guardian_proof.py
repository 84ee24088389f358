"""The guardian's proof at the desk when a minor is enrolled: the guardian's UIN and their face (or fingers),
compared 1:1 with the guardian's record by the officer verification every desk uses (``enrollment.verification``,
audited as ``biometric.verify``; a guardian who locked officer verification is refused as everywhere).

Refused, before anything of the child is read or stored, when the UIN is no identity (422), the guardian is not
active or is themselves a minor (422), or the face or fingers do not match (403 ``guardian_not_verified``). Only
a UIN is accepted here, not a Virtual ID: the link names the guardian's identity, and a VID must not reveal it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from civid.audit import Actor
from civid.errors import Forbidden, InvalidInput
from civid.uin import normalise_uin
from enrollment import verification
from enrollment.fingerprint import FingerUpload
from enrollment.guardianship import GuardianNotNeeded, VerifiedGuardian, is_minor
from enrollment.record import issuing_enrolment
from enrollment.runtime import EnrolmentServices
from enrollment.workflow import PhotoUpload
from models import GuardianRelationship, Identity


class GuardianUnknown(InvalidInput):
    code = "guardian_unknown"
    type_slug = "guardian-unknown"
    title = "Unknown guardian"


class GuardianNotActive(InvalidInput):
    code = "guardian_not_active"
    type_slug = "guardian-not-active"
    title = "Guardian not active"


class GuardianIsMinor(InvalidInput):
    code = "guardian_is_minor"
    type_slug = "guardian-is-minor"
    title = "Guardian is a minor"


class GuardianNotVerified(Forbidden):
    """The face or fingers presented are not the guardian's: the person at the desk is not who they claim."""

    code = "guardian_not_verified"
    type_slug = "guardian-not-verified"
    title = "Guardian not verified"


def verify_guardian(
    services: EnrolmentServices,
    actor: Actor,
    child_born: date,
    uin_text: str,
    relationship: str,
    photo: PhotoUpload | None,
    fingers: list[FingerUpload],
) -> VerifiedGuardian:
    """Check and verify the guardian presented at the desk for a child born on ``child_born``, or refuse."""
    policy = services.settings.ages
    if not is_minor(child_born, policy):
        raise GuardianNotNeeded(
            f"the person is of age ({policy.majority}): they enrol without a guardian",
            params={"age_of_majority": policy.majority},
        )
    if relationship not in GuardianRelationship.ALL:
        raise InvalidInput(
            f"guardian_relationship must be one of {', '.join(GuardianRelationship.ALL)}, not {relationship!r}",
            code="guardian_relationship",
        )
    if photo is None and not fingers:
        raise InvalidInput(
            "verify the guardian at the desk: send guardian_photo (their face) or guardian_fingers",
            code="guardian_proof_missing",
        )
    uin = normalise_uin(uin_text)
    with services.sessions() as session:
        guardian = session.scalars(select(Identity).where(Identity.uin == uin)).first()
        if guardian is None:
            raise GuardianUnknown(f"the guardian's UIN {uin} is no identity civid holds")
        if guardian.status != "active":
            raise GuardianNotActive(f"the guardian's identity {uin} is {guardian.status}: only an active one may")
        record = issuing_enrolment(session, guardian.id)
        if record is None:  # a UIN withdrawn by a changed decision: its enrolment is another identity's now
            raise GuardianNotActive(f"the guardian's identity {uin} holds no record")
        if is_minor(record.date_of_birth, policy):
            raise GuardianIsMinor(f"the guardian {uin} is under {policy.majority}: a minor cannot be a guardian")
        guardian_id = guardian.id
    result = verification.verify(services, actor, uin, photo, fingers)
    if not result.match:
        raise GuardianNotVerified(
            f"the guardian's face or fingers do not match the record of UIN {uin}: nothing was stored",
            modalities=(["face"] if result.face else []) + (["finger"] if result.fingers else []),
        )
    return VerifiedGuardian(guardian_id, uin, relationship)
