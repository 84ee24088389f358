"""A registration drive's results as the officer reads them: the CSV report, and whom each opened case is
against (its first candidate's UIN and name, not a bare case id)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from civid.settings import Settings
from console.batch import reasons as batch_reasons
from console.common.csv_cells import csv_cell
from models import BatchJob, BatchRecord, CaseCandidate, DedupCase, Enrolment, Identity


def report_csv(db: Session, job: BatchJob, settings: Settings, lang: str) -> str:
    """One line per package: its outcome, UIN or case (with the first candidate's UIN and name), enrolment, the
    reasons' codes as stored, and the reasons as the results page says them (``batch_reasons``), in ``lang``."""
    records = list(db.scalars(select(BatchRecord).where(BatchRecord.batch_id == job.id).order_by(BatchRecord.position)))
    reasons = batch_reasons.reasons_by_record(db, job, records, settings, lang)
    candidates = case_candidates(db, {r.case_public_id for r in records if r.case_public_id is not None})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "package",
            "status",
            "uin",
            "case_id",
            "candidate_uin",
            "candidate_name",
            "enrolment_id",
            "reason_codes",
            "reasons",
        ]
    )
    for record in records:
        candidate = candidates.get(record.case_public_id or "")
        writer.writerow(
            [
                csv_cell(v)
                for v in (
                    record.package,
                    record.status,
                    record.uin,
                    record.case_public_id,
                    candidate.uin if candidate else None,
                    candidate.name if candidate else None,
                    record.enrolment_public_id,
                    " | ".join(str(r.get("code")) for r in record.reasons or []),
                    " | ".join(reasons[record.id]),
                )
            ]
        )
    return buffer.getvalue()


@dataclass(frozen=True)
class Candidate:
    """Whom a record's case is against: its first-ranked candidate's UIN (None while that one is pending too)
    and name."""

    uin: str | None
    name: str


def case_candidates(db: Session, case_ids: set[str]) -> dict[str, Candidate]:
    """The first-ranked candidate of each case, by case public id."""
    if not case_ids:
        return {}
    rows = db.execute(
        select(DedupCase.public_id, Enrolment.given_name, Enrolment.family_name, Identity.uin)
        .join(CaseCandidate, CaseCandidate.case_id == DedupCase.id)
        .join(Enrolment, Enrolment.id == CaseCandidate.enrolment_id)
        .outerjoin(Identity, Identity.id == Enrolment.identity_id)
        .where(DedupCase.public_id.in_(case_ids), CaseCandidate.rank == 1)
    )
    return {case: Candidate(uin, f"{given} {family}") for case, given, family, uin in rows}
