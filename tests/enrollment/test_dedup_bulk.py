"""Bulk deduplication of an existing register (enrollment/dedup_bulk.py) on a real database, SQLite and
PostgreSQL: a register of synthetic people, some of them stored twice under two UINs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from civid.audit import Actor
from enrollment import dedup_bulk
from enrollment.dedup_bulk_report import pair_lines, write_reports
from matcher.bulk_pairs import ScanOptions
from models import (
    AuditEvent,
    BatchJob,
    BatchRecord,
    BulkDedupPair,
    BulkDedupRun,
    CaseCandidate,
    CaseKind,
    DedupCase,
    Enrolment,
    Identity,
    RunStatus,
)
from server.services import Services, build_services
from tests.conftest import make_settings
from tests.enrollment.bulk_register import fingers_of, near, officer, register, unit
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture

ACTOR = Actor(None, "test", "admin")
PEOPLE = 80
PLANTED = ((3, 0.985), (17, 0.97), (42, 0.99), (64, 0.96))  # (person re-registered, cosine of the second photo)


@pytest.fixture(params=["sqlite", "postgresql"])
def services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    url = request.getfixturevalue("postgres_schema_url") if request.param == "postgresql" else None
    settings = make_settings(tmp_path, **({"database_url": url} if url else {}))
    built = build_services(settings, open_gallery=False)
    yield built
    built.engine.dispose()


def planted_register(services: Services, seed: int = 7) -> set[tuple[int, int]]:
    """PEOPLE distinct people, then each planted person again under a second UIN; the planted enrolment pairs."""
    rng = np.random.default_rng(seed)
    faces = unit(rng, PEOPLE)
    originals = register(services, faces)
    again = register(services, np.stack([near(faces[person], cosine, rng) for person, cosine in PLANTED]))
    return {(originals[person], second) for (person, _), second in zip(PLANTED, again)}


def options(**scan: object) -> dedup_bulk.BulkOptions:
    return dedup_bulk.BulkOptions(ScanOptions(**{"batch_size": 16, **scan}), llr_threshold=3.0)  # type: ignore[arg-type]


def run_pairs(services: Services, run_id: str) -> set[tuple[int, int]]:
    with services.sessions() as session:
        run = dedup_bulk.load_run(session, run_id)
        rows = session.execute(
            select(BulkDedupPair.first_enrolment_id, BulkDedupPair.second_enrolment_id).where(
                BulkDedupPair.run_id == run.id
            )
        )
        return {(a, b) for a, b in rows}


def register_cases(services: Services) -> list[DedupCase]:
    with services.sessions() as session:
        return list(session.scalars(select(DedupCase).where(DedupCase.kind == CaseKind.REGISTER_PAIR)))


def test_a_run_finds_exactly_the_planted_pairs_and_opens_one_case_each(services: Services) -> None:
    planted = planted_register(services)
    run_id = dedup_bulk.start_run(services, ACTOR, options())
    run = dedup_bulk.execute(services, ACTOR, run_id)

    assert run.status == RunStatus.COMPLETED
    assert run_pairs(services, run_id) == planted
    assert run.queries_total == PEOPLE + len(PLANTED) and run.queries_done == run.queries_total
    cases = register_cases(services)
    assert len(cases) == run.cases_opened == len(planted)
    with services.sessions() as session:
        for case in cases:
            candidate = session.scalars(select(CaseCandidate).where(CaseCandidate.case_id == case.id)).one()
            # The applicant is the later-issued of the two; the candidate the earlier, with the fused evidence.
            assert (candidate.enrolment_id, case.enrolment_id) in planted
            assert candidate.fused_llr is not None and candidate.fused_llr >= 3.0
            assert case.status == "open"
        opened = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.opened")).all()
        assert {e.subject_id for e in opened} == {c.public_id for c in cases}
        assert all(e.detail["kind"] == CaseKind.REGISTER_PAIR and e.detail["run"] == run_id for e in opened)


def test_a_rerun_finds_the_same_pairs_and_opens_no_second_case(services: Services) -> None:
    planted = planted_register(services)
    first = dedup_bulk.execute(services, ACTOR, dedup_bulk.start_run(services, ACTOR, options()))
    second_id = dedup_bulk.start_run(services, ACTOR, options())
    second = dedup_bulk.execute(services, ACTOR, second_id)

    assert run_pairs(services, second_id) == planted
    assert first.cases_opened == len(planted) and second.cases_opened == 0
    assert len(register_cases(services)) == len(planted)
    with services.sessions() as session:
        linked = session.scalars(select(BulkDedupPair.case_id).where(BulkDedupPair.run_id == second.id)).all()
        assert set(linked) == {c.id for c in register_cases(services)}  # the rerun points at the same cases


def test_an_interrupted_run_resumes_after_its_cursor_with_the_same_pairs(services: Services) -> None:
    planted = planted_register(services)
    run_id = dedup_bulk.start_run(services, ACTOR, options())
    stopped = dedup_bulk.execute(services, ACTOR, run_id, max_batches=2)
    assert stopped.status == RunStatus.RUNNING and stopped.queries_done == 32
    with services.sessions() as session:
        ids = sorted(session.scalars(select(Enrolment.id)))
    assert 0 < stopped.cursor < max(ids)

    resumed = dedup_bulk.execute(services, ACTOR, run_id)

    assert resumed.status == RunStatus.COMPLETED
    assert resumed.queries_done == resumed.queries_total == PEOPLE + len(PLANTED)  # nothing searched twice
    assert run_pairs(services, run_id) == planted
    assert len(register_cases(services)) == len(planted) == resumed.cases_opened


def test_a_batch_run_searches_only_the_batch_against_everyone(services: Services) -> None:
    planted = planted_register(services)
    person, second = sorted(planted)[1]
    with services.sessions.begin() as session:
        job = BatchJob(
            public_id="b-1",
            officer_id=officer(services),
            officer_name="o",
            filename="drive.zip",
            archive_sha256="0" * 64,
        )
        job.total = 1
        session.add(job)
        session.flush()
        public_id = session.get(Enrolment, second).public_id  # type: ignore[union-attr]
        session.add(
            BatchRecord(batch_id=job.id, position=0, package="p0", status="issued", enrolment_public_id=public_id)
        )

    run_id = dedup_bulk.start_run(services, ACTOR, options(), batch="b-1")
    run = dedup_bulk.execute(services, ACTOR, run_id)

    assert run.queries_total == 1
    assert run_pairs(services, run_id) == {(person, second)}


@pytest.mark.parametrize("services", ["sqlite"], indirect=True)  # the fusion, not the database, is under test
def test_fingers_decide_a_pair_whose_faces_alone_are_not_enough(services: Services) -> None:
    rng = np.random.default_rng(11)
    faces = unit(rng, 6)
    look_alike = near(faces[0], 0.90, rng)  # face LLR about -0.5: a case only if the fingers agree
    stranger_twin = near(faces[1], 0.90, rng)
    prints = {0: fingers_of(services, 500, 0, (2, 7)), 6: fingers_of(services, 500, 1, (2, 7))}
    prints[1] = fingers_of(services, 900, 0, (2,))
    prints[7] = fingers_of(services, 1900, 0, (2,))
    ids = register(services, np.vstack([faces, look_alike, stranger_twin]), fingers=prints)

    run_id = dedup_bulk.start_run(services, ACTOR, options(min_score=0.85))
    dedup_bulk.execute(services, ACTOR, run_id)

    with services.sessions() as session:
        lines = {
            (line.first_enrolment, line.second_enrolment): line for line in pair_lines(session, _run(session, run_id))
        }
        public = dict(session.execute(select(Enrolment.id, Enrolment.public_id)).all())
    same = lines[(public[ids[0]], public[ids[6]])]
    different = lines[(public[ids[1]], public[ids[7]])]
    assert set(same.finger_scores) == {"2", "7"} and same.at_threshold and same.case_id is not None
    assert set(different.finger_scores) == {"2"} and not different.at_threshold and different.case_id is None
    assert same.fused_llr > different.fused_llr
    assert len(register_cases(services)) == 1


def test_the_report_names_uins_and_scores_never_templates(services: Services, tmp_path: Path) -> None:
    planted = planted_register(services)
    run_id = dedup_bulk.start_run(services, ACTOR, options())
    dedup_bulk.execute(services, ACTOR, run_id)
    with services.sessions() as session:
        run = _run(session, run_id)
        csv_path, json_path = write_reports(session, run, tmp_path / "reports")
        uins = set(
            session.scalars(
                select(Identity.uin)
                .join(Enrolment, Enrolment.identity_id == Identity.id)
                .where(Enrolment.id.in_({b for _, b in planted}))
            )
        )
    text = csv_path.read_text()
    header, *rows = text.strip().splitlines()
    assert header.split(",")[:3] == ["first_uin", "second_uin", "first_enrolment"]
    assert len(rows) == len(planted)
    assert {row.split(",")[1] for row in rows} == uins
    report = json_path.read_text()
    assert '"pairs_found": 4' in report and "ciphertext" not in report and "vector" not in report


def test_unknown_batch_and_unknown_run_are_not_found(services: Services) -> None:
    from civid.errors import NotFound

    with pytest.raises(NotFound, match="no imported batch nope"):
        dedup_bulk.start_run(services, ACTOR, options(), batch="nope")
    with pytest.raises(NotFound, match="no bulk dedup run nope"):
        dedup_bulk.execute(services, ACTOR, "nope")
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(BulkDedupRun)) == 0


def _run(session, run_id: str) -> BulkDedupRun:  # type: ignore[no-untyped-def]
    return dedup_bulk.load_run(session, run_id)


def test_a_pair_an_adjudicator_already_decided_at_enrolment_opens_no_case(services: Services) -> None:
    planted = sorted(planted_register(services))
    first, second = planted[0]
    with services.sessions.begin() as session:
        # The second one's own enrolment case, decided "not a duplicate" of the first (twins, say).
        case = DedupCase(
            public_id="decided-at-enrolment", enrolment_id=second, status="decided", decision="not_duplicate"
        )
        session.add(case)
        session.flush()
        session.add(CaseCandidate(case_id=case.id, rank=1, enrolment_id=first, face_score=0.97, fused_llr=4.0))

    run = dedup_bulk.execute(services, ACTOR, dedup_bulk.start_run(services, ACTOR, options()))

    assert run.cases_opened == len(planted) - 1
    with services.sessions() as session:
        lines = pair_lines(session, run)
    assert len(lines) == len(planted)
    assert [line.case_id for line in lines if line.case_decision == "not_duplicate"] == ["decided-at-enrolment"]
    assert {c.enrolment_id for c in register_cases(services)} == {b for _, b in planted[1:]}
