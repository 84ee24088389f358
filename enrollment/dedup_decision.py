"""Deciding one dedup job: search the gallery with no lock held, then issue a UIN or open a case under the row locks
of the enrolments being decided together (insert-then-identify, as MOSIP's ABIS contract describes).

The applicant's templates were committed, and so searchable, before its search began (``workflow``). Of two
enrolments of one person in flight at once, at least one therefore finds the other: each committed before it
searched, so the one that searched later saw the other. The pair is then resolved by the order of the two
decisions, which the row locks make total:

- the first to decide finds the other still ``pending_dedup`` and counts nothing against it (it issues, unless it
  matches someone decided), but writes a *deferred match* on the other's job, under the other's row lock;
- the second to decide counts every match already decided (issued or sent to a case), those its own search found
  and those deferred to it, and opens a case with them as candidates.

So whichever of the two found the other, the second decision sees the first one's outcome, and a person never
gets two UINs; the first decider of a group of simultaneous enrolments issues, and every later one of the group
opens a case listing it. The only lock held is on those enrolments' rows, for the moment of the decision, and
enrolments of different people share none: neither waits on the other's search or decision.

The decision and the job's ``done`` commit together, and only while the job still runs under the caller's lease
(``dedup_queue.holds``): a worker whose lease expired and whose job was claimed again writes nothing
(``LeaseLost``); a retried job (its worker died after the commit) finds the enrolment decided and returns that
decision unchanged.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from civid import audit
from civid.actor import Actor
from civid.events import EventBus, UinIssued
from enrollment import dedup_queue, guardianship
from enrollment.dedup import FusedMatch, face_scores_of, finger_scores_against, fused_candidates
from enrollment.documents import stored_audit_summary
from enrollment.fingerprint import AcceptedFinger, matching_features, open_finger
from enrollment.runtime import EnrolmentServices
from enrollment.templates import open_descriptor
from enrollment.uin import generate_uin
from models import (
    ApiKey,
    CaseCandidate,
    DedupCase,
    DedupJob,
    Enrolment,
    EnrolmentStatus,
    FaceTemplate,
    FingerTemplate,
    Identity,
    JobStatus,
    utcnow,
)
from models.db import lock_rows


@dataclass(frozen=True)
class Probe:
    """The applicant's stored templates, as the 1:N search takes them."""

    vectors: NDArray[np.float32]  # (n, 128), one per accepted photo
    fingers: list[AcceptedFinger]


@dataclass(frozen=True)
class Timing:
    """Where one job's time went: the search (no lock), waiting for the decision's row locks, and CPU."""

    search_s: float
    lock_wait_s: float
    cpu_s: float


def process(services: EnrolmentServices, lease: dedup_queue.Lease) -> Enrolment:
    """Search for the leased job's applicant and decide it (or return the decision an earlier attempt committed);
    ``dedup_queue.LeaseLost`` when the job was claimed again before the decision could commit."""
    cpu_started = time.process_time()
    with services.sessions() as session:
        job = session.get(DedupJob, lease.job_id)
        if job is None:
            raise LookupError(f"no dedup job {lease.job_id}")
        enrolment = session.get(Enrolment, job.enrolment_id)
        assert enrolment is not None
        if enrolment.status != EnrolmentStatus.PENDING_DEDUP:
            return enrolment  # decided by an earlier attempt (this claim came after that commit)
        probe = load_probe(services, session, enrolment)
        search_started = time.perf_counter()
        services.gallery.catch_up(session)
        services.fingers.catch_up(session)
        matches = fused_candidates(
            session, services, probe.vectors, probe.fingers, services.settings.dedup, exclude=enrolment.id
        )
        search_s = time.perf_counter() - search_started
        # End the read transaction (commit: the factory keeps loaded objects): nothing is held from here to the
        # decision.
        session.commit()
    return _decide(services, lease, enrolment.id, probe, matches, search_s, cpu_started)


def load_probe(services: EnrolmentServices, session: Session, enrolment: Enrolment) -> Probe:
    """Decrypt the applicant's face and finger templates."""
    faces = session.scalars(
        select(FaceTemplate).where(FaceTemplate.enrolment_id == enrolment.id).order_by(FaceTemplate.photo_index)
    ).all()
    fingers = session.scalars(
        select(FingerTemplate).where(FingerTemplate.enrolment_id == enrolment.id).order_by(FingerTemplate.position)
    ).all()
    vectors = np.stack([open_descriptor(services.keyring, row, enrolment.public_id) for row in faces])
    return Probe(vectors, [open_finger(services.keyring, row, enrolment.public_id) for row in fingers])


def _decide(
    services: EnrolmentServices,
    lease: dedup_queue.Lease,
    enrolment_id: int,
    probe: Probe,
    matches: list[FusedMatch],
    search_s: float,
    cpu_started: float,
) -> Enrolment:
    with services.sessions() as session:
        lock_wait_s = lock_rows(session, Enrolment, [enrolment_id, *(m.enrolment.id for m in matches)])
        # Under the locks, read again what the search read before them: statuses change only under these locks.
        enrolment = session.get(Enrolment, enrolment_id, populate_existing=True)
        job = session.get(DedupJob, lease.job_id, populate_existing=True)
        assert enrolment is not None and job is not None
        if enrolment.status != EnrolmentStatus.PENDING_DEDUP:
            session.rollback()
            return enrolment  # an earlier attempt of this job decided it while this one searched
        if not dedup_queue.holds(session, lease):
            session.rollback()
            raise dedup_queue.LeaseLost(f"dedup job {lease.job_id}: attempt {lease.attempt} no longer holds it")
        found = {
            row.id: row
            for row in session.scalars(
                select(Enrolment)
                .where(Enrolment.id.in_([m.enrolment.id for m in matches]))
                .execution_options(populate_existing=True)
            )
        }
        fresh = [FusedMatch(found[m.enrolment.id], m.face_score, m.fused) for m in matches if m.enrolment.id in found]
        counted = [m for m in fresh if m.enrolment.status in EnrolmentStatus.DECIDED_IN_GALLERY]
        undecided = [m for m in fresh if m.enrolment.status == EnrolmentStatus.PENDING_DEDUP]
        counted += _deferred_to(services, session, job, probe, {m.enrolment.id for m in counted})
        counted = sorted(counted, key=lambda m: -m.fused.llr)[: services.settings.dedup.max_candidates]
        actor = _officer(session, enrolment)
        if counted:
            open_case(session, actor, enrolment, counted)
        else:
            issue_identity(session, services.events, actor, enrolment)
            record_issued(session, actor, enrolment)
        for match in undecided:
            _defer(session, enrolment, match)
        job.status = JobStatus.DONE
        job.finished_at = utcnow()
        job.lease_expires_at = None
        job.error = None
        job.search_s, job.lock_wait_s = search_s, lock_wait_s
        job.cpu_s = time.process_time() - cpu_started
        session.commit()
    return enrolment


def _deferred_to(
    services: EnrolmentServices, session: Session, job: DedupJob, probe: Probe, already: set[int]
) -> list[FusedMatch]:
    """The enrolments decided before this one that found it while it was undecided (each must count), scored from
    this side; counted even if this side's score falls short, since theirs did not."""
    ids = [entry["enrolment_id"] for entry in job.deferred_matches if entry["enrolment_id"] not in already]
    if not ids:
        return []
    probes = {finger.position: matching_features(finger.view) for finger in probe.fingers}
    matches = []
    for other in session.scalars(
        select(Enrolment).where(Enrolment.id.in_(ids), Enrolment.status.in_(EnrolmentStatus.DECIDED_IN_GALLERY))
    ):
        face_score = face_scores_of(services, session, {other.id}, probe.vectors)[other.id]
        fused = services.fusion.fuse(face_score, finger_scores_against(services, session, other, probes))
        matches.append(FusedMatch(other, face_score, fused))
    return matches


def _defer(session: Session, decided: Enrolment, match: FusedMatch) -> None:
    """Tell the undecided ``match`` (its row is locked by this transaction) that ``decided`` found it first."""
    job = session.scalars(select(DedupJob).where(DedupJob.enrolment_id == match.enrolment.id)).first()
    if job is None:
        return  # pragma: no cover - every pending_dedup enrolment is stored with its job
    job.deferred_matches = [
        *job.deferred_matches,
        {"enrolment_id": decided.id, "face_score": match.face_score, "fused_llr": round(match.fused.llr, 3)},
    ]


def _officer(session: Session, enrolment: Enrolment) -> Actor:
    """The officer who enrolled the applicant: the decision is audited as theirs, as when made in their request."""
    key = session.get(ApiKey, enrolment.officer_id)
    assert key is not None
    return Actor(key.id, key.name, key.role)


def record_issued(session: Session, actor: Actor, enrolment: Enrolment) -> None:
    identity = session.get(Identity, enrolment.identity_id)
    assert identity is not None
    photos = len(session.scalars(select(FaceTemplate.id).where(FaceTemplate.enrolment_id == enrolment.id)).all())
    audit.record(
        session,
        actor,
        "enrolment.issued",
        "enrolment",
        enrolment.public_id,
        uin=identity.uin,
        photos=photos,
        fingers=sorted(_finger_positions(session, enrolment)),
        modalities=enrolment.dedup_modalities or ["face"],
        **_documents(session, enrolment),
    )


def open_case(session: Session, actor: Actor, enrolment: Enrolment, matches: list[FusedMatch]) -> DedupCase:
    """Open the applicant's case with ``matches`` as candidates (best first) and audit it."""
    enrolment.status = EnrolmentStatus.PENDING
    case = DedupCase(public_id=str(uuid.uuid4()), enrolment_id=enrolment.id)
    session.add(case)
    session.flush()
    for rank, match in enumerate(matches, start=1):
        session.add(
            CaseCandidate(
                case_id=case.id,
                rank=rank,
                enrolment_id=match.enrolment.id,
                face_score=match.face_score,
                fused_llr=match.fused.llr,
                finger_scores={str(p): round(v, 4) for p, v in match.fused.finger_scores.items()},
            )
        )
    session.flush()
    audit.record(
        session,
        actor,
        "enrolment.case_opened",
        "enrolment",
        enrolment.public_id,
        case=case.public_id,
        modalities=enrolment.dedup_modalities or ["face"],
        candidates=[
            {
                "enrolment": m.enrolment.public_id,
                # None only for a candidate found without a face probe (enrolments always carry one).
                "face_score": round(m.face_score, 4) if m.face_score is not None else None,
                "fused_llr": round(m.fused.llr, 3),
            }
            for m in matches
        ],
        **_documents(session, enrolment),
    )
    return case


def issue_identity(session: Session, events: EventBus, actor: Actor, enrolment: Enrolment) -> Identity:
    """Create the identity with a fresh UIN (retrying the rare random collision), attach the enrolment, and
    publish ``UinIssued`` in this transaction (the person is told once the decision commits)."""
    for _ in range(20):
        uin = generate_uin()
        if session.scalar(select(Identity.id).where(Identity.uin == uin)) is None:
            break
    else:  # pragma: no cover - 20 collisions in a 9-digit space means a broken random source
        raise RuntimeError("could not draw an unused UIN")
    identity = Identity(uin=uin)
    session.add(identity)
    session.flush()
    enrolment.identity_id = identity.id
    enrolment.status = EnrolmentStatus.ISSUED
    enrolment.decided_at = utcnow()
    session.flush()
    guardianship.link_issued(session, actor, enrolment, identity)  # a minor's guardian, verified at the desk
    events.publish(session, UinIssued(identity_id=identity.id, uin=uin, actor=actor))
    return identity


def _finger_positions(session: Session, enrolment: Enrolment) -> list[int]:
    return list(session.scalars(select(FingerTemplate.position).where(FingerTemplate.enrolment_id == enrolment.id)))


def _documents(session: Session, enrolment: Enrolment) -> dict[str, object]:
    summary = stored_audit_summary(session, enrolment)
    return {"documents": summary} if summary else {}
