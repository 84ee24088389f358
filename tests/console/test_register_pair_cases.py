"""Register-pair cases (two issued identities a bulk dedup run found alike) in the adjudicators' console: listed
with the other cases, marked as such, decided through the same form; a duplicate withdraws the later UIN."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from civid.audit import Actor
from enrollment import dedup_bulk
from matcher.bulk_pairs import ScanOptions
from models import AuditEvent, CaseKind, DedupCase, Enrolment, FaceTemplate, Identity
from tests.conftest import seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS
from tests.console.test_cases import as_adjudicator, open_a_case
from tests.enrollment.bulk_register import near, register, unit
from tests.idp.frontchannel import form_value

seed, settings, keys, seeded = seeded_fixtures(open_a_case, "seeded", **CONSOLE_SETTINGS)
ACTOR = Actor(None, "test", "admin")


def bulk_run(services) -> str:  # type: ignore[no-untyped-def]
    options = dedup_bulk.BulkOptions(ScanOptions(min_score=services.settings.dedup_threshold), llr_threshold=3.0)
    run_id = dedup_bulk.start_run(services, ACTOR, options)
    dedup_bulk.execute(services, ACTOR, run_id)
    return run_id


def plant_two_pairs(services) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    faces = unit(rng, 4)
    first = register(services, faces)
    second = register(services, np.stack([near(faces[0], 0.98, rng), near(faces[1], 0.98, rng)]))
    return [(first[0], second[0]), (first[1], second[1])]


def case_of(services, applicant: int) -> DedupCase:  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return db.scalars(
            select(DedupCase).where(DedupCase.kind == CaseKind.REGISTER_PAIR, DedupCase.enrolment_id == applicant)
        ).one()


def post_decision(client, case_id: str, **form: str):  # type: ignore[no-untyped-def]
    page = client.get(f"/console/cases/{case_id}")
    data = {"csrf_token": form_value(page.text, "csrf_token"), **form}
    return client.post(f"/console/cases/{case_id}/decision", data=data, follow_redirects=False)


def test_register_pairs_are_listed_marked_and_decided_like_any_case(client, seeded) -> None:  # type: ignore[no-untyped-def]
    services = client.app.state.services
    (earlier, later), (other_earlier, other_later) = plant_two_pairs(services)
    bulk_run(services)
    merged, kept = case_of(services, later), case_of(services, other_later)
    with services.sessions() as db:
        later_identity = db.get(Enrolment, later).identity_id  # type: ignore[union-attr]

    queue = as_adjudicator(client, seeded)
    assert queue.status_code == 200
    assert queue.text.count("Two UINs (register check)") == 2
    assert merged.public_id in queue.text and seeded.case_id in queue.text  # beside the enrolment cases
    page = client.get(f"/console/cases/{merged.public_id}")
    assert "Both people already hold a UIN" in page.text

    assert (
        post_decision(client, merged.public_id, decision="duplicate", comment="Same face, two UINs.").status_code == 303
    )
    assert post_decision(client, kept.public_id, decision="not_duplicate", comment="Twins.").status_code == 303

    with services.sessions() as db:
        later_row, earlier_row = db.get(Enrolment, later), db.get(Enrolment, earlier)
        withdrawn = db.get(Identity, later_identity)
        assert later_row.status == "duplicate" and later_row.identity_id == earlier_row.identity_id
        assert withdrawn is not None and withdrawn.status == "merged"
        assert not any(db.scalars(select(FaceTemplate.in_gallery).where(FaceTemplate.enrolment_id == later)))
        both = db.scalars(
            select(Identity.status)
            .join(Enrolment, Enrolment.identity_id == Identity.id)
            .where(Enrolment.id.in_((other_earlier, other_later)))
        )
        assert list(both) == ["active", "active"]
        actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == withdrawn.uin)))
        assert "identity.withdrawn" in actions

    bulk_run(services)  # a rerun: the decided pairs are not opened again
    with services.sessions() as db:
        cases = db.scalars(select(DedupCase).where(DedupCase.kind == CaseKind.REGISTER_PAIR)).all()
        assert len(cases) == 2 and all(c.status == "decided" for c in cases)
