"""A person keeps one UIN whatever the sequence of decisions on their case: a decision changed back to "not a
duplicate" gives back the UIN the "duplicate" withdrew, for a register pair (two UINs a bulk dedup run found
alike) and for an enrolment case (the UIN its first "not a duplicate" issued); never a second, new one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from civid.audit import SYSTEM, Actor
from civid.auth import create_api_key
from enrollment import adjudication, decision_change, dedup_bulk
from enrollment.schemas import DecisionIn
from enrollment.uin_withdrawal import MERGED
from matcher.bulk_pairs import ScanOptions
from models import AuditEvent, CaseKind, DedupCase, Enrolment, Identity
from server.services import Services, build_services
from tests.conftest import make_settings
from tests.enrollment.bulk_register import near, register, unit
from tests.enrollment.test_adjudication import change, decide, opened, seed, settings  # noqa: F401 - fixtures
from tests.postgres import postgres_schema_url  # noqa: F401 - fixture

DISTINCT, SAME = "not_duplicate", "duplicate"


@pytest.fixture(params=["sqlite", "postgresql"])
def register_services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    url = request.getfixturevalue("postgres_schema_url") if request.param == "postgresql" else None
    built = build_services(make_settings(tmp_path / "register", **({"database_url": url} if url else {})))
    yield built
    built.close()


def _uin_of(services: Services, enrolment_id: int) -> tuple[str, str]:
    with services.sessions() as session:
        enrolment = session.get(Enrolment, enrolment_id)
        assert enrolment is not None and enrolment.identity is not None
        return enrolment.identity.uin, enrolment.identity.status


@pytest.mark.parametrize(
    "sequence", [(DISTINCT, SAME, DISTINCT), (SAME, DISTINCT, SAME, DISTINCT)], ids=["distinct-first", "same-first"]
)
def test_a_register_pair_decided_back_to_distinct_keeps_the_uin_it_held(
    register_services: Services, sequence: tuple[str, ...]
) -> None:
    services = register_services
    rng = np.random.default_rng(5)
    face = unit(rng, 1)[0]
    earlier, later = register(services, np.stack([face, near(face, 0.99, rng)]))
    actor = Actor(None, "bulk run", "admin")
    options = dedup_bulk.BulkOptions(ScanOptions(batch_size=16), llr_threshold=3.0)
    dedup_bulk.execute(services, actor, dedup_bulk.start_run(services, actor, options))
    with services.sessions.begin() as session:
        case_id = session.scalars(select(DedupCase.public_id).where(DedupCase.kind == CaseKind.REGISTER_PAIR)).one()
        row, _ = create_api_key(session, "adjudicator", "adjudicator", SYSTEM)
        adjudicator = Actor(row.id, row.name, row.role)
    held_uin, _ = _uin_of(services, later)
    earlier_uin, _ = _uin_of(services, earlier)

    for number, outcome in enumerate(sequence):
        decision = DecisionIn(decision=outcome, comment=f"decision {number + 1}")  # type: ignore[arg-type]
        if number == 0:
            adjudication.decide(services, adjudicator, case_id, decision)
        else:
            decision_change.change(services, adjudicator, case_id, decision)
        uin, status = _uin_of(services, later)
        if outcome == DISTINCT:
            assert (uin, status) == (held_uin, "active")  # the UIN it held, never a new one
        else:
            assert uin == earlier_uin
        assert _uin_of(services, earlier) == (earlier_uin, "active")
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Identity)) == 2  # no UIN issued by any decision
        restored = session.scalars(select(AuditEvent).where(AuditEvent.action == "identity.restored")).all()
        assert [e.subject_id for e in restored] == [held_uin] * sequence[1:].count(DISTINCT)


def test_an_enrolment_case_changed_back_to_not_duplicate_gets_its_first_uin_again(client, keys, services, opened):  # type: ignore[no-untyped-def]
    first, second = opened
    case_id = second["case_id"]
    assert decide(client, keys, case_id, DISTINCT).status_code == 200

    def uin() -> str:
        return client.get(f"/v1/enrolments/{second['id']}", headers=keys.officer).json()["uin"]

    own_uin = uin()
    assert change(client, keys, case_id, SAME, "birth records match", duplicate_of=first["uin"]).status_code == 200
    with services.sessions() as session:
        assert session.scalar(select(Identity.status).where(Identity.uin == own_uin)) == MERGED
    back = change(client, keys, case_id, DISTINCT, "a twin after all: other birth certificate")
    assert back.status_code == 200, back.text
    assert uin() == own_uin
    with services.sessions() as session:
        assert session.scalar(select(Identity.status).where(Identity.uin == own_uin)) == "active"
        assert session.scalar(select(func.count()).select_from(Identity)) == 2
