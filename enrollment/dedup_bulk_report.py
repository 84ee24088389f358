"""The report of a bulk dedup run, for the officers who follow it up: one line per candidate pair with the two
people's UINs and enrolment ids, the scores and the case opened, as CSV and as JSON. Never templates or photos;
names stay on the case page, where an adjudicator reads them with the evidence."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from models import BatchJob, BulkDedupPair, BulkDedupRun, DedupCase, Enrolment, Identity

COLUMNS = (
    "first_uin",
    "second_uin",
    "first_enrolment",
    "second_enrolment",
    "face_score",
    "finger_scores",
    "fused_llr",
    "at_threshold",
    "case_id",
    "case_status",
    "case_decision",
)


@dataclass(frozen=True)
class PairLine:
    """One candidate pair as the report states it (first = the earlier enrolment)."""

    first_uin: str | None
    second_uin: str | None
    first_enrolment: str
    second_enrolment: str
    face_score: float
    finger_scores: dict[str, float]
    fused_llr: float
    at_threshold: bool
    case_id: str | None
    case_status: str | None
    case_decision: str | None


def pair_lines(session: Session, run: BulkDedupRun) -> list[PairLine]:
    """The run's pairs, strongest evidence first (ties by enrolment ids, so a report is reproducible)."""
    first, second = aliased(Enrolment), aliased(Enrolment)
    first_identity, second_identity = aliased(Identity), aliased(Identity)
    threshold = float(run.options["llr_threshold"])
    rows = session.execute(
        select(BulkDedupPair, first.public_id, second.public_id, first_identity.uin, second_identity.uin, DedupCase)
        .join(first, BulkDedupPair.first_enrolment_id == first.id)
        .join(second, BulkDedupPair.second_enrolment_id == second.id)
        .outerjoin(first_identity, first.identity_id == first_identity.id)
        .outerjoin(second_identity, second.identity_id == second_identity.id)
        .outerjoin(DedupCase, BulkDedupPair.case_id == DedupCase.id)
        .where(BulkDedupPair.run_id == run.id)
        .order_by(BulkDedupPair.fused_llr.desc(), BulkDedupPair.first_enrolment_id, BulkDedupPair.second_enrolment_id)
    ).all()
    return [
        PairLine(
            first_uin=first_uin,
            second_uin=second_uin,
            first_enrolment=first_public,
            second_enrolment=second_public,
            face_score=round(pair.face_score, 4),
            finger_scores=dict(pair.finger_scores or {}),
            fused_llr=round(pair.fused_llr, 3),
            at_threshold=pair.fused_llr >= threshold,
            case_id=case.public_id if case else None,
            case_status=case.status if case else None,
            case_decision=case.decision if case else None,
        )
        for pair, first_public, second_public, first_uin, second_uin, case in rows
    ]


def run_summary(session: Session, run: BulkDedupRun) -> dict[str, Any]:
    """What the run covered and found (the JSON report's head)."""
    batch = session.get(BatchJob, run.batch_id) if run.batch_id else None
    return {
        "run": run.public_id,
        "status": run.status,
        "batch": batch.public_id if batch else None,
        "options": run.options,
        "queries_total": run.queries_total,
        "queries_done": run.queries_done,
        "pairs_found": run.pairs_found,
        "cases_opened": run.cases_opened,
        "started_by": run.started_by,
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def write_reports(session: Session, run: BulkDedupRun, folder: Path) -> tuple[Path, Path]:
    """Write ``<folder>/bulk-dedup-<run>.csv`` and ``.json``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = pair_lines(session, run)
    csv_path = folder / f"bulk-dedup-{run.public_id}.csv"
    json_path = csv_path.with_suffix(".json")
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for line in lines:
            values = asdict(line)
            values["finger_scores"] = " ".join(f"{p}:{s}" for p, s in sorted(line.finger_scores.items()))
            writer.writerow(["" if values[c] is None else values[c] for c in COLUMNS])
    json_path.write_text(
        json.dumps({**run_summary(session, run), "pairs": [asdict(line) for line in lines]}, indent=2) + "\n"
    )
    return csv_path, json_path
