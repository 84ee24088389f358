"""Biometric update: re-capture a person's face or fingers (an injured finger healed, a child grown up).

The order is the ABIS one, and each step refuses with nothing stored:

1. **1:1 against the person's own templates.** The new face must verify against the current face templates at
   ``verify_threshold``; each new finger at a position already enrolled must verify against that finger at
   ``finger_verify_threshold``. A finger at a position never enrolled (a child's first fingers, a finger excepted
   at enrolment that has healed) is accepted only when a face presented in the same request verifies: something
   already known must vouch for what is new. A failure is ``biometric_mismatch`` (422).
2. **1:N against everyone else.** The new face alone, and the new fingers fused (and, apart, those at positions
   never enrolled), are searched with the enrolment's dedup thresholds, excluding the person's own record: a
   finger of someone else must not hide behind the person's genuine face or fingers in a fused score. As at
   enrolment, one finger alone never reaches the threshold (``finger_llr_cap``): a single new finger is vouched
   for by the verified face only. Any hit is ``duplicate_suspected`` (409): the response names no one; the
   other person's UIN (or application) goes only into the audit event, for an adjudicator. Opening an
   adjudication case for it is future work: ``dedup_cases`` are keyed by an applicant enrolment, and an update
   is not one.
3. **Apply**, in one transaction holding the identity's row: the new templates are sealed to the identity's
   issuing enrolment (where every reader of the record, verification and face login look); the replaced face
   templates stay as evidence but leave the gallery (``in_gallery`` false); a replaced finger's row is deleted
   and a new one inserted (one finger per position and enrolment is a unique key, and a new id is what lets
   every process's index catch up). This process's indexes follow at once; other processes add the new
   templates at their next ``catch_up`` and already drop the old ones from every answer (each search checks
   ``in_gallery`` and the row in the database), removing them from their caches at their next start.

Every outcome is audited (``identity.biometric_update_refused``, ``identity.biometrics_updated``) with
modalities, positions and rounded scores, never a template. An applied update publishes ``IdentityUpdated``
with ``fields`` ``face`` and/or ``fingerprints``: the person is told (someone re-capturing your biometrics is
what a notification is for); kyc and relying parties find no claim of that name, so nothing else is revoked.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civid import audit
from civid.actor import Actor
from civid.errors import Conflict, Forbidden, InvalidInput, NotFound
from civid.events import IdentityUpdated
from civid.uin import normalise_uin
from enrollment.dedup import fused_candidates
from enrollment.fingerprint import AcceptedFinger, FingerUpload, compare, matching_features, open_finger
from enrollment.quality import QualityReport
from enrollment.record import issuing_enrolment
from enrollment.runtime import EnrolmentServices
from enrollment.templates import open_descriptor, photo_aad, seal_descriptor
from enrollment.verification import probe_descriptor, probe_fingers
from enrollment.workflow import PhotoUpload, finger_template
from models import Enrolment, FaceTemplate, FingerTemplate, Identity, Photo
from models.db import lock_rows

UPDATER_ROLES = ("officer", "adjudicator")


class BiometricMismatch(InvalidInput):
    """What was presented does not verify against the person's own templates (step 1)."""

    type_slug = "biometric-mismatch"
    title = "Biometric mismatch"
    code = "biometric_mismatch"


class DuplicateSuspected(Conflict):
    """A new template matches someone else (step 2); the response never says whom."""

    type_slug = "duplicate-suspected"
    title = "Duplicate suspected"
    code = "duplicate_suspected"


@dataclass(frozen=True)
class OneToOne:
    """One modality's 1:1 result against the person's current template (``position`` None for the face)."""

    modality: str  # "face" | "finger"
    position: int | None
    enrolled: bool  # False: a finger position never enrolled, nothing to compare with
    score: float | None
    threshold: float | None
    match: bool


@dataclass(frozen=True)
class BiometricUpdate:
    """What an applied update replaced and added, with its 1:1 results."""

    uin: str
    face_replaced: bool
    fingers_replaced: list[int]
    fingers_added: list[int]
    checks: list[OneToOne]


@dataclass(frozen=True)
class _Current:
    """The person's templates in force when the 1:1 step read them (ids compared again when applying)."""

    identity_id: int
    record_id: int
    record_public_id: str
    face_ids: tuple[int, ...]
    finger_ids: dict[int, int]  # position -> finger template id


def update_biometrics(
    services: EnrolmentServices,
    actor: Actor,
    uin: str,
    photo: PhotoUpload | None,
    fingers: list[FingerUpload] | None = None,
) -> BiometricUpdate:
    """Re-capture ``uin``'s face and/or fingers: 1:1 against their own, 1:N against everyone else, then replace
    (module docstring). Raises Forbidden, InvalidInput, NotFound, BiometricMismatch, Conflict or
    DuplicateSuspected; nothing is stored then."""
    if actor.role not in UPDATER_ROLES:
        raise Forbidden(f"role {actor.role!r} may not update biometrics; needs {' or '.join(UPDATER_ROLES)}")
    fingers = list(fingers or [])
    if photo is None and not fingers:
        raise InvalidInput("present a new face photo, fingers, or both", code="no_biometrics")
    number = normalise_uin(uin)
    # Extraction first, outside any transaction: a bad or low-quality capture is a 422 before anything is read.
    face = probe_descriptor(services, photo) if photo is not None else None
    accepted, _reports = probe_fingers(services, fingers) if fingers else ([], [])
    current, checks = _one_to_one(services, actor, number, face[0] if face else None, accepted)
    _one_to_n(services, actor, number, current, face[0] if face else None, accepted, checks)
    return _apply(services, actor, number, current, photo, face, accepted, checks)


def _load(session: Session, number: str, *, lock: bool) -> tuple[Identity, Enrolment]:
    identity = session.scalars(select(Identity).where(Identity.uin == number)).first()
    if identity is None:
        raise NotFound(f"no identity with UIN {number}")
    if lock:
        lock_rows(session, Identity, [identity.id])
        session.refresh(identity)
    if identity.status != "active":
        raise Conflict(
            f"identity {number} is {identity.status}: its biometrics cannot be updated",
            code="not_active",
            params={"uin": number, "status": identity.status},
        )
    record = issuing_enrolment(session, identity.id)
    if record is None:
        raise NotFound(f"identity {number} has no issued record")
    return identity, record


def _current_templates(session: Session, identity: Identity, record: Enrolment) -> _Current:
    faces = session.scalars(
        select(FaceTemplate.id)
        .where(FaceTemplate.enrolment_id == record.id, FaceTemplate.in_gallery)
        .order_by(FaceTemplate.id)
    ).all()
    finger_rows = session.execute(
        select(FingerTemplate.position, FingerTemplate.id).where(FingerTemplate.enrolment_id == record.id)
    ).all()
    return _Current(identity.id, record.id, record.public_id, tuple(faces), {p: i for p, i in finger_rows})


def _one_to_one(
    services: EnrolmentServices,
    actor: Actor,
    number: str,
    vector: NDArray[np.float32] | None,
    fingers: list[AcceptedFinger],
) -> tuple[_Current, list[OneToOne]]:
    """Step 1: every new template against the person's own; refuse (audited) unless all verify."""
    settings = services.settings
    checks: list[OneToOne] = []
    with services.sessions() as session:
        identity, record = _load(session, number, lock=False)
        current = _current_templates(session, identity, record)
        if vector is not None:
            rows = session.scalars(select(FaceTemplate).where(FaceTemplate.id.in_(current.face_ids))).all()
            score = max(
                (float(open_descriptor(services.keyring, r, record.public_id) @ vector) for r in rows), default=None
            )
            matched = score is not None and score >= settings.verify_threshold
            checks.append(OneToOne("face", None, bool(rows), score, settings.verify_threshold, matched))
        face_verified = any(c.modality == "face" and c.match for c in checks)
        rows_by_position = {
            row.position: row
            for row in session.scalars(select(FingerTemplate).where(FingerTemplate.id.in_(current.finger_ids.values())))
        }
        for finger in fingers:
            row = rows_by_position.get(finger.position)
            if row is None:  # never enrolled here: only a verified face vouches for it
                checks.append(OneToOne("finger", finger.position, False, None, None, face_verified))
                continue
            enrolled = open_finger(services.keyring, row, record.public_id).view
            score = compare(matching_features(finger.view), enrolled)
            threshold = settings.finger_verify_threshold
            checks.append(OneToOne("finger", finger.position, True, score, threshold, score >= threshold))
    failed = [c for c in checks if not c.match]
    if failed:
        _refuse(services, actor, number, "biometric_mismatch", checks)
        unvouched = [c.position for c in failed if c.modality == "finger" and not c.enrolled]
        raise BiometricMismatch(
            "the biometrics presented do not verify against this person's own: "
            + ", ".join(_describe(c) for c in failed)
            + (" (a finger never enrolled needs a face that verifies in the same request)" if unvouched else ""),
            checks=[_check_out(c) for c in checks],
        )
    return current, checks


def _one_to_n(
    services: EnrolmentServices,
    actor: Actor,
    number: str,
    current: _Current,
    vector: NDArray[np.float32] | None,
    fingers: list[AcceptedFinger],
    checks: list[OneToOne],
) -> None:
    """Step 2: the new face, and the new fingers, against everyone but this identity; refuse (audited) on any hit."""
    thresholds = services.settings.dedup
    # ("uin", the other UIN) or ("enrolment", an application's id while it has none) -> the searches that hit
    hits: dict[tuple[str, str], set[str]] = {}
    with services.sessions() as session:
        services.gallery.catch_up(session)
        services.fingers.catch_up(session)
        searches: list[tuple[str, NDArray[np.float32] | None, list[AcceptedFinger]]] = []
        if vector is not None:
            searches.append(("face", vector[None, :], []))
        # The fingers fused, as at enrolment (one finger alone never reaches the dedup threshold: finger_llr_cap);
        # and those at positions never enrolled apart too, so that the person's own re-captured fingers (proven
        # 1:1, and scoring low against anyone else) cannot dilute the evidence of someone else's fingers.
        unproven = [f for f in fingers if f.position not in current.finger_ids]
        groups = [fingers, unproven] if 0 < len(unproven) < len(fingers) else [fingers]
        searches += [("fingers " + ", ".join(str(f.position) for f in g), None, g) for g in groups if g]
        for modality, vectors, probe in searches:
            for match in fused_candidates(session, services, vectors, probe, thresholds, exclude=current.record_id):
                if match.enrolment.identity_id == current.identity_id:
                    continue  # one of the person's own applications
                holder = match.enrolment.identity
                other = ("uin", holder.uin) if holder else ("enrolment", match.enrolment.public_id)
                hits.setdefault(other, set()).add(modality)
    if hits:
        _refuse(services, actor, number, "duplicate_suspected", checks, matched=hits)
        raise DuplicateSuspected(
            "a new template matches another person's: the update is not applied; an adjudicator must review it "
            "(the audit event identity.biometric_update_refused names the match)",
            modalities=sorted(set().union(*hits.values())),
        )


def _apply(
    services: EnrolmentServices,
    actor: Actor,
    number: str,
    read: _Current,
    photo: PhotoUpload | None,
    face: tuple[NDArray[np.float32], QualityReport] | None,
    fingers: list[AcceptedFinger],
    checks: list[OneToOne],
) -> BiometricUpdate:
    """Step 3, under the identity's row lock: the templates read in step 1 must still be the ones in force."""
    new_faces: list[FaceTemplate] = []
    new_fingers: list[FingerTemplate] = []
    replaced = sorted(f.position for f in fingers if f.position in read.finger_ids)
    added = sorted(f.position for f in fingers if f.position not in read.finger_ids)
    try:
        with services.sessions.begin() as session:
            identity, record = _load(session, number, lock=True)
            if _current_templates(session, identity, record) != read:
                raise _raced(number)
            if face is not None and photo is not None:
                new_faces = _replace_face(services, session, record, read, photo, face)
            new_fingers = _replace_fingers(services, session, record, read, fingers)
            fields = (["face"] if face else []) + (["fingerprints"] if fingers else [])
            audit.record(
                session,
                actor,
                "identity.biometrics_updated",
                "identity",
                number,
                modalities=fields,
                face_replaced=face is not None,
                fingers_replaced=replaced,
                fingers_added=added,
                scores=_scores(checks),
            )
            services.events.publish(
                session, IdentityUpdated(identity_id=identity.id, uin=number, actor=actor, fields=tuple(fields))
            )
    except IntegrityError as exc:  # SQLite has no row lock to wait on: the loser's insert collides instead
        raise _raced(number) from exc
    # Committed: this process's indexes follow now (others at their next catch_up; module docstring).
    if new_faces and face is not None:
        services.gallery.removed(list(read.face_ids))
        services.gallery.added([row.id for row in new_faces], np.stack([face[0]] * len(new_faces)))
    if new_fingers:
        services.fingers.removed([read.finger_ids[p] for p in replaced])
        services.fingers.added(new_fingers, read.record_public_id)
    return BiometricUpdate(number, face is not None, replaced, added, checks)


def _replace_face(
    services: EnrolmentServices,
    session: Session,
    record: Enrolment,
    read: _Current,
    photo: PhotoUpload,
    face: tuple[NDArray[np.float32], QualityReport],
) -> list[FaceTemplate]:
    """The old face templates leave the gallery (kept as evidence); the new one takes the next photo index."""
    vector, report = face
    session.execute(update(FaceTemplate).where(FaceTemplate.id.in_(read.face_ids)).values(in_gallery=False))
    index = 1 + max(session.scalars(select(FaceTemplate.photo_index).where(FaceTemplate.enrolment_id == record.id)))
    sealed = seal_descriptor(services.keyring, vector, record.public_id, index)
    row = FaceTemplate(
        enrolment_id=record.id,
        photo_index=index,
        key_id=sealed.key_id,
        nonce=sealed.nonce,
        ciphertext=sealed.ciphertext,
        quality_score=report.score,
        in_gallery=True,
    )
    session.add(row)
    if services.settings.keep_photos:
        kept = services.keyring.seal(photo.data, photo_aad(record.public_id, index))
        kind = "image/png" if photo.data.startswith(b"\x89PNG") else "image/jpeg"  # decode_image took only these
        session.add(
            Photo(
                enrolment_id=record.id,
                photo_index=index,
                content_type=kind,
                key_id=kept.key_id,
                nonce=kept.nonce,
                ciphertext=kept.ciphertext,
            )
        )
    record.quality = [*(record.quality or []), report.to_dict()]  # one report per photo index, as enrolled
    session.flush()
    return [row]


def _replace_fingers(
    services: EnrolmentServices, session: Session, record: Enrolment, read: _Current, fingers: list[AcceptedFinger]
) -> list[FingerTemplate]:
    """Replaced positions' rows are deleted (unique per position), the new rows inserted; reports follow."""
    if not fingers:
        return []
    positions = {f.position for f in fingers}
    old = [read.finger_ids[p] for p in positions if p in read.finger_ids]
    if old:
        session.execute(delete(FingerTemplate).where(FingerTemplate.id.in_(old)))
        session.flush()
    rows = [finger_template(services.keyring, record, finger) for finger in fingers]
    session.add_all(rows)
    # The enrolment's per-finger reports: the new capture replaces the old report (an exception included).
    reports = [r for r in (record.fingerprints or []) if r.get("position") not in positions]
    reports += [
        {"position": f.position, "status": "captured", "nfiq2": f.nfiq2, "minutiae": len(f.view.minutiae)}
        for f in fingers
    ]
    record.fingerprints = sorted(reports, key=lambda r: r["position"])
    record.fingers_deferred = False  # a face-only child's fingers, owed since enrolment, are taken (guardians.md)
    session.flush()
    return rows


def _raced(number: str) -> Conflict:
    return Conflict(
        f"{number}'s biometrics were changed by someone else meanwhile; start again", code="concurrent_update"
    )


def _refuse(
    services: EnrolmentServices,
    actor: Actor,
    number: str,
    reason: str,
    checks: list[OneToOne],
    matched: dict[tuple[str, str], set[str]] | None = None,
) -> None:
    """Audit a refusal in its own transaction (the refusal itself stores nothing)."""
    with services.sessions.begin() as session:
        audit.record(
            session,
            actor,
            "identity.biometric_update_refused",
            "identity",
            number,
            reason=reason,
            modalities=sorted({c.modality for c in checks}),
            scores=_scores(checks),
            # For the adjudicator: whom a new template matched (never in the response).
            matched=[{kind: other, "searches": sorted(hit)} for (kind, other), hit in sorted((matched or {}).items())],
        )


def _scores(checks: list[OneToOne]) -> dict[str, float | None]:
    """1:1 scores, rounded, by modality ("face", "finger 2"): enough to review, too coarse to be a template."""
    return {_label(c): None if c.score is None else round(c.score, 3) for c in checks}


def _label(check: OneToOne) -> str:
    return "face" if check.position is None else f"finger {check.position}"


def _describe(check: OneToOne) -> str:
    if check.score is None:
        return f"{_label(check)} (not enrolled, nothing to compare)"
    return f"{_label(check)} (similarity {check.score:.3f} < {check.threshold:.3f})"


def _check_out(check: OneToOne) -> dict[str, object]:
    return {**dataclasses.asdict(check), "score": None if check.score is None else round(check.score, 4)}
