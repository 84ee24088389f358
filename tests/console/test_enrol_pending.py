"""An enrolment left to the dedup workers: its outcome page says it is being checked and reloads itself (a meta
refresh, so with or without JavaScript) until a worker decides, then shows the outcome and stops reloading. The
reloads are not the officer's activity (the desk still signs out when left) and audit no view until the outcome."""

from __future__ import annotations

import re
import threading

from sqlalchemy import select

from console.enrol.pages import OUTCOME_REFRESH_S
from enrollment.abis_worker import run_worker
from models import AuditEvent, ConsoleSession
from tests.conftest import seeded_fixtures
from tests.console.helpers import CONSOLE_SETTINGS, enrol_staff
from tests.console.test_enrol import count, person_fields, submit
from tests.idp.frontchannel import location

seed, settings, keys, people = seeded_fixtures(
    enrol_staff, "people", **CONSOLE_SETTINGS, dedup_inline=False, dedup_wait_s=0
)


def _last_seen(services):  # type: ignore[no-untyped-def]
    with services.sessions() as db:
        return db.scalars(select(ConsoleSession.last_seen_at).order_by(ConsoleSession.id.desc())).first()


def test_a_pending_enrolment_page_reloads_itself_until_the_worker_decides(officer, services):  # type: ignore[no-untyped-def]
    sent = submit(officer, person_fields())
    assert sent.status_code == 303, sent.text[:800]
    page_path = location(sent)
    public_id = page_path.rsplit("/", 1)[1]
    page = officer.get(page_path)
    assert 'data-status="pending_dedup"' in page.text
    refresh = re.search(r'<meta http-equiv="refresh" content="(\d+); url=([^"]+)">', page.text)
    assert refresh is not None and int(refresh.group(1)) == OUTCOME_REFRESH_S
    assert refresh.group(2) == f"/console/enrolments/{public_id}?auto=1"

    views = count(services, AuditEvent, AuditEvent.action == "enrolment.viewed", AuditEvent.subject_id == public_id)
    seen = _last_seen(services)
    reloaded = officer.get(refresh.group(2))  # what the browser does after the refresh delay
    assert 'data-status="pending_dedup"' in reloaded.text and 'http-equiv="refresh"' in reloaded.text
    assert _last_seen(services) == seen  # not the officer's activity
    assert count(services, AuditEvent, AuditEvent.action == "enrolment.viewed", AuditEvent.subject_id == public_id) == (
        views
    )

    assert run_worker(services, threading.Event(), max_jobs=1) == 1
    decided = officer.get(refresh.group(2))
    assert 'data-status="issued"' in decided.text and 'http-equiv="refresh"' not in decided.text
    assert count(services, AuditEvent, AuditEvent.action == "enrolment.viewed", AuditEvent.subject_id == public_id) == (
        views + 1  # the reload that showed the UIN is a view
    )
