"""The process's Prometheus metrics that count what happens: requests, and what the audit trail records.

Counted from the audit trail rather than by a call in every feature: each committed event is one increment of
``civid_audit_events_total{action}``, and the events operators watch most get a metric of their own (logins by
method and outcome, lockouts). Counted at commit, never at ``record()``: a rolled-back transaction did not happen.
What every process can read alike — enrolments by outcome, the dedup queue and its time to decision (decided by
workers that serve no HTTP), backlogs, key ages — is read from the database at scrape time, in
server/metrics_routes.py, with this process's gallery sizes.

With ``civid serve --workers N`` every worker writes its counters into ``PROMETHEUS_MULTIPROC_DIR`` (set by the
serve command before the workers start), so one scrape of any worker answers for all of them.
"""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMMITTED = "metrics.audit_actions"  # session.info key: (action, method) of the events of the open transaction

# Multiprocess mode wants no registry argument (its files are the registry); one process, the default registry.
REQUESTS = Counter(
    "civid_http_requests", "HTTP requests answered, by route template and status", ["method", "route", "status"]
)
LATENCY = Histogram(
    "civid_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
AUDIT_EVENTS = Counter("civid_audit_events", "Audit events committed, by action", ["action"])
LOGINS = Counter("civid_logins", "Citizen login attempts, by method and outcome", ["method", "outcome"])
LOCKOUTS = Counter("civid_login_lockouts", "Logins refused because the person or source is locked out", ["method"])


def note_event(session: Session, action: str, subject_type: str, subject_id: str, detail: dict[str, Any]) -> None:
    """Remember an event written in ``session`` (civid.audit.record calls this), counted when it commits."""
    # A login event names its method in its detail, a lockout as its subject ("login", "face").
    method = detail.get("method") or (subject_id if subject_type == "login" else None)
    session.info.setdefault(COMMITTED, []).append((action, str(method) if method else None))


def _count(action: str, method: str | None) -> None:
    AUDIT_EVENTS.labels(action).inc()
    if action in ("login.succeeded", "login.failed"):
        LOGINS.labels(method or "unknown", action.removeprefix("login.")).inc()
    elif action == "login.locked_out":
        LOCKOUTS.labels(method or "unknown").inc()


def install(sessions: sessionmaker[Session]) -> None:
    """Count the events of every session of ``sessions`` as its transactions commit."""

    def committed(session: Session) -> None:
        for action, method in session.info.pop(COMMITTED, ()):
            _count(action, method)

    def rolled_back(session: Session) -> None:
        session.info.pop(COMMITTED, None)

    sa_event.listen(sessions, "after_commit", committed)
    sa_event.listen(sessions, "after_rollback", rolled_back)


def registry() -> CollectorRegistry | None:
    """The registry to expose: every worker's files in multiprocess mode, else None (the default registry)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return None
    from prometheus_client import multiprocess

    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected, path=folder)  # type: ignore[no-untyped-call]
    return collected


class RequestMetrics:
    """ASGI middleware: count and time every HTTP request by its route's template (``/v1/identities/{uin}``),
    never its raw path, so no UIN or code becomes a label; a path no route matched is ``unmatched``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            REQUESTS.labels(method, template, str(status[0])).inc()
            LATENCY.labels(method, template).observe(time.perf_counter() - started)
