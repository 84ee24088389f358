"""Retention of personal data: photos, templates of deactivated identities, release records and login history are
deleted once older than their configured period (``CIVID_RETENTION_*_DAYS``; docs/retention.md), by
``civid retention run`` on a schedule.

Each kind deletes in batches of ``BATCH_SIZE`` rows, each batch its own transaction with one audit event that says
how many rows, which ids and (for templates) whose UINs — never a biometric or a personal value. On PostgreSQL a
batch takes its rows with ``FOR UPDATE SKIP LOCKED``, so two runs at once (a timer firing while an operator runs it
by hand) split the rows between them: each row is deleted, and counted in the audit trail, exactly once.

What is never deleted here: a deceased person's templates (deduplication must still catch a new enrolment with a
dead person's face or fingers), anything of an enrolment in an open case or not yet decided, consents and
attestations, and login sessions a grant or a pending logout still names.

Deleted templates leave the gallery through its usual sync: searches resolve every hit against the template rows
(``enrollment.dedup``), so a deleted one is never reported, and each registration process drops the vectors when
it reconciles its index with the database (at its next start; with Milvus, ``civid index rebuild`` rebuilds the
shared collections at once).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, or_, select, union
from sqlalchemy.orm import Session, aliased, sessionmaker

from civid import audit
from civid.settings_groups import RetentionPolicy
from models import (
    AuthorizationRequest,
    BackchannelLogout,
    CaseCandidate,
    CaseStatus,
    DataRelease,
    DedupCase,
    Enrolment,
    EnrolmentStatus,
    FaceTemplate,
    FingerTemplate,
    Grant,
    Identity,
    IdentityStatusChange,
    LoginAttempt,
    LoginSession,
    Photo,
    utcnow,
)

BATCH_SIZE = 500
DEATH = "death"  # the deactivation reason whose templates are kept forever (enrollment.identity_status)
DEACTIVATED = "deactivated"

# The kinds, in the order a run deletes them, with the audit action each batch writes.
ACTIONS = {
    "photos": "retention.photos_deleted",
    "deactivated_templates": "retention.templates_deleted",
    "releases": "retention.releases_deleted",
    "login_history": "retention.login_history_deleted",
}
# What is kept whatever the policy says, and why (``civid retention show``, docs/retention.md).
ALWAYS_KEPT = (
    "templates of deceased persons: a new enrolment with a dead person's face or fingers must still be caught",
    "photos and templates of an enrolment in an open case (applicant or candidate) or not yet decided",
    "consents and KYC attestations (a live consent or a status-list slot is still in use)",
    "login sessions still named by a grant, an authorization request or a pending back-channel logout",
)
Progress = Callable[[int], None]  # called with the rows done by each batch


@dataclass(frozen=True)
class TableReport:
    """What one kind did to one table: rows deleted (or, in a dry run, that would be) in so many batches."""

    table: str
    rows: int
    batches: int


@dataclass(frozen=True)
class RetentionReport:
    """One kind's run: its period (None: kept forever, nothing done), the cut-off and what each table lost."""

    kind: str
    retention_days: int | None
    cutoff: datetime | None
    dry_run: bool
    tables: tuple[TableReport, ...] = ()

    @property
    def deleted(self) -> int:
        """Rows deleted over every table (in a dry run: rows that would be)."""
        return sum(table.rows for table in self.tables)


@dataclass(frozen=True)
class _Target:
    """One table of a kind: which of its rows are due (a condition on the cut-off) and what its audit event adds,
    from one column of the rows deleted (returned by the delete itself: the rows are gone when it is written)."""

    model: Any
    due: Callable[[datetime], Sequence[ColumnElement[bool]]]
    describe: Callable[[Session, Sequence[Any]], dict[str, Any]] | None = None
    described_column: str = "id"


def cutoff_of(days: int | None, now: datetime | None = None) -> datetime | None:
    """The moment before which rows kept ``days`` are due; None when kept forever."""
    return None if days is None else (now or utcnow()) - timedelta(days=days)


def _in_open_case() -> Select[Any]:
    """Enrolments an open case needs: its applicant and its candidates (an adjudicator compares them)."""
    applicants = select(DedupCase.enrolment_id).where(DedupCase.status == CaseStatus.OPEN)
    candidates = (
        select(CaseCandidate.enrolment_id)
        .join(DedupCase, CaseCandidate.case_id == DedupCase.id)
        .where(DedupCase.status == CaseStatus.OPEN)
    )
    return select(union(applicants, candidates).subquery().c[0])


def _photo_due(cutoff: datetime) -> Sequence[ColumnElement[bool]]:
    undecided = (EnrolmentStatus.PENDING_DEDUP, EnrolmentStatus.PENDING)
    old = select(Enrolment.id).where(Enrolment.created_at < cutoff, Enrolment.status.not_in(undecided))
    return [Photo.enrolment_id.in_(old), Photo.enrolment_id.not_in(_in_open_case())]


def _deactivated_identities(cutoff: datetime) -> Select[Any]:
    """Identities deactivated before ``cutoff`` for a reason other than death (their latest status change)."""
    latest = (
        select(func.max(IdentityStatusChange.id))
        .where(IdentityStatusChange.identity_id == Identity.id)
        .correlate(Identity)
        .scalar_subquery()
    )
    deactivation = exists().where(
        IdentityStatusChange.id == latest,
        IdentityStatusChange.to_status == DEACTIVATED,
        IdentityStatusChange.reason != DEATH,
        IdentityStatusChange.created_at < cutoff,
    )
    return select(Identity.id).where(Identity.status == DEACTIVATED, deactivation)


def _template_due(model: Any) -> Callable[[datetime], Sequence[ColumnElement[bool]]]:
    def due(cutoff: datetime) -> Sequence[ColumnElement[bool]]:
        enrolments = select(Enrolment.id).where(Enrolment.identity_id.in_(_deactivated_identities(cutoff)))
        return [model.enrolment_id.in_(enrolments), model.enrolment_id.not_in(_in_open_case())]

    return due


def _uins(session: Session, enrolment_ids: Sequence[Any]) -> dict[str, Any]:
    """The audit detail of a template batch: the UINs whose templates went (never the templates)."""
    uins = session.scalars(
        select(Identity.uin)
        .join(Enrolment, Enrolment.identity_id == Identity.id)
        .where(Enrolment.id.in_(sorted(set(enrolment_ids))))
        .distinct()
        .order_by(Identity.uin)
    ).all()
    return {"uins": list(uins)}


def _session_due(cutoff: datetime) -> Sequence[ColumnElement[bool]]:
    newer = aliased(LoginSession)
    return [
        LoginSession.created_at < cutoff,
        or_(and_(LoginSession.ended_at.is_not(None), LoginSession.ended_at < cutoff), LoginSession.expires_at < cutoff),
        # Rows that still point at the session keep it (foreign keys; a grant is the record of what was authorised).
        ~exists().where(Grant.login_session_id == LoginSession.id),
        ~exists().where(AuthorizationRequest.login_session_id == LoginSession.id),
        ~exists().where(BackchannelLogout.login_session_id == LoginSession.id),
        ~exists().where(newer.replaced_by_id == LoginSession.id),
    ]


TARGETS: dict[str, tuple[_Target, ...]] = {
    "photos": (_Target(Photo, _photo_due),),
    "deactivated_templates": (
        _Target(FaceTemplate, _template_due(FaceTemplate), _uins, "enrolment_id"),
        _Target(FingerTemplate, _template_due(FingerTemplate), _uins, "enrolment_id"),
    ),
    "releases": (_Target(DataRelease, lambda cutoff: [DataRelease.released_at < cutoff]),),
    "login_history": (
        _Target(LoginAttempt, lambda cutoff: [LoginAttempt.occurred_at < cutoff]),
        _Target(LoginSession, _session_due),
    ),
}


def days_of(policy: RetentionPolicy, kind: str) -> int | None:
    """The period configured for ``kind``."""
    return {
        "photos": policy.photo_days,
        "deactivated_templates": policy.deactivated_template_days,
        "releases": policy.release_days,
        "login_history": policy.login_history_days,
    }[kind]


def count_due(sessions: sessionmaker[Session], kind: str, days: int | None, now: datetime | None = None) -> int:
    """How many rows of ``kind`` are due now (what a dry run reports; a progress bar's total)."""
    cutoff = cutoff_of(days, now)
    if cutoff is None:
        return 0
    with sessions() as session:
        return sum(
            session.scalar(select(func.count()).select_from(t.model).where(*t.due(cutoff))) or 0 for t in TARGETS[kind]
        )


def _delete_batch(session: Session, target: _Target, cutoff: datetime, batch_size: int) -> list[tuple[int, Any]]:
    """Delete up to ``batch_size`` due rows of one table; return (id, described column) of each, by id."""
    model = target.model
    chosen = select(model.id).where(*target.due(cutoff)).order_by(model.id).limit(batch_size)
    if session.get_bind().dialect.name == "postgresql":
        # Rows another run holds are skipped, not waited for: that run deletes (and audits) them.
        chosen = chosen.with_for_update(skip_locked=True, of=model)
    statement = (
        delete(model)
        .where(model.id.in_(chosen))
        .returning(model.id, getattr(model, target.described_column))
        .execution_options(synchronize_session=False)
    )
    return sorted((row[0], row[1]) for row in session.execute(statement))


def purge(
    sessions: sessionmaker[Session],
    kind: str,
    days: int | None,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> RetentionReport:
    """Delete ``kind``'s rows older than ``days`` in audited batches (nothing when None); a dry run only counts."""
    if kind not in TARGETS:
        raise ValueError(f"unknown retention kind {kind!r}; one of {', '.join(TARGETS)}")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    cutoff = cutoff_of(days, now)
    if cutoff is None:
        return RetentionReport(kind, None, None, dry_run)
    tables = []
    for target in TARGETS[kind]:
        name = target.model.__tablename__
        if dry_run:
            with sessions() as session:
                due = session.scalar(select(func.count()).select_from(target.model).where(*target.due(cutoff))) or 0
            tables.append(TableReport(name, due, 0))
            continue
        rows = batches = 0
        while True:
            with sessions.begin() as session:
                deleted = _delete_batch(session, target, cutoff, batch_size)
                if not deleted:
                    break
                ids = [row_id for row_id, _ in deleted]
                extra = target.describe(session, [value for _, value in deleted]) if target.describe else {}
                audit.record(
                    session,
                    audit.SYSTEM,
                    ACTIONS[kind],
                    "retention",
                    kind,
                    table=name,
                    count=len(ids),
                    cutoff=audit.as_utc(cutoff).isoformat(),
                    retention_days=days,
                    first_id=ids[0],
                    last_id=ids[-1],
                    **extra,
                )
            rows += len(ids)
            batches += 1
            if progress is not None:
                progress(len(ids))
        tables.append(TableReport(name, rows, batches))
    return RetentionReport(kind, days, cutoff, dry_run, tuple(tables))


def delete_photos(sessions: sessionmaker[Session], policy: RetentionPolicy, **options: Any) -> RetentionReport:
    """Enrolment photos older than ``policy.photo_days`` (by their enrolment's date); None keeps them."""
    return purge(sessions, "photos", policy.photo_days, **options)


def delete_deactivated_templates(
    sessions: sessionmaker[Session], policy: RetentionPolicy, **options: Any
) -> RetentionReport:
    """Face and finger templates of identities deactivated (not for death) over the period ago."""
    return purge(sessions, "deactivated_templates", policy.deactivated_template_days, **options)


def delete_releases(sessions: sessionmaker[Session], policy: RetentionPolicy, **options: Any) -> RetentionReport:
    """Records of claims released to portals and banks, older than the period."""
    return purge(sessions, "releases", policy.release_days, **options)


def delete_login_history(sessions: sessionmaker[Session], policy: RetentionPolicy, **options: Any) -> RetentionReport:
    """Login attempts, and ended or expired login sessions nothing names any more, older than the period."""
    return purge(sessions, "login_history", policy.login_history_days, **options)


def run(sessions: sessionmaker[Session], policy: RetentionPolicy, **options: Any) -> list[RetentionReport]:
    """Every kind in turn (``options`` as for ``purge``); one report per kind."""
    return [purge(sessions, kind, days_of(policy, kind), **options) for kind in TARGETS]
