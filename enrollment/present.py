"""ORM rows → API models. One place decides what of a record leaves the service (never templates)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid.settings_groups import AgePolicy
from enrollment.decision_history import decisions_of
from enrollment.documents import documents_of, masked
from enrollment.guardianship import fingers_due_on, guardians_of
from enrollment.record import duplicate_attempts, issuing_enrolment
from enrollment.schemas import (
    CandidateOut,
    CaseDecisionOut,
    CaseOut,
    CaseSummaryOut,
    DedupJobOut,
    Demographics,
    DocumentOut,
    EnrolmentOut,
    FingerReportOut,
    GuardianOut,
    IdentityOut,
    QualityIssueOut,
    QualityOut,
)
from models import (
    ApiKey,
    CaseCandidate,
    CaseDecision,
    DedupCase,
    DedupJob,
    Enrolment,
    EnrolmentStatus,
    Identity,
    IdentityDocument,
    enrolment_case_key,
)


def demographics_of(e: Enrolment) -> Demographics:
    return Demographics.model_validate(
        {
            "given_name": e.given_name,
            "middle_names": e.middle_names,
            "family_name": e.family_name,
            "date_of_birth": e.date_of_birth,
            "sex": e.sex,
            "place_of_birth": e.place_of_birth,
            "nationality": e.nationality,
            "address": e.address,
            "phone": e.phone,
            "email": e.email,
        }
    )


def candidate_out(c: CaseCandidate) -> CandidateOut:
    e = c.enrolment
    return CandidateOut(
        rank=c.rank,
        enrolment_id=e.public_id,
        uin=e.identity.uin if e.identity else None,
        status=e.status,
        identity_status=e.identity.status if e.identity else None,
        face_score=round(c.face_score, 4),
        finger_scores={int(k): v for k, v in (c.finger_scores or {}).items()},
        fused_llr=round(c.fused_llr, 3) if c.fused_llr is not None else None,
        given_name=e.given_name,
        family_name=e.family_name,
        date_of_birth=e.date_of_birth,
    )


def enrolment_out(session: Session, e: Enrolment) -> EnrolmentOut:
    case = session.scalars(select(DedupCase).where(DedupCase.key == enrolment_case_key(e.id))).first()
    officer = session.get(ApiKey, e.officer_id)
    identity = session.get(Identity, e.identity_id) if e.identity_id else None
    return EnrolmentOut(
        id=e.public_id,
        status=e.status,
        uin=identity.uin if identity else None,
        case_id=case.public_id if case else None,
        candidates=[candidate_out(c) for c in case.candidates] if case else [],
        rejection_reasons=[QualityIssueOut(**r) for r in e.rejection_reasons],
        quality=[QualityOut.model_validate(q) for q in e.quality],
        fingerprints=[FingerReportOut.model_validate(f) for f in e.fingerprints or []],
        dedup_modalities=e.dedup_modalities or [],
        demographics=demographics_of(e),
        documents=[document_out(d) for d in documents_of(session, e.id)],
        officer=officer.name if officer else "?",
        guardian_uin=_uin(session, e.guardian_identity_id),
        fingers_deferred=e.fingers_deferred,
        created_at=e.created_at,
        decided_at=e.decided_at,
        dedup=_dedup_out(session, e),
    )


def _uin(session: Session, identity_id: int | None) -> str | None:
    identity = session.get(Identity, identity_id) if identity_id else None
    return identity.uin if identity else None


def _dedup_out(session: Session, e: Enrolment) -> DedupJobOut | None:
    if e.status != EnrolmentStatus.PENDING_DEDUP:
        return None
    job = session.scalars(select(DedupJob).where(DedupJob.enrolment_id == e.id)).first()
    if job is None:
        return None
    return DedupJobOut(status=job.status, attempts=job.attempts, poll=f"/v1/enrolments/{e.public_id}")


def document_out(d: IdentityDocument) -> DocumentOut:
    """A checked document as shown to officers: the number masked to its last four characters."""
    return DocumentOut(
        type=d.type,
        number=masked(d.number_last4),
        issuer_name=d.issuer_name,
        issuer_country=d.issuer_country,
        date_of_issuance=d.date_of_issuance,
        date_of_expiry=d.date_of_expiry,
        check_methods=list(d.check_methods),
        checked_at=d.checked_at,
    )


def case_out(session: Session, case: DedupCase) -> CaseOut:
    decided_by = session.get(ApiKey, case.decided_by_id) if case.decided_by_id else None
    enrolment = session.get(Enrolment, case.enrolment_id)
    assert enrolment is not None
    return CaseOut(
        id=case.public_id,
        status=case.status,
        enrolment=enrolment_out(session, enrolment),
        candidates=[candidate_out(c) for c in case.candidates],
        decision=case.decision,
        duplicate_of_uin=case.duplicate_of.uin if case.duplicate_of else None,
        comment=case.comment,
        decided_by=decided_by.name if decided_by else None,
        created_at=case.created_at,
        decided_at=case.decided_at,
        decisions=decisions_out(decisions_of(session, case)),
    )


def decisions_out(decisions: list[CaseDecision]) -> list[CaseDecisionOut]:
    """A case's decision history as the API shows it, oldest first (``replaces`` as a sequence number)."""
    sequence_of = {d.id: d.sequence for d in decisions}
    return [
        CaseDecisionOut(
            sequence=d.sequence,
            outcome=d.outcome,
            uin=d.uin,
            comment=d.comment,
            decided_by=d.decided_by_name,
            decided_at=d.decided_at,
            replaces=sequence_of.get(d.replaces_id) if d.replaces_id else None,
        )
        for d in decisions
    ]


def case_summary(case: DedupCase) -> CaseSummaryOut:
    return CaseSummaryOut(
        id=case.public_id,
        status=case.status,
        enrolment_id=case.enrolment.public_id,
        best_score=round(max((c.face_score for c in case.candidates), default=0.0), 4),
        best_fused_llr=max((round(c.fused_llr, 3) for c in case.candidates if c.fused_llr is not None), default=None),
        candidate_count=len(case.candidates),
        created_at=case.created_at,
    )


def identity_out(session: Session, identity: Identity, ages: AgePolicy) -> IdentityOut:
    """The identity as its record states it (``enrollment.record``), with the attempts made against it and its
    guardians."""
    record = issuing_enrolment(session, identity.id) or min(
        identity.enrolments, key=lambda e: e.created_at, default=None
    )
    deferred = bool(record and record.fingers_deferred and record.status == EnrolmentStatus.ISSUED)
    return IdentityOut(
        uin=identity.uin,
        status=identity.status,
        created_at=identity.created_at,
        enrolments=[e.public_id for e in identity.enrolments],
        record=record.public_id if record is not None and record.status == EnrolmentStatus.ISSUED else None,
        duplicate_attempts=[e.public_id for e in duplicate_attempts(session, identity.id)],
        given_name=record.given_name if record else None,
        family_name=record.family_name if record else None,
        date_of_birth=record.date_of_birth if record else None,
        fingers_deferred=deferred,
        fingers_due_on=fingers_due_on(record.date_of_birth, ages) if record and deferred else None,
        guardians=[
            GuardianOut(uin=guardian.uin, relationship=link.relationship, since=link.created_at)
            for link, guardian in guardians_of(session, identity.id)
        ],
    )
